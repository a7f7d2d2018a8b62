"""Data checks: what a pending statement will meet in the target's rows, counted read-only.

A statement that adds a constraint or changes a column on a table the target already fills
fails there even though it applies on an empty build: ``SET NOT NULL`` or ``ADD COLUMN ... NOT
NULL`` without a default over NULLs, a ``UNIQUE`` index or constraint over duplicates, a foreign
key (added or validated) over orphan rows, a ``CHECK`` over rows it rejects, a type change over
values that do not convert. Each is counted on the target (bounded, ``rows.py``) and reported at
the statement (``nulls.py``, ``uniques.py``, ``violations.py``, ``casts.py``; ``site.py`` holds
what they share). A statement that rewrites a large table is told with its size from the catalog.

Tables a pending statement created have no rows on the target yet (``Pending.filled``); rows a
pending statement writes first (an UPDATE backfill) make a count a warning, not an error.
"""

from __future__ import annotations

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, ObjectType
from psycopg import sql

from ..sql.objects import range_name, strings
from ..sql.source import ParsedStatement
from .casts import change_type, rewrite
from .nulls import add_column, not_null
from .pending import Pending
from .site import Site, deparse
from .uniques import duplicates, index_unique
from .violations import check, orphans, validate

_WRITES = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.CopyStmt, ast.MergeStmt)
_REWRITES = {
    AlterTableType.AT_SetLogged: "SET LOGGED",
    AlterTableType.AT_SetUnLogged: "SET UNLOGGED",
    AlterTableType.AT_SetAccessMethod: "SET ACCESS METHOD",
}


def check_data(p: Pending, stmt: ParsedStatement) -> None:
    """The data checks of one pending statement (before the model replays it)."""
    node = stmt.node
    if (
        isinstance(node, _WRITES)
        and node.relation is not None
        and not (isinstance(node, ast.CopyStmt) and not node.is_from)
    ):
        # Tables the pending statements create count too: their rows are no longer none.
        key = p.target_resolves(range_name(node.relation))
        if key is not None:
            p.written.setdefault(key, p.where(stmt))
    elif isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TABLE:
        key = p.filled(range_name(node.relation))
        if key is not None:
            site = Site(p, stmt, key)
            for cmd in node.cmds or ():
                if isinstance(cmd, ast.AlterTableCmd):
                    alter(site, cmd)
    elif isinstance(node, ast.IndexStmt) and node.unique:
        key = p.filled(range_name(node.relation))
        if key is not None:
            index_unique(Site(p, stmt, key), node)


def alter(site: Site, cmd: ast.AlterTableCmd) -> None:
    """One ALTER TABLE command on a filled table."""
    subtype = cmd.subtype
    if subtype == AlterTableType.AT_SetNotNull and cmd.name:
        not_null(site, cmd.name, f"ALTER COLUMN {cmd.name} SET NOT NULL")
    elif subtype == AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
        add_column(site, cmd.def_)
    elif subtype == AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
        add_constraint(site, cmd.def_)
    elif subtype == AlterTableType.AT_ValidateConstraint and cmd.name:
        validate(site, cmd.name)
    elif subtype == AlterTableType.AT_AlterColumnType and cmd.name and isinstance(cmd.def_, ast.ColumnDef):
        change_type(site, cmd.name, cmd.def_)
    elif subtype in _REWRITES:
        rewrite(site, _REWRITES[AlterTableType(subtype)])


def add_constraint(site: Site, c: ast.Constraint) -> None:
    """ADD CONSTRAINT: UNIQUE / PRIMARY KEY, FOREIGN KEY and CHECK (NOT VALID ones remembered)."""
    if c.contype in (ConstrType.CONSTR_UNIQUE, ConstrType.CONSTR_PRIMARY) and c.keys and not c.indexname:
        columns = strings(c.keys)
        kind = "PRIMARY KEY" if c.contype == ConstrType.CONSTR_PRIMARY else "UNIQUE"
        label = f"ADD CONSTRAINT {c.conname} {kind}" if c.conname else f"ADD {kind}"
        if c.contype == ConstrType.CONSTR_PRIMARY:
            for column in columns:
                not_null(site, column, f"{label} ({', '.join(columns)})")
        if any(k not in site.columns() for k in columns):
            return  # a column the pending statements add: NULL everywhere (said above), no duplicate
        duplicates(site, label, [(k, sql.Identifier(k)) for k in columns], None, bool(c.nulls_not_distinct))
    elif c.contype == ConstrType.CONSTR_FOREIGN:
        if c.skip_validation:
            if c.conname:
                site.p.not_valid[(site.key, str(c.conname))] = (c, site.stmt)
            return
        orphans(site, c, f"ADD CONSTRAINT {c.conname} FOREIGN KEY" if c.conname else "ADD FOREIGN KEY")
    elif c.contype == ConstrType.CONSTR_CHECK and c.raw_expr is not None:
        if c.skip_validation:
            if c.conname:
                site.p.not_valid[(site.key, str(c.conname))] = (c, site.stmt)
            return
        label = f"ADD CONSTRAINT {c.conname} CHECK" if c.conname else "ADD CHECK"
        check(site, label, deparse(c.raw_expr))
