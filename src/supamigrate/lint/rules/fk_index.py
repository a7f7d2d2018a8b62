"""SB014: a foreign key whose columns no index leads with.

Deleting or updating a referenced row makes PostgreSQL look up the referencing rows; without an
index on the referencing columns that is a full scan of the table, under lock, per row. Any index
whose leading columns are the key's columns (in any order) serves: one made by CREATE INDEX, a
PRIMARY KEY or a UNIQUE constraint, in any migration of the set.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Finding, Rule
from .base import Context, Family

FK_WITHOUT_INDEX = Rule(
    "SB014",
    "fk-without-index",
    "a foreign key column (or columns) without an index that starts with it",
    "`create index on <table> (<columns>);` in the same migration as the key",
)


def at_end(ctx: Context) -> Iterator[Finding]:
    for table in ctx.state.tables.values():
        for fk in table.foreign_keys:
            wanted = set(fk.columns)
            if any(set(index[: len(wanted)]) == wanted for index in table.indexes):
                continue
            if not wanted <= set(table.columns) and table.created is not None:
                continue  # a column of the key was dropped since; the key went with it
            yield ctx.at(
                FK_WITHOUT_INDEX,
                fk.stmt,
                f"foreign key {table.name} ({', '.join(fk.columns)}) -> {fk.target} has no index on"
                f" ({', '.join(fk.columns)}): each delete or key update in {fk.target} scans {table.name}",
                fk.offset,
            )


FAMILY = Family((FK_WITHOUT_INDEX,), at_end=at_end)
