"""SB015, SB016, SB017: changes to existing tables that fail on data or hold heavy locks.

An existing table is one that was there before the migration file (see ``destructive.py`` for
the same notion, "holds data"). Locks are PostgreSQL's: adding a CHECK takes ACCESS EXCLUSIVE and
scans the table; adding a FOREIGN KEY takes SHARE ROW EXCLUSIVE on both tables and scans; a
volatile default, an identity or a stored generated column rewrites the table under ACCESS
EXCLUSIVE. A non-volatile default (a constant, ``now()``) is stored once and costs nothing.
A function in a default is taken as volatile unless it is known not to be: a built-in on
``SAFE_FUNCTIONS`` (stable or immutable in PostgreSQL's catalog) or a function the migrations
create ``stable`` / ``immutable``. An unknown extension function is a rewrite until shown otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import AlterTableType, ConstrType
from pglast.visitors import Ancestor, Visitor

from ...sql.objects import strings
from ...sql.schema_model import SchemaModel, column_constraints
from ...sql.source import ParsedStatement
from ..findings import Finding, Rule
from .base import Context, Family

NOT_NULL_WITHOUT_DEFAULT = Rule(
    "SB015",
    "not-null-column-without-default",
    "a NOT NULL column without a default added to a table that holds data",
    "add it with a default, or add it nullable, backfill it, and SET NOT NULL in a later migration",
)
REWRITING_COLUMN = Rule(
    "SB016",
    "volatile-default",
    "a column added to an existing table with a volatile default (random(), gen_random_uuid(),"
    " serial, identity, stored generated), which rewrites the table under an exclusive lock",
    "add the column without the default, backfill it in batches, then `alter column ... set default`",
)
VALIDATING_CONSTRAINT = Rule(
    "SB017",
    "validating-constraint",
    "a FOREIGN KEY or CHECK added to an existing table without NOT VALID",
    "add it `not valid`, then `alter table ... validate constraint ...` in a later migration",
)

# Built-in and extension functions whose volatility is VOLATILE: named as such in messages.
VOLATILE_FUNCTIONS = frozenset(
    {
        "random",
        "random_normal",
        "gen_random_uuid",
        "gen_random_bytes",
        "uuid_generate_v1",
        "uuid_generate_v1mc",
        "uuid_generate_v4",
        "uuidv4",
        "uuidv7",
        "clock_timestamp",
        "timeofday",
        "nextval",
        "setval",
    }
)
# Built-ins (unqualified or in pg_catalog) that are stable or immutable in pg_proc, among those a
# column default calls; ``current_timestamp``, ``current_date``... are not calls and always safe.
SAFE_FUNCTIONS = frozenset(
    {
        "now", "statement_timestamp", "transaction_timestamp", "timezone", "date_trunc", "date_part",
        "extract", "to_timestamp", "to_date", "to_char", "make_date", "make_time", "make_timestamp",
        "make_timestamptz", "make_interval", "current_setting", "current_schema", "current_database",
        "lower", "upper", "btrim", "ltrim", "rtrim", "concat", "concat_ws", "format", "length",
        "char_length", "substr", "substring", "replace", "left", "right", "lpad", "rpad", "md5",
        "encode", "decode", "abs", "round", "floor", "ceil", "ceiling", "power", "sqrt",
        "jsonb_build_object", "jsonb_build_array", "json_build_object", "json_build_array", "to_jsonb",
        "to_json", "array_to_json", "jsonb_object", "string_to_array", "array_fill", "int4range",
        "int8range", "numrange", "tsrange", "tstzrange", "daterange", "point", "inet", "cidr",
    }
)  # fmt: skip
# The platform's functions a default may call that are stable (auth's read the request's JWT).
SAFE_PLATFORM_FUNCTIONS = frozenset({"auth.uid", "auth.role", "auth.jwt", "auth.email"})
SERIAL_TYPES = frozenset({"serial", "serial2", "serial4", "serial8", "smallserial", "bigserial"})


class _Calls(Visitor):
    """Collects the names of the functions an expression calls."""

    def __init__(self, state: SchemaModel[ParsedStatement]) -> None:
        self.state = state
        self.names: list[tuple[str, tuple[str, ...]]] = []  # (schema.name as resolved, as written)

    def visit_FuncCall(self, ancestors: Ancestor, node: ast.FuncCall) -> None:
        self.names.append((self.state.dotted(node.funcname), strings(node.funcname)))


def _safe(name: str, written: tuple[str, ...], ctx: Context) -> bool:
    """Whether a called function is known not to be volatile."""
    created = ctx.state.functions.get(name)
    if created is not None:
        return not created.volatile
    if len(written) == 1 or written[0] == "pg_catalog":
        return written[-1] in SAFE_FUNCTIONS
    return ".".join(written) in SAFE_PLATFORM_FUNCTIONS


def _volatile_call(expr: ast.Node | None, ctx: Context) -> str | None:
    """How ``expr`` calls a function not known to be stable or immutable, if it does."""
    if expr is None:
        return None
    calls = _Calls(ctx.state)
    calls(expr)
    for name, written in calls.names:
        if _safe(name, written, ctx):
            continue
        called = f"{written[-1]}()" if written else f"{name}()"
        known = name in ctx.state.functions or (written and written[-1] in VOLATILE_FUNCTIONS)
        return f"volatile default {called}" if known else f"default {called} (not known to be stable or immutable)"
    return None


def _rewrite_reason(col: ast.ColumnDef, ctx: Context) -> str | None:
    type_names = [n.sval for n in (col.typeName.names if col.typeName else ()) or () if isinstance(n, ast.String)]
    if type_names and type_names[-1] in SERIAL_TYPES:
        return f"type {type_names[-1]} (a nextval() default)"
    for c in column_constraints(col):
        if c.contype == ConstrType.CONSTR_IDENTITY:
            return "an identity"
        if c.contype == ConstrType.CONSTR_GENERATED:
            return "a stored generated value"
        if c.contype == ConstrType.CONSTR_DEFAULT:
            call = _volatile_call(c.raw_expr, ctx)
            if call:
                return call
    return None


def _not_null_without_default(col: ast.ColumnDef) -> bool:
    kinds = {c.contype for c in column_constraints(col)}
    filled = {ConstrType.CONSTR_DEFAULT, ConstrType.CONSTR_IDENTITY, ConstrType.CONSTR_GENERATED}
    not_null = bool(col.is_not_null) or bool(kinds & {ConstrType.CONSTR_NOTNULL, ConstrType.CONSTR_PRIMARY})
    type_names = [n.sval for n in (col.typeName.names if col.typeName else ()) or () if isinstance(n, ast.String)]
    serial = bool(type_names) and type_names[-1] in SERIAL_TYPES
    return not_null and not (kinds & filled) and not serial


def on_statement(stmt: ParsedStatement, ctx: Context) -> Iterator[Finding]:
    node = stmt.node
    if not isinstance(node, ast.AlterTableStmt):
        return
    table = ctx.state.qualify(node.relation)
    state = ctx.state
    if not state.holds_data(table, stmt):
        return
    existing = state.existed_before_file(table, stmt)
    for cmd in node.cmds or ():
        if not isinstance(cmd, ast.AlterTableCmd):
            continue
        if cmd.subtype == AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            col = cmd.def_
            where = stmt.at(col.location)
            if _not_null_without_default(col):
                why = state.origin(table) if existing else "this file writes rows into it first"
                yield ctx.at(
                    NOT_NULL_WITHOUT_DEFAULT,
                    stmt,
                    f"adding NOT NULL column {col.colname} without a default to {table} fails as soon as"
                    f" the table has a row: {why}",
                    where,
                )
            reason = _rewrite_reason(col, ctx) if existing else None
            if reason:
                yield ctx.at(
                    REWRITING_COLUMN,
                    stmt,
                    f"adding column {col.colname} to existing table {table} with {reason} rewrites every row"
                    " under an ACCESS EXCLUSIVE lock (reads and writes wait)",
                    where,
                )
        elif (
            existing
            and cmd.subtype == AlterTableType.AT_AddConstraint
            and isinstance(cmd.def_, ast.Constraint)
            and cmd.def_.contype in (ConstrType.CONSTR_FOREIGN, ConstrType.CONSTR_CHECK)
            and not cmd.def_.skip_validation
        ):
            c = cmd.def_
            what, lock = (
                ("foreign key", "SHARE ROW EXCLUSIVE on both tables")
                if c.contype == ConstrType.CONSTR_FOREIGN
                else ("check", "ACCESS EXCLUSIVE")
            )
            name = f" {c.conname}" if c.conname else ""
            yield ctx.at(
                VALIDATING_CONSTRAINT,
                stmt,
                f"adding {what}{name} to existing table {table} checks every row while holding {lock}"
                " (writes wait until it finishes)",
                stmt.at(c.location),
            )


FAMILY = Family((NOT_NULL_WITHOUT_DEFAULT, REWRITING_COLUMN, VALIDATING_CONSTRAINT), on_statement)
