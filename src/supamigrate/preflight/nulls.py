"""NOT NULL over the target's rows: ``SET NOT NULL``, ``ADD COLUMN ... NOT NULL`` without a default,
and the columns a pending statement adds (filled by a default, or NULL in every row)."""

from __future__ import annotations

from pglast import ast
from pglast.enums import ConstrType
from psycopg import sql

from ..sql.objects import strings
from .casts import rewrite
from .site import Site, deparse
from .uniques import same_default

# Functions a default may call without making ADD COLUMN rewrite the table are immutable or
# stable; the target's pg_proc says which (volatile ones: gen_random_uuid(), clock_timestamp()).
_VOLATILE = "SELECT coalesce(bool_or(p.provolatile = 'v'), false) FROM pg_catalog.pg_proc p WHERE p.proname = ANY({})"


def not_null(site: Site, column: str, action: str) -> None:
    """NULLs of ``column`` that ``action`` (SET NOT NULL, a primary key) would refuse."""
    if (site.key, column) in site.p.added:
        if not site.p.added[(site.key, column)]:  # added without a default: NULL in every row
            rows_with_nulls(site, action, column)
        return
    if column not in site.columns():
        return
    col = sql.Identifier(column)
    found = site.read(sql.SQL("SELECT count(*) FILTER (WHERE {} IS NULL), count(*) FROM {}").format(col, site.source()))
    if found.row is None:
        site.unread("data-not-null", action, found)
        return
    nulls, rows = int(found.row[0]), int(found.row[1])
    if nulls:
        site.report(
            "data-not-null",
            f"{action} on {site.name}: {nulls} of {site.scanned(rows)} have {column} NULL on the target;"
            " the migration will fail (23502 not_null_violation)",
            f"fill them first in the migration (UPDATE {site.name} SET {column} = ... WHERE {column} IS NULL),"
            f" or add CHECK ({column} IS NOT NULL) NOT VALID and validate it once they are filled",
        )


def rows_with_nulls(site: Site, action: str, column: str) -> None:
    """``action`` needs ``column`` filled, but a pending statement added it NULL everywhere."""
    found = site.read(sql.SQL("SELECT count(*) FROM {}").format(site.source()))
    if found.row is None:
        site.unread("data-not-null", action, found)
    elif int(found.row[0]):
        site.report(
            "data-not-null",
            f"{action} on {site.name}: {column} is added without a default by a pending migration, so all"
            f" {site.scanned(int(found.row[0]))} have it NULL on the target;"
            " the migration will fail (23502 not_null_violation)",
            f"give {column} a DEFAULT, or fill it before setting NOT NULL",
        )


def add_column(site: Site, col: ast.ColumnDef) -> None:
    """ADD COLUMN: NOT NULL without a default on a filled table, a unique constant default, a rewrite."""
    name = str(col.colname)
    constraints = [c for c in col.constraints or () if isinstance(c, ast.Constraint)]
    types = {c.contype for c in constraints}
    default = next((c.raw_expr for c in constraints if c.contype == ConstrType.CONSTR_DEFAULT), None)
    if isinstance(default, ast.A_Const) and default.isnull:
        default = None  # DEFAULT NULL fills nothing
    type_text = deparse(col.typeName) if col.typeName is not None else ""
    serial = type_text.lower() in ("serial", "bigserial", "smallserial", "serial4", "serial8", "serial2")
    filled = default is not None or serial or bool(types & {ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED})
    site.p.added[(site.key, name)] = filled
    if serial:
        rewrite(site, f"ADD COLUMN {name} {type_text} (every row gets its nextval())")
    if not filled and types & {ConstrType.CONSTR_NOTNULL, ConstrType.CONSTR_PRIMARY}:
        found = site.read(sql.SQL("SELECT count(*) FROM {}").format(site.source()))
        if found.row is None:
            site.unread("data-not-null", f"ADD COLUMN {name} NOT NULL", found)
        elif int(found.row[0]):
            site.report(
                "data-not-null",
                f"ADD COLUMN {name} {type_text} NOT NULL without a default on {site.name}: the table has"
                f" {site.scanned(int(found.row[0]))} on the target, each would get NULL;"
                " the migration will fail (23502 not_null_violation)",
                "give the column a DEFAULT, or add it nullable, fill it, then SET NOT NULL",
            )
    if default is not None and types & {ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY}:
        same_default(site, name, type_text, default)
    if ConstrType.CONSTR_IDENTITY in types:
        rewrite(site, f"ADD COLUMN {name} ... GENERATED AS IDENTITY")
    elif any(c.contype == ConstrType.CONSTR_GENERATED and c.generated_kind == "s" for c in constraints):
        rewrite(site, f"ADD COLUMN {name} ... GENERATED ALWAYS AS (...) STORED")
    elif default is not None and volatile(site, default):
        rewrite(site, f"ADD COLUMN {name} with the volatile default {deparse(default)}")


def calls(node: object) -> set[str]:
    """The names of the functions an expression calls."""
    if isinstance(node, tuple):
        return set().union(*(calls(n) for n in node))
    if not isinstance(node, ast.Node):
        return set()
    found = {strings(node.funcname)[-1]} if isinstance(node, ast.FuncCall) and node.funcname else set()
    return found.union(*(calls(getattr(node, m)) for m in node))


def volatile(site: Site, expr: ast.Node) -> bool:
    """Whether a default calls a volatile function on the target (then every row is rewritten)."""
    names = sorted(calls(expr))
    if not names:
        return False
    found = site.read(sql.SQL(_VOLATILE).format(sql.Literal(names)))
    return bool(found.row and found.row[0])
