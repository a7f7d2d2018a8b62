"""A stub of the Supabase platform: what a Supabase database holds before any user migration.

The stub is plain SQL under ``platform/sql``, applied in file-name order in one transaction by a
superuser. Its facts come from a database built by Supabase's own bootstrap, auth and storage
migrations (see ``tests/toolkit/reference``, which the fidelity test compares the catalog with).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

import psycopg

from ..errors import StubFailed, SupamigrateError
from .extensions import preinstall

# Schemas that belong to the Supabase platform or its extensions, never to a project's migrations.
# Advisors skip them and `dump` leaves them out (pg_* and information_schema are always left out).
PLATFORM_SCHEMAS = (
    "auth",
    "storage",
    "extensions",
    "realtime",
    "_realtime",
    "_analytics",
    "graphql",
    "graphql_public",
    "supabase_functions",
    "supabase_migrations",
    "vault",
    "pgsodium",
    "pgsodium_masks",
    "pgbouncer",
    "pgtle",
    "pgmq",
    "net",
    "cron",
    "repack",
    "tiger",
    "topology",
    "information_schema",
    # supamigrate's own registry of the extensions it shims (never on the platform).
    "supamigrate",
)


@dataclass(frozen=True)
class StubFile:
    """One SQL file of the stub."""

    name: str
    text: str


def stub_files() -> tuple[StubFile, ...]:
    """The stub's SQL files, in the order they apply."""
    root: Traversable = resources.files(__package__).joinpath("sql")
    files = sorted((f for f in root.iterdir() if f.name.endswith(".sql")), key=lambda f: f.name)
    return tuple(StubFile(f.name, f.read_text(encoding="utf-8")) for f in files)


def stub_digest() -> str:
    """A hash of the stub's SQL and its shims; part of the key of anything cached from a stubbed database."""
    h = hashlib.sha256()
    for f in stub_files():
        h.update(f.name.encode() + b"\0" + f.text.encode() + b"\0")
    shims: Traversable = resources.files(__package__).joinpath("shims")
    for s in sorted((s for s in shims.iterdir() if s.name.endswith(".sql")), key=lambda s: s.name):
        h.update(b"shims/" + s.name.encode() + b"\0" + s.read_bytes() + b"\0")
    return h.hexdigest()


def has_platform(conn: psycopg.Connection) -> bool:
    """Whether the database already has the platform's schema (a real Supabase or a stubbed one)."""
    row = conn.execute("SELECT to_regclass('auth.users') IS NOT NULL").fetchone()
    conn.rollback()
    return bool(row and row[0])


def apply_stub(conn: psycopg.Connection) -> bool:
    """Install the stub on the database of ``conn`` unless it already has ``auth.users``.

    Needs a superuser connection with no open transaction. Returns whether it installed anything;
    a file that fails raises ``StubFailed``.
    """
    if has_platform(conn):
        return False
    superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    conn.rollback()
    if not superuser or not superuser[0]:
        raise SupamigrateError(
            "the platform stub needs a superuser connection, and this database has no auth schema",
            hint="connect as a superuser (e.g. postgres on a CI service container) or pass --no-stub",
        )
    with conn.transaction():
        for f in stub_files():
            try:
                conn.execute(f.text)
            except psycopg.Error as exc:
                raise StubFailed(
                    f"platform stub {f.name} failed: {exc.diag.sqlstate} {exc.diag.message_primary}",
                    file=f.name,
                    pg_error=exc,
                    hint="this is a bug in supamigrate's stub; please report it with the server version",
                ) from exc
        preinstall(conn)
    return True
