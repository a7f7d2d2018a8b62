"""Foreign keys and constraints as the target has them, and the migration's compared with them.

A table that already exists on the target keeps its own foreign keys: when a pending CREATE
TABLE (skipped by IF NOT EXISTS, or failing) or ADD FOREIGN KEY names another referenced table
for the same columns, the migration's idea of the data is not the target's, e.g.
``research_sessions.user_id references public.users on the target, auth.users in the migration``.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from pglast import ast
from pglast.enums import ObjectType

from ..platform import PLATFORM_SCHEMAS
from ..sql.objects import range_name
from ..sql.source import ParsedStatement
from .pending import Key, Pending

_COLUMNS = (
    "ARRAY(SELECT a.attname::text FROM unnest({keys}) WITH ORDINALITY k(n, i) JOIN pg_catalog.pg_attribute a"
    " ON a.attrelid = {rel} AND a.attnum = k.n ORDER BY k.i)"
)
_CONSTRAINTS = (
    "SELECT con.conname::text, con.contype::text, "
    + _COLUMNS.format(keys="con.conkey", rel="con.conrelid")
    + ", fn.nspname::text, fc.relname::text, "
    + _COLUMNS.format(keys="con.confkey", rel="con.confrelid")
    + ", pg_catalog.pg_get_expr(con.conbin, con.conrelid)"
    " FROM pg_catalog.pg_constraint con"
    " LEFT JOIN pg_catalog.pg_class fc ON fc.oid = con.confrelid"
    " LEFT JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace"
    " WHERE con.conrelid = %s::regclass"
)


@dataclass(frozen=True)
class Constraint:
    """A constraint of a target table: kind (``f``, ``c``, ``p``, ``u``), columns, and for a
    foreign key the referenced table and columns, for a check its expression."""

    name: str
    kind: str
    columns: tuple[str, ...]
    parent: Key | None
    parent_columns: tuple[str, ...]
    expression: str | None


def constraints(conn: psycopg.Connection, key: Key) -> list[Constraint]:
    regclass = f'"{key[0]}"."{key[1]}"'
    found = []
    for name, kind, cols, schema, parent, parent_cols, expression in conn.execute(_CONSTRAINTS, (regclass,)):
        found.append(
            Constraint(
                str(name),
                str(kind),
                tuple(cols),
                (str(schema), str(parent)) if parent else None,
                tuple(parent_cols),
                str(expression) if expression else None,
            )
        )
    return found


def target_constraint(conn: psycopg.Connection, key: Key, name: str) -> Constraint | None:
    return next((c for c in constraints(conn, key) if c.name == name), None)


def parent_key(conn: psycopg.Connection, key: Key) -> tuple[str, ...]:
    """The primary key columns of a target table (what REFERENCES t without columns means)."""
    return next((c.columns for c in constraints(conn, key) if c.kind == "p"), ())


def check_foreign_key_targets(p: Pending, stmt: ParsedStatement) -> None:
    """The migration's foreign keys on a table the target already has, against the target's (for a
    table the migrations made, the foreign keys they gave it are compared too, once)."""
    node = stmt.node
    if isinstance(node, ast.CreateStmt):
        key = p.model.place(range_name(node.relation))
        creating = True
    elif isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TABLE:
        key = p.target_resolves(range_name(node.relation))
        creating = False
    else:
        return
    if key is None or key in p.relations or key in p.dropped:
        return  # the table is the pending migrations' own, made by them
    existing = p.target.relation(*key)
    if existing is None or existing.kind != "table":
        return
    mine = {fk.columns: (fk.target, "the migration") for fk in p.model.foreign_keys(stmt)}
    if not creating and key not in p.compared and key[0] not in PLATFORM_SCHEMAS:
        # The first pending statement on a table the migrations made: their foreign keys too
        # (not the platform's: the stub's foreign keys need not be the hosted platform's).
        p.compared.add(key)
        table = p.model.tables.get(f"{key[0]}.{key[1]}")
        for fk in table.foreign_keys if table is not None else ():
            mine.setdefault(fk.columns, (fk.target, "the migrations"))
    if not mine:
        return
    theirs: dict[tuple[str, ...], str] = {}
    for c in constraints(p.target.conn, key):
        if c.kind == "f" and c.parent is not None:
            theirs.setdefault(c.columns, f"{c.parent[0]}.{c.parent[1]}")
    label = key[1] if key[0] == "public" else f"{key[0]}.{key[1]}"
    for columns, (target, source) in mine.items():
        on_target = theirs.get(columns)
        if on_target is None or on_target == target:
            continue  # a table without one is told by its shape (collisions.py)
        cols = columns[0] if len(columns) == 1 else f"({', '.join(columns)})"
        p.add(
            "error" if creating else "warning",
            "foreign-key-differs",
            f"{label}.{cols} references {on_target} on the target, {target} in {source}",
            p.where(stmt),
            hint=f"the target's {key[0]}.{key[1]} is not the table the migration expects; point the"
            " foreign key at the same table on both sides (or rename one of the tables)",
        )
