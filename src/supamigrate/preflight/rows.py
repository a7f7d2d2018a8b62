"""Bounded reads of the target's rows: every query reads at most ``Limits.rows`` rows of a table,
within ``Limits.timeout_ms``, with row security off (a policy would hide rows and make a count
lie, so a table it applies to fails the read instead of answering wrong).

Each read runs in a savepoint that is always rolled back, so the settings it makes go with it;
the connection is still the read-only one (``target.open_read_only``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors, sql

Key = tuple[str, str]  # (schema, name), as pending.Key
Query = sql.SQL | sql.Composed


@dataclass(frozen=True)
class Limits:
    """How much preflight reads of one table: at most ``rows`` rows per query, for at most
    ``timeout_ms``, and ``budget_ms`` for all the data checks of a run (later ones are told as
    not read); a rewrite of a table of ``large_bytes`` or more is a warning."""

    rows: int = 1_000_000
    timeout_ms: int = 5_000
    budget_ms: int = 60_000
    large_bytes: int = 100 * 1024 * 1024


@dataclass(frozen=True)
class Read:
    """One row a bounded query returned, or why there is none (``failed``: timeout, privilege...)."""

    row: tuple[Any, ...] | None
    failed: str | None = None
    sqlstate: str = ""

    @property
    def refused_data(self) -> bool:
        """The query failed on a value: a data exception (class 22) or an integrity one (23)."""
        return self.sqlstate[:2] in ("22", "23")


def table(key: Key) -> sql.Identifier:
    return sql.Identifier(*key)


def read(conn: psycopg.Connection, query: Query, limits: Limits) -> Read:
    """The first row of ``query``, run under the limits; a failure is told, never raised."""
    try:
        # force_rollback: the savepoint takes the set_config() calls back with it.
        with conn.transaction(force_rollback=True):
            conn.execute(
                "SELECT pg_catalog.set_config('statement_timeout', %s, true),"
                " pg_catalog.set_config('row_security', 'off', true)",
                (f"{limits.timeout_ms}ms",),
            )
            return Read(conn.execute(query).fetchone())
    except errors.QueryCanceled:
        return Read(None, f"stopped after {limits.timeout_ms / 1000:g}s (statement_timeout)", "57014")
    except psycopg.Error as exc:
        message = exc.diag.message_primary or str(exc).strip().splitlines()[0]
        return Read(None, f"{message} ({exc.sqlstate})" if exc.sqlstate else message, exc.sqlstate or "")


@dataclass(frozen=True)
class Size:
    """A table's size on disk (with indexes and TOAST) and the planner's row estimate."""

    bytes: int
    pretty: str
    estimate: int  # -1: never analysed

    def describe(self) -> str:
        rows = f"about {self.estimate} rows" if self.estimate >= 0 else "not analysed yet"
        return f"{self.pretty}, {rows} by the catalog"


def size(conn: psycopg.Connection, key: Key) -> Size | None:
    """The catalog's view of a table's size, read without touching its rows."""
    found = read(
        conn,
        sql.SQL(
            "SELECT pg_catalog.pg_total_relation_size(c.oid), pg_catalog.pg_size_pretty("
            "pg_catalog.pg_total_relation_size(c.oid)), c.reltuples::bigint FROM pg_catalog.pg_class c"
            " WHERE c.oid = {}::regclass"
        ).format(sql.Literal(sql.Identifier(*key).as_string(conn))),
        Limits(),
    )
    if found.row is None:
        return None
    return Size(int(found.row[0]), str(found.row[1]), int(found.row[2]))


def scanned(conn: psycopg.Connection, key: Key, rows_read: int, limits: Limits, *, what: str = "rows") -> str:
    """How many rows a count read: all of them, or the first ``limits.rows`` (cut short)."""
    if rows_read < limits.rows:
        return f"{rows_read} {what}"
    found = size(conn, key)
    of = f" of {found.describe()}" if found is not None else ""
    return f"the first {rows_read} {what} read (the count was cut short at {limits.rows}{of})"


def key_text(columns: tuple[str, ...], values: tuple[Any, ...] | list[Any]) -> str:
    """A key as PostgreSQL's errors print it: ``(a, b)=(1, x)``."""
    shown = ", ".join("null" if v is None else str(v) for v in values)
    return f"({', '.join(columns)})=({shown})"
