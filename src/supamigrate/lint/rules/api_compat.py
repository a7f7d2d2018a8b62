"""SB019: a change that breaks the clients of a table the Data API exposes.

PostgREST and supabase-js name tables and columns in every request (``.from('notes')``,
``.select('title')``), and hand column values to the app as JSON. Renaming a table, view or
column, moving a table out of an exposed schema, or changing a column's type (an integer becomes
a string in JSON, a text a number) breaks every client still deployed with the old name or type,
the moment the migration commits. Judged on relations that existed before the migration file,
in a schema of ``[api] schemas``: one created in the same file has no clients yet. A change that
keeps the JSON clients read (between ``varchar``/``text``, ``timestamp``/``timestamptz``, to a
wider integer, or to a type of the same name recreated) is not flagged.
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast
from pglast.enums import AlterTableType, ObjectType

from ...sql.schema_model import schema_of, type_name
from ...sql.source import ParsedStatement
from ..findings import Finding, Rule
from .base import Context, Family

API_BREAKING_CHANGE = Rule(
    "SB019",
    "api-breaking-change",
    "renaming a table, view or column, moving a table out of its schema, or changing a column's"
    " type, in a relation of an API-exposed schema that existed before the migration",
    "expand, then contract: add the new column (or a view under the new name), deploy clients that"
    " use it, and drop the old one in a later release; if no client uses the old name, suppress"
    " with `-- supamigrate: disable=SB019` and say why",
)

# Type changes whose values reach clients as the same JSON type, in a form they already read.
STRINGS = frozenset({"text", "varchar", "bpchar", "citext"})
TIMESTAMPS = frozenset({"timestamp", "timestamptz"})
WIDER_INTEGERS = {"int2": {"int4", "int8"}, "int4": {"int8"}}


def _compatible(old: str, new: str) -> bool:
    """Whether clients read a column changed from ``old`` to ``new`` as they did."""
    return (
        old == new
        or (old in STRINGS and new in STRINGS)
        or (old in TIMESTAMPS and new in TIMESTAMPS)
        or new in WIDER_INTEGERS.get(old, set())
    )


_RENAMED = {
    ObjectType.OBJECT_TABLE: "table",
    ObjectType.OBJECT_VIEW: "view",
    ObjectType.OBJECT_MATVIEW: "materialized view",
    ObjectType.OBJECT_FOREIGN_TABLE: "foreign table",
}


def _changes(stmt: ParsedStatement, ctx: Context) -> Iterator[tuple[str, str, int | None]]:
    """(relation, what the statement does to it, location) for each breaking change."""
    node = stmt.node
    state = ctx.state
    if isinstance(node, ast.RenameStmt) and node.relation is not None:
        relation = state.qualify(node.relation)
        if node.renameType == ObjectType.OBJECT_COLUMN:
            yield relation, f"renaming column {node.subname} of {relation} to {node.newname}", None
        elif node.renameType in _RENAMED:
            kind = _RENAMED[ObjectType(node.renameType)]
            yield relation, f"renaming {kind} {relation} to {node.newname}", node.relation.location
    elif isinstance(node, ast.AlterObjectSchemaStmt) and node.objectType in _RENAMED and node.relation is not None:
        relation = state.qualify(node.relation)
        if node.newschema not in ctx.api_schemas:
            yield relation, f"moving {relation} to schema {node.newschema}", node.relation.location
    elif isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TABLE:
        relation = state.qualify(node.relation)
        table = state.tables.get(relation)
        for cmd in node.cmds or ():
            if (
                isinstance(cmd, ast.AlterTableCmd)
                and cmd.subtype == AlterTableType.AT_AlterColumnType
                and isinstance(cmd.def_, ast.ColumnDef)
            ):
                new = type_name(cmd.def_)
                old = table.types.get(cmd.name or "") if table is not None else None
                if old is not None and _compatible(old, new):
                    continue
                was = f" from {old}" if old else ""
                yield relation, f"changing the type of {relation}.{cmd.name}{was} to {new}", cmd.def_.location


def existed_before_file(relation: str, stmt: ParsedStatement, ctx: Context) -> bool:
    """Whether a table or view was there before ``stmt``'s file (see ``destructive.py``)."""
    if relation in ctx.state.tables:
        return ctx.state.existed_before_file(relation, stmt)
    made = ctx.state.created_before("view", relation)
    return made is None or made.file.number < stmt.file.number


def on_statement(stmt: ParsedStatement, ctx: Context) -> Iterator[Finding]:
    for relation, change, location in _changes(stmt, ctx):
        if schema_of(relation) not in ctx.api_schemas or not existed_before_file(relation, stmt, ctx):
            continue
        yield ctx.at(
            API_BREAKING_CHANGE,
            stmt,
            f"{change} breaks every API client still using the old one: {relation} is exposed by the"
            f" Data API (schema {schema_of(relation)} is in [api] schemas), so PostgREST and supabase-js"
            " requests written for it fail or get other values as soon as this migration commits",
            stmt.at(location),
        )


FAMILY = Family((API_BREAKING_CHANGE,), on_statement)
