"""Data checks: what a pending statement will meet in the target's rows, counted read-only.

A statement that adds a constraint or changes a column on a table the target already fills
fails there even though it applies on an empty build: ``SET NOT NULL`` or ``ADD COLUMN ... NOT
NULL`` without a default over NULLs, a ``UNIQUE`` index or constraint over duplicates, a foreign
key (added or validated) over orphan rows, a ``CHECK`` over rows it rejects, a type change over
values that do not convert. Each is counted on the target (bounded, ``rows.py``) and reported at
the statement. A statement that rewrites a large table is told with its size from the catalog.

Tables a pending statement created have no rows on the target yet (``Pending.filled``); rows a
pending statement writes first (an UPDATE backfill) make a count a warning, not an error.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, ObjectType
from pglast.stream import RawStream
from psycopg import sql

from ..findings import FileLocation
from ..sql.objects import Name, range_name, strings
from ..sql.source import ParsedStatement
from .foreign_keys import parent_key, target_constraint
from .pending import Key, Pending
from .rows import Query, Read, key_text, read, scanned, size, table

_WRITES = (ast.InsertStmt, ast.UpdateStmt, ast.DeleteStmt, ast.CopyStmt, ast.MergeStmt)
_REWRITES = {
    AlterTableType.AT_SetLogged: "SET LOGGED",
    AlterTableType.AT_SetUnLogged: "SET UNLOGGED",
    AlterTableType.AT_SetAccessMethod: "SET ACCESS METHOD",
}
# Functions a default may call without making ADD COLUMN rewrite the table are immutable or
# stable; the target's pg_proc says which (volatile ones: gen_random_uuid(), clock_timestamp()).
_VOLATILE = "SELECT coalesce(bool_or(p.provolatile = 'v'), false) FROM pg_catalog.pg_proc p WHERE p.proname = ANY({})"
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
_SKIP = ("42703", "42P01", "42883")  # a column, table or function the pending statements make


def deparse(node: ast.Node) -> str:
    return str(RawStream()(node))


@dataclass
class Site:
    """The statement being checked and the target table it acts on."""

    p: Pending
    stmt: ParsedStatement
    key: Key

    @property
    def where(self) -> FileLocation:
        return self.p.where(self.stmt)

    @property
    def name(self) -> str:
        return f"{self.key[0]}.{self.key[1]}"

    def read(self, query: Query) -> Read:
        limits = self.p.limits
        if self.p.spent_s * 1000 >= limits.budget_ms:
            return Read(None, f"the data checks used their {limits.budget_ms / 1000:g}s budget", "budget")
        started = time.perf_counter()
        try:
            return read(self.p.target.conn, query, limits)
        finally:
            self.p.spent_s += time.perf_counter() - started

    def scanned(self, rows: int) -> str:
        return scanned(self.p.target.conn, self.key, rows, self.p.limits)

    def source(self) -> sql.Composable:
        """The table's rows as a count reads them: the first ``limits.rows`` at most."""
        return sql.SQL("(SELECT * FROM {} LIMIT {}) s").format(table(self.key), sql.Literal(self.p.limits.rows))

    def columns(self) -> dict[str, str]:
        relation = self.p.swallowed.get(self.key) or self.p.target.relation(*self.key)
        return dict(relation.columns) if relation is not None else {}

    def report(self, code: str, message: str, hint: str, *, also: Key | None = None) -> None:
        """An error, or a warning when a pending statement writes first to ``also`` (the table a
        foreign key references) or to the table: the rows may differ by then."""
        for key in (also, self.key) if also is not None else (self.key,):
            writer = self.p.written.get(key)
            if writer is not None:
                self.p.add(
                    "warning",
                    code,
                    f"{message}, unless {writer} (which writes to {key[0]}.{key[1]} first) changes that",
                    self.where,
                    hint,
                )
                return
        self.p.add("error", code, message, self.where, hint)

    def unread(self, code: str, what: str, found: Read) -> None:
        """A count that could not be made: said, so nobody takes silence for a pass."""
        if found.failed is None or found.sqlstate in _SKIP:
            return
        self.p.add(
            "warning",
            code,
            f"{what}: could not read the rows of {self.name} on the target: {found.failed}",
            self.where,
            "check the rows by hand before pushing, or give preflight more time (Limits)"
            if found.sqlstate in ("57014", "55P03", "budget")
            else "check the rows by hand before pushing, or run preflight with a role that may read them",
        )


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


# -- NOT NULL ----------------------------------------------------------------------------------


def not_null(site: Site, column: str, action: str) -> None:
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


def same_default(site: Site, name: str, type_text: str, default: ast.Node) -> None:
    """A unique column added with a constant default: every existing row gets the same value."""
    if not isinstance(default, ast.A_Const) or default.isnull:
        return
    found = site.read(sql.SQL("SELECT count(*) FROM (SELECT 1 FROM {} LIMIT 2) s").format(table(site.key)))
    if found.row is None or int(found.row[0]) < 2:
        return
    rows = site.read(sql.SQL("SELECT count(*) FROM {}").format(site.source()))
    counted = site.scanned(int(rows.row[0])) if rows.row is not None else "rows"
    value = deparse(default)
    site.report(
        "data-unique",
        f"ADD COLUMN {name} {type_text} UNIQUE with the default {value} on {site.name}: its {counted} on the"
        f" target would all get {value}; the migration will fail (23505 unique_violation)",
        "add the column without the constraint, give each row its own value, then add the constraint",
    )


def calls(node: object) -> set[str]:
    """The names of the functions an expression calls."""
    if isinstance(node, tuple):
        return set().union(*(calls(n) for n in node))
    if not isinstance(node, ast.Node):
        return set()
    found = {strings(node.funcname)[-1]} if isinstance(node, ast.FuncCall) and node.funcname else set()
    return found.union(*(calls(getattr(node, m)) for m in node))


def volatile(site: Site, expr: ast.Node) -> bool:
    names = sorted(calls(expr))
    if not names:
        return False
    found = site.read(sql.SQL(_VOLATILE).format(sql.Literal(names)))
    return bool(found.row and found.row[0])


# -- UNIQUE / PRIMARY KEY ----------------------------------------------------------------------


def index_unique(site: Site, node: ast.IndexStmt) -> None:
    keys: list[tuple[str, sql.Composable]] = []
    for elem in node.indexParams or ():
        if not isinstance(elem, ast.IndexElem):
            return
        if elem.name:
            if str(elem.name) not in site.columns():
                return  # a column the pending statements add: NULL in every row, no duplicate
            keys.append((str(elem.name), sql.Identifier(str(elem.name))))
        elif elem.expr is not None:
            text = deparse(elem.expr)
            keys.append((text, sql.SQL("({})").format(sql.SQL(text))))
    where = sql.SQL(deparse(node.whereClause)) if node.whereClause is not None else None
    label = f"UNIQUE index {node.idxname}" if node.idxname else "UNIQUE index"
    duplicates(site, label, keys, where, bool(node.nulls_not_distinct))


def duplicates(
    site: Site, label: str, keys: list[tuple[str, sql.Composable]], where: sql.Composable | None, nulls: bool
) -> None:
    """Groups of rows with the same key (NULLs apart unless NULLS NOT DISTINCT)."""
    names = tuple(k for k, _ in keys)
    picked = sql.SQL(", ").join(sql.SQL("{} AS {}").format(e, sql.Identifier(f"k{i}")) for i, (_, e) in enumerate(keys))
    ks = [sql.Identifier(f"k{i}") for i in range(len(keys))]
    filters = [] if nulls else [sql.SQL("{} IS NOT NULL").format(k) for k in ks]
    rows = sql.SQL("SELECT {} FROM {} s{} LIMIT {}").format(
        picked,
        table(site.key),
        sql.SQL(" WHERE ({})").format(where) if where is not None else sql.SQL(""),
        sql.Literal(site.p.limits.rows),
    )
    query = sql.SQL(
        "WITH r AS MATERIALIZED ({rows}),"
        " d AS (SELECT {ks}, count(*) AS n FROM r{filters} GROUP BY {ks} HAVING count(*) > 1)"
        " SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM d), (SELECT coalesce(sum(n), 0) FROM d),"
        " (SELECT ARRAY[{texts}] FROM d ORDER BY n DESC, {ks} LIMIT 1)"
    ).format(
        rows=rows,
        ks=sql.SQL(", ").join(ks),
        filters=sql.SQL(" WHERE ") + sql.SQL(" AND ").join(filters) if filters else sql.SQL(""),
        texts=sql.SQL(", ").join(sql.SQL("{}::text").format(k) for k in ks),
    )
    action = f"{label} ({', '.join(names)})"
    found = site.read(query)
    if found.row is None:
        site.unread("data-unique", action, found)
        return
    read_rows, groups, members, example = int(found.row[0]), int(found.row[1]), int(found.row[2]), found.row[3]
    if groups:
        site.report(
            "data-unique",
            f"{action} on {site.name}: {groups} duplicate group{'s' if groups != 1 else ''} ({members} rows) in"
            f" {site.scanned(read_rows)} on the target, e.g. Key {key_text(names, example)} is duplicated;"
            " the migration will fail (23505 unique_violation)",
            "remove or merge the duplicates first (in the migration, before the constraint), or make the"
            " key unique another way",
        )


def add_constraint(site: Site, c: ast.Constraint) -> None:
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


def validate(site: Site, name: str) -> None:
    mine = site.p.not_valid.pop((site.key, name), None)
    action = f"VALIDATE CONSTRAINT {name}"
    if mine is not None:
        c = mine[0]
        if c.contype == ConstrType.CONSTR_FOREIGN:
            orphans(site, c, action)
        elif c.raw_expr is not None:
            check(site, action, deparse(c.raw_expr))
        return
    theirs = target_constraint(site.p.target.conn, site.key, name)
    if theirs is None:
        return
    if theirs.kind == "f" and theirs.parent is not None:
        count_orphans(site, action, theirs.columns, theirs.parent, theirs.parent_columns, empty=False)
    elif theirs.kind == "c" and theirs.expression:
        check(site, action, unwrap(theirs.expression))


def unwrap(expression: str) -> str:
    """``expression`` without the one pair of parentheses pg_get_expr() puts around it all."""
    depth, quoted = 0, False
    for i, ch in enumerate(expression):
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch in "()":
            depth += 1 if ch == "(" else -1
            if depth == 0 and i < len(expression) - 1:
                return expression  # the first parenthesis closes early: (a) OR (b)
    return expression[1:-1] if expression.startswith("(") and expression.endswith(")") else expression


# -- FOREIGN KEY -------------------------------------------------------------------------------


def orphans(site: Site, c: ast.Constraint, action: str) -> None:
    assert c.pktable is not None
    parent_name: Name = range_name(c.pktable)
    parent = site.p.target_resolves(parent_name)
    if parent is None:
        return  # references.py says the target lacks it
    empty = site.p.filled(parent_name) is None  # a pending statement creates it: no rows yet
    columns = strings(c.fk_attrs)
    referenced = strings(c.pk_attrs) or (() if empty else parent_key(site.p.target.conn, parent))
    if not columns or (not empty and len(referenced) != len(columns)):
        return
    count_orphans(
        site,
        f"{action} ({', '.join(columns)}) REFERENCES {parent[0]}.{parent[1]}",
        columns,
        parent,
        referenced,
        empty=empty,
    )


def count_orphans(
    site: Site, action: str, columns: tuple[str, ...], parent: Key, referenced: tuple[str, ...], *, empty: bool
) -> None:
    """Rows whose key (no part NULL: MATCH SIMPLE) finds no row of ``parent``."""
    if any(col not in site.columns() for col in columns):
        return  # added by a pending statement: NULL, so no orphan
    ks = [sql.Identifier(col) for col in columns]
    conditions = [sql.SQL("r.{} IS NOT NULL").format(k) for k in ks]
    if not empty:
        match = sql.SQL(" AND ").join(
            sql.SQL("p.{} = r.{}").format(sql.Identifier(ref), k) for ref, k in zip(referenced, ks, strict=True)
        )
        conditions.append(sql.SQL("NOT EXISTS (SELECT FROM {} p WHERE {})").format(table(parent), match))
    query = sql.SQL(
        "WITH r AS MATERIALIZED (SELECT {ks} FROM {t} LIMIT {n}), o AS (SELECT {ks} FROM r WHERE {cond})"
        " SELECT (SELECT count(*) FROM r), (SELECT count(*) FROM o),"
        " (SELECT ARRAY[{texts}] FROM o ORDER BY {ks} LIMIT 1)"
    ).format(
        ks=sql.SQL(", ").join(ks),
        t=table(site.key),
        n=sql.Literal(site.p.limits.rows),
        cond=sql.SQL(" AND ").join(conditions),
        texts=sql.SQL(", ").join(sql.SQL("{}::text").format(k) for k in ks),
    )
    found = site.read(query)
    if found.row is None:
        site.unread("data-orphans", action, found)
        return
    read_rows, count, example = int(found.row[0]), int(found.row[1]), found.row[2]
    if not count:
        return
    why = f" (a pending migration creates {parent[0]}.{parent[1]}, so it has no rows yet)" if empty else ""
    site.report(
        "data-orphans",
        f"{action} on {site.name}: {count} of {site.scanned(read_rows)} on the target point at no row of"
        f" {parent[0]}.{parent[1]}{why}, e.g. Key {key_text(columns, example)};"
        " the migration will fail (23503 foreign_key_violation)",
        "delete or fix those rows first, or add the constraint NOT VALID and VALIDATE it once they are clean",
        also=parent,
    )


# -- CHECK -------------------------------------------------------------------------------------


def check(site: Site, action: str, expression: str) -> None:
    found = site.read(
        sql.SQL("SELECT count(*) FILTER (WHERE ({}) IS FALSE), count(*) FROM {}").format(
            sql.SQL(expression), site.source()
        )
    )
    if found.row is None:
        site.unread("data-check", f"{action} ({expression})", found)
        return
    failing, rows = int(found.row[0]), int(found.row[1])
    if failing:
        site.report(
            "data-check",
            f"{action} ({expression}) on {site.name}: {failing} of {site.scanned(rows)} on the target violate"
            " it; the migration will fail (23514 check_violation)",
            "fix those rows first, or add the constraint NOT VALID and VALIDATE it once they are clean",
        )


# -- type changes and rewrites -----------------------------------------------------------------


def change_type(site: Site, column: str, col: ast.ColumnDef) -> None:
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
