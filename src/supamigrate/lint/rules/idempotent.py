"""SB003: ``IF NOT EXISTS`` / ``OR REPLACE`` over an object no earlier migration created.

On a database shared with other tools (the dashboard, another project's migrations, a half-applied
run) such a statement meets an object of the same name, keeps it or silently replaces it, and
the migration is recorded as applied anyway. Over an object an earlier migration created, the
clause is harmless. Schemas and extensions are not checked: ``create extension if not exists``
is the documented way to enable one, and a schema is only a namespace. ``CREATE OR REPLACE
FUNCTION`` (and PROCEDURE) is the idiomatic way to write a function, and replacing a function of
the same signature keeps no data: a warning. On a table, view, index or sequence it is an error.
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import AlterTableType, ObjectType

from ...findings import Level
from ...sql.schema_model import SchemaModel, schema_of
from ...sql.source import ParsedStatement
from ..findings import Finding, Rule
from .base import Context, Family

# Kinds where the clause is how everyone writes it and what it replaces holds no data.
IDIOMATIC = frozenset({"function"})

UNOWNED_IDEMPOTENT = Rule(
    "SB003",
    "create-if-not-exists-unowned",
    "CREATE ... IF NOT EXISTS or CREATE OR REPLACE over an object no earlier migration created",
    "use plain CREATE so that a conflicting object fails the migration; keep IF NOT EXISTS /"
    " OR REPLACE for objects an earlier migration created",
)


def _targets(node: ast.Node | None, state: SchemaModel[ParsedStatement]) -> Iterator[tuple[str, str, str, int | None]]:
    """(kind, name, clause, location) for each idempotent CREATE in a statement."""
    if isinstance(node, ast.CreateStmt) and node.if_not_exists and node.relation is not None:
        yield "table", state.created_name(node.relation), "CREATE TABLE IF NOT EXISTS", node.relation.location
    elif isinstance(node, ast.CreateTableAsStmt) and node.if_not_exists and node.into is not None:
        kind = "view" if node.objtype == ObjectType.OBJECT_MATVIEW else "table"
        rel = node.into.rel
        yield kind, state.created_name(rel), f"CREATE {kind.upper()} IF NOT EXISTS", rel.location if rel else None
    elif isinstance(node, ast.CreateFunctionStmt) and node.replace:
        what = "PROCEDURE" if node.is_procedure else "FUNCTION"
        yield "function", state.dotted(node.funcname, create=True), f"CREATE OR REPLACE {what}", None
    elif isinstance(node, ast.ViewStmt) and node.replace and node.view is not None:
        yield "view", state.created_name(node.view), "CREATE OR REPLACE VIEW", node.view.location
    elif isinstance(node, ast.CreateTrigStmt) and node.replace:
        yield "trigger", f"{state.qualify(node.relation)}.{node.trigname}", "CREATE OR REPLACE TRIGGER", None
    elif isinstance(node, ast.IndexStmt) and node.if_not_exists and node.idxname:
        name = f"{schema_of(state.qualify(node.relation))}.{node.idxname}"
        yield "index", name, "CREATE INDEX IF NOT EXISTS", None
    elif isinstance(node, ast.CreateSeqStmt) and node.if_not_exists and node.sequence is not None:
        yield "sequence", state.created_name(node.sequence), "CREATE SEQUENCE IF NOT EXISTS", node.sequence.location


def _display(kind: str, name: str) -> str:
    return name.rsplit(".", 1)[-1] + f" on {name.rsplit('.', 1)[0]}" if kind == "trigger" else name


def on_statement(stmt: ParsedStatement, ctx: Context) -> Iterator[Finding]:
    for kind, name, clause, location in _targets(stmt.node, ctx.state):
        if ctx.state.created_before(kind, name) is None:
            yield ctx.at(
                UNOWNED_IDEMPOTENT,
                stmt,
                f"{clause} {_display(kind, name)}: no earlier migration creates it, so where a {kind} of that"
                " name already exists this keeps or replaces it without a word",
                stmt.at(location),
                level=Level.WARNING if kind in IDIOMATIC else None,
            )
    node = stmt.node
    if isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TABLE:
        table = ctx.state.tables.get(ctx.state.qualify(node.relation))
        for cmd in node.cmds or ():
            if (
                isinstance(cmd, ast.AlterTableCmd)
                and cmd.subtype == AlterTableType.AT_AddColumn
                and cmd.missing_ok
                and isinstance(cmd.def_, ast.ColumnDef)
                and (table is None or cmd.def_.colname not in table.columns)
            ):
                yield ctx.at(
                    UNOWNED_IDEMPOTENT,
                    stmt,
                    f"ADD COLUMN IF NOT EXISTS {cmd.def_.colname} on {ctx.state.qualify(node.relation)}: no earlier"
                    " migration adds it, so a column of that name and another type would be kept",
                    stmt.at(cmd.def_.location),
                )


FAMILY = Family((UNOWNED_IDEMPOTENT,), on_statement)
