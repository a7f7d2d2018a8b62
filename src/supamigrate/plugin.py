"""The pytest face: options, and fixtures over the core.

The migrated database is built once per session as a template; ``db`` hands each test a
connection inside a transaction that is rolled back afterwards, and ``fresh_db`` gives a test
that must commit a database of its own, cloned from the template. Every fixture is small and can
be overridden in a project's ``conftest.py``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from .auth import AuthUser, create_user
from .database import (
    BuildResult,
    ExternalServer,
    Server,
    build,
    connect,
    create_database,
    drop_database,
    unique_name,
)
from .errors import SupamigrateError
from .inspect import Catalog
from .migrations import MigrationSet
from .platform.extensions import cron_database
from .project import Project
from .server import EphemeralServer, ServerOptions

# name, env variable, help; each is also an ini key "supamigrate_<name>" and an option "--supamigrate-<name>".
OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("project_dir", "SUPAMIGRATE_PROJECT_DIR", "directory holding supabase/ (default: pytest's rootdir)"),
    ("db_url", "SUPAMIGRATE_DB_URL", "run against this existing server instead of starting one"),
    ("pg_bin", "SUPAMIGRATE_PG_BIN", "directory of the PostgreSQL server binaries (pg_ctl, initdb)"),
    ("statement_timeout", "SUPAMIGRATE_STATEMENT_TIMEOUT", "statement timeout in ms while migrating"),
    ("seed", "SUPAMIGRATE_SEED", "run the seed files into the template (default: true)"),
)


@dataclass(frozen=True)
class Settings:
    """The plugin's configuration, resolved once: CLI option > environment > ini > default."""

    project_dir: Path
    db_url: str | None
    pg_bin: str | None
    statement_timeout_ms: int | None
    seed: bool


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("supamigrate", "Supabase migrations on an ephemeral PostgreSQL")
    for name, env, help_text in OPTIONS:
        group.addoption(f"--supamigrate-{name.replace('_', '-')}", dest=f"supamigrate_{name}", help=f"{help_text} [env {env}]")
        parser.addini(f"supamigrate_{name}", help_text)


def resolve_settings(config: pytest.Config) -> Settings:
    """Resolve every option in one place."""

    def get(name: str, env: str) -> str | None:
        value = config.getoption(f"supamigrate_{name}") or os.environ.get(env) or config.getini(f"supamigrate_{name}")
        return str(value) if value else None

    values = {name: get(name, env) for name, env, _ in OPTIONS}
    timeout = values["statement_timeout"]
    return Settings(
        project_dir=Path(values["project_dir"] or config.rootpath),
        db_url=values["db_url"],
        pg_bin=values["pg_bin"],
        statement_timeout_ms=int(timeout) if timeout else None,
        seed=(values["seed"] or "true").lower() not in {"0", "false", "no", "off"},
    )


def _fail(exc: SupamigrateError) -> None:
    pytest.fail(exc.render(), pytrace=False)


@pytest.fixture(scope="session")
def supamigrate_settings(pytestconfig: pytest.Config) -> Settings:
    """The resolved supamigrate settings (options, environment, ini)."""
    return resolve_settings(pytestconfig)


@pytest.fixture(scope="session")
def supamigrate_project(supamigrate_settings: Settings) -> Project:
    """The Supabase project under test (``supabase/`` and its config.toml)."""
    try:
        return Project.load(supamigrate_settings.project_dir)
    except SupamigrateError as exc:
        _fail(exc)
        raise


@pytest.fixture(scope="session")
def _supamigrate_template_name() -> str:
    # Known before the server starts, which preloads pg_cron for this database when it is used.
    return unique_name("supamigrate_template")


@pytest.fixture(scope="session")
def supamigrate_server(
    supamigrate_settings: Settings, supamigrate_project: Project, _supamigrate_template_name: str
) -> Iterator[Server]:
    """The PostgreSQL server of the session: an ephemeral one, or the one named by --supamigrate-db-url."""
    if supamigrate_settings.db_url:
        yield ExternalServer(supamigrate_settings.db_url)
        return
    try:
        migrations = MigrationSet.discover(supamigrate_project.migrations_dir)
        cron = cron_database(supamigrate_project, migrations, _supamigrate_template_name)
    except SupamigrateError as exc:
        _fail(exc)
        raise
    options = ServerOptions(
        bindir=Path(supamigrate_settings.pg_bin) if supamigrate_settings.pg_bin else None,
        major=supamigrate_project.config.major_version,
        cron_database=cron,
    )
    try:
        server = EphemeralServer(options).start()
    except SupamigrateError as exc:
        _fail(exc)
        raise
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def supamigrate_template(
    supamigrate_server: Server,
    supamigrate_project: Project,
    supamigrate_settings: Settings,
    _supamigrate_template_name: str,
) -> Iterator[BuildResult]:
    """The migrated template database: platform stub, migrations and seed, built once a session."""
    name = _supamigrate_template_name
    try:
        result = build(
            supamigrate_server,
            name,
            supamigrate_project,
            seed=supamigrate_settings.seed,
            statement_timeout_ms=supamigrate_settings.statement_timeout_ms,
        )
    except SupamigrateError as exc:
        _fail(exc)
        raise
    try:
        yield result
    finally:
        drop_database(supamigrate_server, name)


@dataclass(frozen=True)
class TestDatabase:
    """A database cloned from the template: its name and how to connect to it."""

    server: Server
    name: str

    @property
    def conninfo(self) -> str:
        return self.server.conninfo(self.name, _app_user(self.server))

    def connect(self, user: str | None = None, **kwargs: Any) -> psycopg.Connection:
        """A new connection, as ``postgres`` on the ephemeral server (the URL's user otherwise)."""
        return connect(self.server.conninfo(self.name, user or _app_user(self.server)), **kwargs)


def _app_user(server: Server) -> str | None:
    # Tests act as the dashboard's `postgres` role, as the platform has it; not as a superuser.
    return "postgres" if isinstance(server, EphemeralServer) else None


def _clone(server: Server, template: BuildResult, prefix: str) -> TestDatabase:
    name = unique_name(prefix)
    create_database(server, name, template=template.dbname)
    return TestDatabase(server, name)


@pytest.fixture(scope="session")
def supamigrate_database(supamigrate_server: Server, supamigrate_template: BuildResult) -> Iterator[TestDatabase]:
    """The session's database for rolled-back tests, cloned from the template."""
    database = _clone(supamigrate_server, supamigrate_template, "supamigrate_test")
    try:
        yield database
    finally:
        drop_database(supamigrate_server, database.name)


@pytest.fixture(scope="session")
def _supamigrate_connection(supamigrate_database: TestDatabase) -> Iterator[psycopg.Connection]:
    conn = supamigrate_database.connect(prepare_threshold=None)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def db(_supamigrate_connection: psycopg.Connection, supamigrate_database: TestDatabase) -> Iterator[psycopg.Connection]:
    """A connection to the migrated database inside a transaction rolled back after the test.

    Acts as ``postgres``, as the Supabase dashboard does. ``commit()`` is refused; use
    ``with db.transaction():`` for a savepoint, or ``fresh_db`` for a test that must commit.
    """
    conn = _supamigrate_connection
    if conn.closed:  # a test closed it: open another for the tests that follow
        conn = supamigrate_database.connect(prepare_threshold=None)
    with conn.transaction(force_rollback=True):
        yield conn


@pytest.fixture
def fresh_db(supamigrate_server: Server, supamigrate_template: BuildResult) -> Iterator[TestDatabase]:
    """A database of the test's own, cloned from the migrated template; commits allowed, dropped after."""
    database = _clone(supamigrate_server, supamigrate_template, "supamigrate_fresh")
    try:
        yield database
    finally:
        drop_database(supamigrate_server, database.name)


@pytest.fixture
def make_user(db: psycopg.Connection) -> Callable[..., AuthUser]:
    """Factory: ``make_user("ada@example.com")`` inserts an auth user (with identity) and returns it.

    ``make_user(is_anonymous=True)`` makes an anonymous sign-in user.
    """

    def factory(email: str | None = None, **kwargs: Any) -> AuthUser:
        return create_user(db, email, **kwargs)

    return factory


@pytest.fixture
def catalog(db: psycopg.Connection) -> Catalog:
    """Catalog helpers (foreign keys, indexes, triggers, enum labels, policies) on ``db``."""
    return Catalog(db)
