"""The statement a data check is about, the target table it acts on, and how it reads and reports.

``Site.read`` goes through the bounded reads of ``rows.py`` and counts the time against the run's
budget; ``Site.report`` makes a count an error, or a warning when a pending statement writes to
the table first (the rows may differ by then); ``Site.unread`` says a count could not be made.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pglast import ast
from pglast.stream import RawStream
from psycopg import sql

from ..findings import FileLocation
from ..sql.source import ParsedStatement
from .pending import Key, Pending
from .rows import Query, Read, read, scanned, table

_SKIP = ("42703", "42P01", "42883")  # a column, table or function the pending statements make


def deparse(node: ast.Node) -> str:
    """A node of the statement's tree printed back as SQL (an expression, a type name)."""
    return str(RawStream()(node))


@dataclass
class Site:
    """The statement being checked and the target table it acts on."""

    p: Pending
    stmt: ParsedStatement
    key: Key

    @property
    def where(self) -> FileLocation:
        return self.p.where(self.stmt)

    @property
    def name(self) -> str:
        return f"{self.key[0]}.{self.key[1]}"

    def read(self, query: Query) -> Read:
        limits = self.p.limits
        if self.p.spent_s * 1000 >= limits.budget_ms:
            return Read(None, f"the data checks used their {limits.budget_ms / 1000:g}s budget", "budget")
        started = time.perf_counter()
        try:
            return read(self.p.target.conn, query, limits)
        finally:
            self.p.spent_s += time.perf_counter() - started

    def scanned(self, rows: int) -> str:
        return scanned(self.p.target.conn, self.key, rows, self.p.limits)

    def source(self) -> sql.Composable:
        """The table's rows as a count reads them: the first ``limits.rows`` at most."""
        return sql.SQL("(SELECT * FROM {} LIMIT {}) s").format(table(self.key), sql.Literal(self.p.limits.rows))

    def columns(self) -> dict[str, str]:
        relation = self.p.swallowed.get(self.key) or self.p.target.relation(*self.key)
        return dict(relation.columns) if relation is not None else {}

    def report(self, code: str, message: str, hint: str, *, also: Key | None = None) -> None:
        """An error, or a warning when a pending statement writes first to ``also`` (the table a
        foreign key references) or to the table: the rows may differ by then."""
        for key in (also, self.key) if also is not None else (self.key,):
            writer = self.p.written.get(key)
            if writer is not None:
                self.p.add(
                    "warning",
                    code,
                    f"{message}, unless {writer} (which writes to {key[0]}.{key[1]} first) changes that",
                    self.where,
                    hint,
                )
                return
        self.p.add("error", code, message, self.where, hint)

    def unread(self, code: str, what: str, found: Read) -> None:
        """A count that could not be made: said, so nobody takes silence for a pass."""
        if found.failed is None or found.sqlstate in _SKIP:
            return
        self.p.add(
            "warning",
            code,
            f"{what}: could not read the rows of {self.name} on the target: {found.failed}",
            self.where,
            "check the rows by hand before pushing, or give preflight more time (Limits)"
            if found.sqlstate in ("57014", "55P03", "budget")
            else "check the rows by hand before pushing, or run preflight with a role that may read them",
        )
