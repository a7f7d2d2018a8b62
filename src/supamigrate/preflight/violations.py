"""Rows a new constraint rejects: orphans under a foreign key, rows a CHECK refuses; added, or
validated later (the definition from the pending statement that added it NOT VALID, or from the
target's catalog)."""

from __future__ import annotations

from pglast import ast
from pglast.enums import ConstrType
from psycopg import sql

from ..sql.objects import Name, range_name, strings
from .foreign_keys import parent_key, target_constraint
from .pending import Key
from .rows import key_text, table
from .site import Site, deparse


def validate(site: Site, name: str) -> None:
    """VALIDATE CONSTRAINT: of one a pending statement added NOT VALID, or one the target holds."""
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


def orphans(site: Site, c: ast.Constraint, action: str) -> None:
    """A foreign key added (not NOT VALID) or validated: its referenced table and columns resolved."""
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


def check(site: Site, action: str, expression: str) -> None:
    """Rows for which a CHECK's expression is false (NULL passes, as in PostgreSQL)."""
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
