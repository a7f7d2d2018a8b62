"""Column type changes over the target's values (rows that do not convert), and rewrites of a
large table, told with its size and row estimate from the catalog."""

from __future__ import annotations

from pglast import ast
from psycopg import sql

from ..sql.objects import strings
from .rows import size, table
from .site import Site, deparse

# Text that PostgreSQL 15's input functions accept, for the types where a pattern says it
# exactly enough to count the rows that do not convert (the conversion itself stops at the first).
_INTEGERS = {"smallint": (-32768, 32767), "integer": (-2147483648, 2147483647)}
_INTEGERS["bigint"] = (-9223372036854775808, 9223372036854775807)
_VALID = {
    "numeric": r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*$|^\s*[+-]?(nan|infinity|inf)\s*$",
    "uuid": r"^\{?[0-9a-fA-F]{4}(-?[0-9a-fA-F]{4}){7}\}?$",
    "boolean": r"^\s*(t(r(ue?)?)?|y(es?)?|on|f(a(l(se?)?)?)?|no?|off?|1|0)\s*$",
}
_TEXTS = ("text", "character varying", "character", "name", "citext")


def change_type(site: Site, column: str, col: ast.ColumnDef) -> None:
    """ALTER COLUMN ... TYPE: whether every value converts, and whether the table is rewritten."""
    current = site.columns().get(column)
    if current is None or col.typeName is None:
        return
    new_type = deparse(col.typeName)
    action = f"ALTER COLUMN {column} TYPE {new_type}"
    using = col.raw_default
    conversion = deparse(using) if using is not None else f"{sql.Identifier(column).as_string()}::{new_type}"
    found = site.read(sql.SQL("SELECT count(*), count({}) FROM {}").format(sql.SQL(f"({conversion})"), site.source()))
    if found.refused_data:
        counted = count_invalid(site, column, current, new_type, using)
        if counted:
            told = f"{counted} on the target do not convert; the first fails with: {found.failed}"
        else:
            told = (
                f"a row on the target does not convert: {found.failed} (only the first failure is known:"
                f" counting them needs a pattern for {current} to {new_type}, which preflight lacks)"
            )
        site.report(
            "data-cast",
            f"{action} on {site.name}: {told}; the migration will fail",
            "convert or fix those values first, or give USING an expression that handles them",
        )
    elif found.row is None:
        site.unread("data-cast", action, found)
    if using is not None or not same_storage(site, column, new_type):
        rewrite(site, action)


def count_invalid(site: Site, column: str, current: str, new_type: str, using: ast.Node | None) -> str:
    """'N of M rows' that the input function of ``new_type`` refuses, when a pattern says it."""
    if current.split("(")[0] not in _TEXTS or not (using is None or _casts_column(using, column)):
        return ""
    target = site.read(
        sql.SQL("SELECT pg_catalog.format_type(pg_catalog.to_regtype({}), NULL)").format(sql.Literal(new_type))
    )
    name = str(target.row[0]) if target.row and target.row[0] else ""
    v = sql.SQL("{}::text").format(sql.Identifier(column))
    if name in _INTEGERS:
        low, high = _INTEGERS[name]
        valid: sql.Composable = sql.SQL(
            "CASE WHEN {v} ~ '^\\s*[+-]?[0-9]+\\s*$' THEN trim({v})::numeric BETWEEN {lo} AND {hi} ELSE false END"
        ).format(v=v, lo=sql.Literal(low), hi=sql.Literal(high))
    elif name in _VALID:
        valid = sql.SQL("{} ~* {}").format(v, sql.Literal(_VALID[name]))
    else:
        return ""
    found = site.read(
        sql.SQL("SELECT count(*) FILTER (WHERE {c} IS NOT NULL AND NOT ({valid})), count(*) FROM {s}").format(
            c=sql.Identifier(column), valid=valid, s=site.source()
        )
    )
    if found.row is None or not int(found.row[0]):
        return ""
    return f"{int(found.row[0])} of {site.scanned(int(found.row[1]))}"


def _casts_column(node: ast.Node, column: str) -> bool:
    """Whether a USING expression is ``column::type`` (or CAST(column AS type))."""
    return (
        isinstance(node, ast.TypeCast) and isinstance(node.arg, ast.ColumnRef) and strings(node.arg.fields) == (column,)
    )


def same_storage(site: Site, column: str, new_type: str) -> bool:
    """Whether the new type keeps the column's bytes (the same type, or a binary-coercible one)."""
    found = site.read(
        sql.SQL(
            "SELECT a.atttypid = t.oid OR EXISTS (SELECT FROM pg_catalog.pg_cast c WHERE c.castsource ="
            " a.atttypid AND c.casttarget = t.oid AND c.castmethod = 'b') FROM pg_catalog.pg_attribute a,"
            " (SELECT pg_catalog.to_regtype({}) AS oid) t WHERE a.attrelid = {}::regclass AND a.attname = {}"
        ).format(sql.Literal(new_type), sql.Literal(table(site.key).as_string()), sql.Literal(column))
    )
    return bool(found.row and found.row[0])


def rewrite(site: Site, action: str) -> None:
    """A statement that rewrites every row: told when the table is large."""
    found = size(site.p.target.conn, site.key)
    if found is None or found.bytes < site.p.limits.large_bytes:
        return
    site.p.add(
        "warning",
        "table-rewrite",
        f"{action} rewrites {site.name} ({found.describe()}) under an ACCESS EXCLUSIVE lock:"
        " every read and write of it waits until the rewrite is done",
        site.where,
        "run it when the table is quiet, or change it in steps (a new column filled in batches, then a swap)",
    )
