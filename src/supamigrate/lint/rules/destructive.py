"""SB007, SB008: statements that destroy objects or rows beyond what they name.

"Holds data", decided statically: a table holds data at a statement when it existed before the
statement's migration file (an earlier migration created it, so production may have filled it;
or no migration created it, so it is the platform's or was there before), or when the same file
wrote rows into it first (INSERT, COPY FROM, CREATE TABLE AS). A table created earlier in the
same file and not written to is empty: dropping or truncating it loses nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import AlterTableType, DropBehavior, ObjectType

from ...sql.objects import strings
from ...sql.schema_model import SchemaModel
from ...sql.source import ParsedStatement
from ..findings import Finding, Rule
from .base import Context, Family

DROP_CASCADE = Rule(
    "SB007",
    "drop-cascade",
    "DROP ... CASCADE (also ALTER TABLE ... DROP ... CASCADE and TRUNCATE ... CASCADE)",
    "drop the dependent objects by name first, then drop without CASCADE so a forgotten dependent fails",
)
DESTROYS_DATA = Rule(
    "SB008",
    "destroys-data",
    "TRUNCATE, DROP TABLE or DROP COLUMN on a table that holds data: one that existed before the"
    " migration file, or that the file wrote rows into first",
    "copy the data elsewhere first, or stop using the column/table and drop it in a later release;"
    " if the loss is intended, say so with `-- supamigrate: disable=SB008`",
)

_OBJECT_WORDS = {
    ObjectType.OBJECT_TABLE: "TABLE",
    ObjectType.OBJECT_VIEW: "VIEW",
    ObjectType.OBJECT_MATVIEW: "MATERIALIZED VIEW",
    ObjectType.OBJECT_FUNCTION: "FUNCTION",
    ObjectType.OBJECT_PROCEDURE: "PROCEDURE",
    ObjectType.OBJECT_TYPE: "TYPE",
    ObjectType.OBJECT_DOMAIN: "DOMAIN",
    ObjectType.OBJECT_SCHEMA: "SCHEMA",
    ObjectType.OBJECT_EXTENSION: "EXTENSION",
    ObjectType.OBJECT_SEQUENCE: "SEQUENCE",
    ObjectType.OBJECT_INDEX: "INDEX",
    ObjectType.OBJECT_TRIGGER: "TRIGGER",
    ObjectType.OBJECT_POLICY: "POLICY",
}


def _cascades(node: ast.Node | None) -> Iterator[str]:
    """A description of each CASCADE in a statement."""
    if isinstance(node, ast.DropStmt) and node.behavior == DropBehavior.DROP_CASCADE:
        word = _OBJECT_WORDS.get(node.removeType, "object") if node.removeType is not None else "object"
        yield f"DROP {word} ... CASCADE"
    elif isinstance(node, ast.TruncateStmt) and node.behavior == DropBehavior.DROP_CASCADE:
        yield "TRUNCATE ... CASCADE"
    elif isinstance(node, ast.DropOwnedStmt) and node.behavior == DropBehavior.DROP_CASCADE:
        yield "DROP OWNED ... CASCADE"
    elif isinstance(node, ast.AlterTableStmt):
        for cmd in node.cmds or ():
            if isinstance(cmd, ast.AlterTableCmd) and cmd.behavior == DropBehavior.DROP_CASCADE:
                what = "COLUMN" if cmd.subtype == AlterTableType.AT_DropColumn else "CONSTRAINT"
                yield f"ALTER TABLE ... DROP {what} {cmd.name} CASCADE"


def _data_losses(node: ast.Node | None, state: SchemaModel[ParsedStatement]) -> Iterator[tuple[str, str]]:
    """(table, what is done to it) for each TRUNCATE, DROP TABLE and DROP COLUMN."""
    if isinstance(node, ast.TruncateStmt):
        for rel in node.relations or ():
            if isinstance(rel, ast.RangeVar):
                yield state.qualify(rel), "TRUNCATE"
    elif isinstance(node, ast.DropStmt) and node.removeType == ObjectType.OBJECT_TABLE:
        for obj in node.objects or ():
            yield state.qualify_names(strings(obj if isinstance(obj, tuple) else ())), "DROP TABLE"
    elif isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TABLE:
        for cmd in node.cmds or ():
            if isinstance(cmd, ast.AlterTableCmd) and cmd.subtype == AlterTableType.AT_DropColumn:
                yield state.qualify(node.relation), f"DROP COLUMN {cmd.name}"


def on_statement(stmt: ParsedStatement, ctx: Context) -> Iterator[Finding]:
    for cascade in _cascades(stmt.node):
        yield ctx.at(
            DROP_CASCADE,
            stmt,
            f"{cascade} also drops every object that depends on it (views, foreign keys, policies,"
            " functions) without naming them",
        )
    state = ctx.state
    for table, action in _data_losses(stmt.node, state):
        if not state.holds_data(table, stmt):
            continue
        t = state.tables.get(table)
        written = t.written if t is not None else None
        if written is not None and not state.existed_before_file(table, stmt):
            line = written.file.line_col(written.start)[0]
            why = f"this file writes rows into it first (line {line})"
        else:
            why = state.origin(table)
        yield ctx.at(DESTROYS_DATA, stmt, f"{action} on {table} destroys the data it holds: {why}")


FAMILY = Family((DROP_CASCADE, DESTROYS_DATA), on_statement)
