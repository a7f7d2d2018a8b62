"""SB024, SB025, SB026, SB027: column types a Supabase app comes to regret (warnings).

Read where a migration gives a column its type: CREATE TABLE, ADD COLUMN, ALTER COLUMN TYPE,
and for SB027 the single-column primary key of CREATE TABLE or ADD PRIMARY KEY. Each is cheap to
choose well on a new table and costly to change on one with rows (a rewrite under lock, and for
a key, every foreign key that references it).
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, ObjectType

from ...findings import Level
from ...sql.objects import strings
from ...sql.schema_model import column_constraints, type_name
from ...sql.source import ParsedStatement
from ..findings import Finding, Rule
from .base import Context, Family

PREFER_JSONB = Rule(
    "SB024",
    "prefer-jsonb",
    "a column of type json: stored as text, parsed again on every read, no GIN index, no `@>`",
    "use `jsonb` (PostgREST and supabase-js read and filter it the same way)",
    Level.WARNING,
)
PREFER_TIMESTAMPTZ = Rule(
    "SB025",
    "prefer-timestamptz",
    "a column of type timestamp without time zone: it keeps a wall-clock time with no zone, which"
    " each client then reads in its own",
    "use `timestamptz` (`timestamp with time zone`): it stores an instant, sent with its offset",
    Level.WARNING,
)
PREFER_TEXT = Rule(
    "SB026",
    "prefer-text",
    "a column of type varchar(n) or char(n): raising the limit later is an ALTER on a live table,"
    " and char pads with spaces",
    "use `text`, with `check (char_length(<column>) <= n)` where a limit matters",
    Level.WARNING,
)
PREFER_BIGINT_KEY = Rule(
    "SB027",
    "prefer-bigint-identity-key",
    "a single-column primary key of type integer, smallint, serial or smallserial: it runs out at"
    " 2,147,483,647 (32,767), and widening it rewrites the table and every key that references it",
    "`id bigint generated always as identity primary key` (or a `uuid` key)",
    Level.WARNING,
)

SMALL_KEYS = frozenset({"int4", "int2", "int", "integer", "smallint", "serial", "serial4", "smallserial", "serial2"})
_SHOWN = {"int4": "integer", "int2": "smallint", "bpchar": "char", "timestamp": "timestamp"}


def _has_length(col: ast.ColumnDef) -> bool:
    return bool(col.typeName is not None and col.typeName.typmods)


def _type_findings(col: ast.ColumnDef, table: str, stmt: ParsedStatement, ctx: Context) -> Iterator[Finding]:
    kind = type_name(col)
    where = stmt.at(col.location)
    column = f"{table}.{col.colname}"
    if kind == "json":
        yield ctx.at(
            PREFER_JSONB, stmt, f"{column} is json: use jsonb, which is stored parsed and can be indexed", where
        )
    elif kind == "timestamp":
        yield ctx.at(
            PREFER_TIMESTAMPTZ,
            stmt,
            f"{column} is timestamp without time zone: the value has no zone, so clients in other zones"
            " read another instant; use timestamptz",
            where,
        )
    elif (kind == "varchar" and _has_length(col)) or kind == "bpchar":
        written = "char(n)" if kind == "bpchar" else "varchar(n)"
        yield ctx.at(
            PREFER_TEXT, stmt, f"{column} is {written}: use text, with a check constraint if the length matters", where
        )


def _key_finding(table: str, column: str, kind: str, stmt: ParsedStatement, ctx: Context, where: int) -> Finding:
    return ctx.at(
        PREFER_BIGINT_KEY,
        stmt,
        f"primary key {table} ({column}) is {_SHOWN.get(kind, kind)}: it runs out of values at"
        f" {'32,767' if kind in ('int2', 'smallint', 'smallserial', 'serial2') else '2,147,483,647'}, and"
        " widening it later rewrites the table and every foreign key to it",
        where,
    )


def _primary_key(col: ast.ColumnDef) -> bool:
    return any(c.contype == ConstrType.CONSTR_PRIMARY for c in column_constraints(col))


def on_statement(stmt: ParsedStatement, ctx: Context) -> Iterator[Finding]:
    node = stmt.node
    state = ctx.state
    if isinstance(node, ast.CreateStmt) and node.relation is not None:
        table = state.created_name(node.relation)
        columns = {e.colname: e for e in node.tableElts or () if isinstance(e, ast.ColumnDef) and e.colname}
        for col in columns.values():
            yield from _type_findings(col, table, stmt, ctx)
            if _primary_key(col) and type_name(col) in SMALL_KEYS:
                yield _key_finding(table, col.colname or "", type_name(col), stmt, ctx, stmt.at(col.location))
        for elt in node.tableElts or ():
            if isinstance(elt, ast.Constraint) and elt.contype == ConstrType.CONSTR_PRIMARY:
                keys = strings(elt.keys)
                if len(keys) == 1 and keys[0] in columns and type_name(columns[keys[0]]) in SMALL_KEYS:
                    kind = type_name(columns[keys[0]])
                    yield _key_finding(table, keys[0], kind, stmt, ctx, stmt.at(elt.location))
    elif isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TABLE:
        table = state.qualify(node.relation)
        known = state.tables.get(table)
        for cmd in node.cmds or ():
            if not isinstance(cmd, ast.AlterTableCmd):
                continue
            if cmd.subtype in (AlterTableType.AT_AddColumn, AlterTableType.AT_AlterColumnType) and isinstance(
                cmd.def_, ast.ColumnDef
            ):
                col = cmd.def_
                if col.colname is None and cmd.name:
                    col = ast.ColumnDef(colname=cmd.name, typeName=col.typeName, location=col.location)
                yield from _type_findings(col, table, stmt, ctx)
                if _primary_key(col) and type_name(col) in SMALL_KEYS:
                    yield _key_finding(table, col.colname or "", type_name(col), stmt, ctx, stmt.at(col.location))
            elif (
                cmd.subtype == AlterTableType.AT_AddConstraint
                and isinstance(cmd.def_, ast.Constraint)
                and cmd.def_.contype == ConstrType.CONSTR_PRIMARY
                and known is not None
            ):
                keys = strings(cmd.def_.keys)
                if len(keys) == 1 and known.types.get(keys[0]) in SMALL_KEYS:
                    kind = known.types[keys[0]]
                    yield _key_finding(table, keys[0], kind, stmt, ctx, stmt.at(cmd.def_.location))


FAMILY = Family((PREFER_JSONB, PREFER_TIMESTAMPTZ, PREFER_TEXT, PREFER_BIGINT_KEY), on_statement)
