"""The read-only view of the target database: relations, types, functions, extensions, rows.

The connection is read-only by construction (every transaction defaults to READ ONLY); each
lookup is cached, and a lookup that may fail runs in a savepoint so the run goes on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from ..database import connect

ROW_COUNT_CAP = 10_000
SESSION_SETTINGS = (
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    "SET statement_timeout = '30s'",
    "SET lock_timeout = '3s'",
    "SET idle_in_transaction_session_timeout = '60s'",
    # Types print the way migrations name them (public types unqualified).
    "SET search_path = public, extensions",
)
_SERIALS = {
    "serial": "integer",
    "serial4": "integer",
    "bigserial": "bigint",
    "serial8": "bigint",
    "smallserial": "smallint",
    "serial2": "smallint",
}
_RELKIND = {
    "r": "table",
    "p": "table",
    "v": "view",
    "m": "materialized view",
    "i": "index",
    "I": "index",
    "S": "sequence",
    "f": "foreign table",
    "c": "composite type",
}


def open_read_only(db_url: str) -> psycopg.Connection:
    """A connection whose every transaction is READ ONLY (the password never shows in errors)."""
    conn = connect(db_url, autocommit=True, application_name="supamigrate preflight")
    try:
        for statement in SESSION_SETTINGS:
            conn.execute(statement)
        conn.autocommit = False
        conn.read_only = True
    except BaseException:
        conn.close()
        raise
    return conn


@dataclass(frozen=True)
class Relation:
    """A relation found on the target: kind, columns (name, type) and, for tables, a row count."""

    schema: str
    name: str
    kind: str
    columns: tuple[tuple[str, str], ...]
    rows: str = ""

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def describe(self) -> str:
        cols = ", ".join(f"{n} {t}" for n, t in self.columns)
        rows = f"; {self.rows}" if self.rows else ""
        return f"{self.kind} {self.qualified} ({cols}{rows})"


@contextmanager
def savepoint(conn: psycopg.Connection) -> Iterator[None]:
    """Run a lookup that may fail (no privilege, unknown type) without ending the transaction."""
    try:
        with conn.transaction():
            yield
    except psycopg.Error:
        pass


def _one(conn: psycopg.Connection, query: str, params: tuple[object, ...]) -> tuple[Any, ...] | None:
    return conn.execute(query, params).fetchone()


def load_relation(conn: psycopg.Connection, schema: str, name: str) -> Relation | None:
    row = _one(
        conn,
        "SELECT c.oid, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
        " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
        (schema, name),
    )
    if row is None:
        return None
    oid, relkind = row
    columns = tuple(
        (str(n), str(t))
        for n, t in conn.execute(
            "SELECT attname, pg_catalog.format_type(atttypid, NULL) FROM pg_catalog.pg_attribute"
            " WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (oid,),
        )
    )
    kind = _RELKIND.get(str(relkind), "relation")
    rows = row_count(conn, int(oid)) if kind in ("table", "materialized view") else ""
    return Relation(schema, name, kind, columns, rows)


def row_count(conn: psycopg.Connection, oid: int) -> str:
    """The rows of a table, counted up to the cap; the planner's estimate if it cannot be read."""
    counted: list[int] = []
    with savepoint(conn):
        regclass = _one(conn, "SELECT %s::regclass::text", (oid,))
        assert regclass is not None
        query = f"SELECT count(*) FROM (SELECT 1 FROM {regclass[0]} LIMIT {ROW_COUNT_CAP + 1}) t"
        found = conn.execute(query).fetchone()  # regclass prints the name quoted
        counted.append(int(found[0]) if found else 0)
    if counted:
        n = counted[0]
        return f"more than {ROW_COUNT_CAP} rows" if n > ROW_COUNT_CAP else f"{n} row{'s' if n != 1 else ''}"
    value = _one(conn, "SELECT reltuples::bigint FROM pg_catalog.pg_class WHERE oid = %s", (oid,))
    return f"about {max(int(value[0]), 0)} rows (not readable)" if value else ""


class Target:
    """Lookups on the target database, each cached; failures inside stay in their savepoint."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.schemas = {str(r[0]) for r in conn.execute("SELECT nspname FROM pg_catalog.pg_namespace")}
        self.roles = {str(r[0]) for r in conn.execute("SELECT rolname FROM pg_catalog.pg_roles")}
        self._relations: dict[tuple[str, str], Relation | None] = {}
        self._types: dict[str, str] = {}

    def relation(self, schema: str, name: str) -> Relation | None:
        key = (schema, name)
        if key not in self._relations:
            self._relations[key] = load_relation(self.conn, schema, name)
        return self._relations[key]

    def canonical_type(self, text: str) -> str:
        """A column type as written, spelled as the target spells it (timestamptz: timestamp with tz)."""
        key = text.lower()
        if key not in self._types:
            written = _SERIALS.get(key, key)
            found: list[str] = []
            with savepoint(self.conn):
                row = _one(self.conn, "SELECT pg_catalog.format_type(pg_catalog.to_regtype(%s), NULL)", (written,))
                if row and row[0]:
                    found.append(str(row[0]))
            if found:
                self._types[key] = found[0]
            else:
                schema, _, bare = written.rpartition(".")
                self._types[key] = bare if schema in ("public", "extensions", "") else written
        return self._types[key]

    def type_info(self, schema: str, name: str) -> tuple[str, tuple[str, ...]] | None:
        row = _one(
            self.conn,
            "SELECT t.typtype, ARRAY(SELECT enumlabel FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid"
            " ORDER BY enumsortorder) FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n"
            " ON n.oid = t.typnamespace WHERE n.nspname = %s AND t.typname = %s",
            (schema, name),
        )
        return (str(row[0]), tuple(row[1])) if row else None

    def function(self, schema: str, name: str, arguments: tuple[str, ...] | None) -> bool:
        """Whether ``schema.name`` exists (with exactly ``arguments``, when given)."""
        if arguments is None:
            row = _one(
                self.conn,
                "SELECT EXISTS (SELECT FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n"
                " ON n.oid = p.pronamespace WHERE n.nspname = %s AND p.proname = %s)",
                (schema, name),
            )
            return bool(row and row[0])
        found: list[bool] = []
        with savepoint(self.conn):
            signature = f'"{schema}"."{name}"({", ".join(arguments)})'
            row = _one(self.conn, "SELECT pg_catalog.to_regprocedure(%s) IS NOT NULL", (signature,))
            found.append(bool(row and row[0]))
        return bool(found and found[0])

    def extension_schema(self, name: str) -> str | None:
        row = _one(
            self.conn,
            "SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n"
            " ON n.oid = e.extnamespace WHERE e.extname = %s",
            (name,),
        )
        return str(row[0]) if row else None

    def table_object(self, kind: str, table: Relation, name: str) -> bool:
        """Whether ``table`` has the policy or trigger ``name``."""
        query = (
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_policy WHERE polrelid = %s::regclass AND polname = %s)"
            if kind == "policy"
            else "SELECT EXISTS (SELECT FROM pg_catalog.pg_trigger WHERE tgrelid = %s::regclass AND tgname = %s)"
        )
        row = _one(self.conn, query, (f'"{table.schema}"."{table.name}"', name))
        return bool(row and row[0])
