"""Duplicates under a new UNIQUE index or constraint (or PRIMARY KEY), and a unique column added
with one constant default for every row."""

from __future__ import annotations

from pglast import ast
from psycopg import sql

from .rows import key_text, table
from .site import Site, deparse


def index_unique(site: Site, node: ast.IndexStmt) -> None:
    """CREATE UNIQUE INDEX: its columns or expressions, over the rows its predicate keeps."""
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
