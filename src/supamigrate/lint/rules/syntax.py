"""SB000: SQL that PostgreSQL itself cannot read. Nothing else can be checked in such a statement."""

from __future__ import annotations

from collections.abc import Iterator

from ...sql.source import MIGRATION, SEED, ParsedStatement
from ..findings import Finding, Rule, at
from .base import Context, Family

SYNTAX = Rule(
    "SB000",
    "syntax-error",
    "a statement PostgreSQL cannot parse, or a file that is not UTF-8",
    "fix the statement at the position shown; `supamigrate check` runs it on a real server",
)


def on_statement(stmt: ParsedStatement, ctx: Context) -> Iterator[Finding]:
    if stmt.error is not None:
        yield ctx.at(SYNTAX, stmt, f"PostgreSQL cannot parse this statement: {stmt.error}", stmt.error_offset)


def at_end(ctx: Context) -> Iterator[Finding]:
    for source in (*ctx.migrations, *ctx.seeds):
        if source.unreadable is not None:
            loc = source.unreadable.location
            yield at(loc.path, loc.line, loc.column, SYNTAX.id, source.unreadable.message, fix=SYNTAX.fix)


FAMILY = Family((SYNTAX,), on_statement, at_end, kinds=frozenset({MIGRATION, SEED}))
