"""Errors pickle whole, keep the psycopg error behind them, and have subclasses a caller can branch on."""

from __future__ import annotations

import inspect
import pickle
from pathlib import Path

import psycopg
import pytest
from psycopg import errors as pg

from supamigrate import errors
from supamigrate.build import build_database
from supamigrate.database import Server, connect, create_database, drop_database, unique_name
from supamigrate.errors import (
    ExtensionUnavailable,
    HistoryMismatch,
    MigrationError,
    ProjectError,
    SqlLocation,
    StubFailed,
    SupamigrateError,
)
from supamigrate.migrations import LostWork, MigrationSet, apply_migrations
from supamigrate.platform import apply_stub
from supamigrate.platform.extensions import ExtensionUnavailable as ReExported
from supamigrate.project import Project

from .conftest import ProjectFactory
from .platform_projects import PROJECTS

GOOD = "create table public.a (id int primary key);\n"


def round_trip(error: SupamigrateError) -> SupamigrateError:
    restored = pickle.loads(pickle.dumps(error))
    assert type(restored) is type(error)
    assert (restored.message, restored.hint, restored.render(), str(restored), restored.args) == (
        error.message,
        error.hint,
        error.render(),
        str(error),
        error.args,
    )
    assert restored.diagnostics == error.diagnostics
    return restored


def build_error(server: Server, project: Project) -> MigrationError:
    with pytest.raises(MigrationError) as failed:
        build_database(server, unique_name("errors"), project)
    return failed.value


def _stub_error() -> StubFailed:
    # A psycopg error made by hand has no diagnostics; the real one is in the stub test below.
    return StubFailed("platform stub 10_schemas.sql failed", file="10_schemas.sql", pg_error=pg.DuplicateSchema("x"))


EXAMPLES: list[SupamigrateError] = [
    SupamigrateError("plain", hint="do this"),
    ProjectError("supabase/config.toml: bad", hint="fix it"),
    HistoryMismatch("Remote migration versions not found", code="history-missing-locally", versions=("2",), hint="h"),
    errors.ServerError("PostgreSQL did not start", hint="install it"),
    errors.ConnectionFailed("cannot connect to postgresql://u:***@h/db"),
    errors.RemoteRefused("refusing to write", hint="--allow-remote"),
    errors.SettingsError("environment variable SUPAMIGRATE_SEED: expected a boolean, got 'maybe'", hint="true/false"),
    ExtensionUnavailable("extension pg_net is not available", hint="shim it"),
    _stub_error(),
    MigrationError(
        SqlLocation(Path("supabase/migrations/1_a.sql"), 4, 3),
        "duplicate key value violates unique constraint",
        sqlstate="23505",
        detail="Key (id)=(1) already exists.",
        hint="a hint",
        context="a context",
        statement="insert ...",
        reason=ExtensionUnavailable("inner"),
    ),
    errors.LostWorkError(
        SqlLocation(Path("supabase/migrations/2_b.sql"), 3, 1),
        "the Supabase CLI would lose work here without an error: ROLLBACK undoes what ran",
        detail="supabase/migrations/2_b.sql:3:1: ROLLBACK undoes what ran: 1 statements lost (...)",
        hint="set allow_lost_work = true under [migrations]",
        losses=(
            LostWork(
                SqlLocation(Path("supabase/migrations/2_b.sql"), 3, 1),
                "ROLLBACK undoes what ran",
                (SqlLocation(Path("supabase/migrations/2_b.sql"), 1, 1),),
            ),
        ),
    ),
]


def test_every_error_class_has_a_pickle_example() -> None:
    classes = {c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, SupamigrateError)}
    assert classes == {type(e) for e in EXAMPLES}


@pytest.mark.parametrize("error", EXAMPLES, ids=lambda e: type(e).__name__)
def test_every_error_pickles_with_its_message_hint_and_attributes(error: SupamigrateError) -> None:
    restored = round_trip(error)
    public = {k: v for k, v in vars(error).items() if k not in ("pg_error", "reason")}
    assert {k: v for k, v in vars(restored).items() if k not in ("pg_error", "reason")} == public
    if isinstance(error, MigrationError):
        assert isinstance(restored, MigrationError)
        assert (restored.location, restored.path, restored.line, restored.column) == (
            error.location,
            error.path,
            error.line,
            error.column,
        )
        if error.reason is not None:
            assert isinstance(restored.reason, ExtensionUnavailable) and restored.reason.message == "inner"
        if isinstance(error, errors.LostWorkError):
            assert isinstance(restored, errors.LostWorkError) and restored.losses == error.losses


def test_a_unique_violation_keeps_the_psycopg_error(make_project: ProjectFactory, supamigrate_server: Server) -> None:
    sql = GOOD + "insert into public.a values (1);\n\n  insert into public.a values (1);\n"
    error = build_error(supamigrate_server, make_project({"1_dup.sql": sql}))
    assert isinstance(error.pg_error, pg.UniqueViolation)
    assert error.__cause__ is error.pg_error
    assert error.caused_by(pg.UniqueViolation) and error.caused_by(psycopg.IntegrityError)
    assert not error.caused_by(ExtensionUnavailable)
    assert (error.diagnostics["sqlstate"], error.diagnostics["constraint_name"]) == ("23505", "a_pkey")
    assert (error.diagnostics["table_name"], error.diagnostics["schema_name"]) == ("a", "public")

    restored = round_trip(error)
    assert isinstance(restored, MigrationError)
    assert (restored.location, restored.sqlstate, restored.detail) == (error.location, "23505", error.detail)
    assert isinstance(restored.pg_error, pg.UniqueViolation)
    assert restored.pg_error.diag.constraint_name == "a_pkey"
    assert restored.caused_by(pg.UniqueViolation)


def test_a_missing_extension_is_located_and_still_an_extension_unavailable(supamigrate_server: Server) -> None:
    assert ReExported is ExtensionUnavailable  # platform.extensions re-exports the moved class
    error = build_error(supamigrate_server, Project.load(PROJECTS / "missing_extension"))
    assert isinstance(error.reason, ExtensionUnavailable) and error.__cause__ is error.reason
    assert error.caused_by(ExtensionUnavailable) and error.pg_error is None
    assert (error.path.name, error.line, error.column) == ("20240602000000_webhooks.sql", 3, 1)
    assert error.message == error.reason.message and 'extension "pg_net" is not available' in error.message

    restored = round_trip(error)
    assert isinstance(restored, MigrationError) and isinstance(restored.reason, ExtensionUnavailable)
    assert (restored.location, restored.reason.hint) == (error.location, error.reason.hint)


def test_a_failing_stub_file_is_a_stub_failed_with_the_server_error(supamigrate_server: Server) -> None:
    name = unique_name("errors_stub")
    create_database(supamigrate_server, name)
    try:
        with connect(supamigrate_server.conninfo(name)) as conn:
            conn.execute("create schema storage")  # the stub creates it, without IF NOT EXISTS
            conn.commit()
            with pytest.raises(StubFailed) as failed:
                apply_stub(conn)
    finally:
        drop_database(supamigrate_server, name)
    error = failed.value
    assert error.file == "10_schemas.sql" and "platform stub 10_schemas.sql failed: 42P06" in error.message
    assert isinstance(error.pg_error, pg.DuplicateSchema) and error.__cause__ is error.pg_error
    assert error.caused_by(pg.DuplicateSchema) and error.diagnostics["sqlstate"] == "42P06"
    restored = round_trip(error)
    assert isinstance(restored, StubFailed) and restored.file == error.file
    assert isinstance(restored.pg_error, pg.DuplicateSchema)


def test_the_push_consistency_errors_are_history_mismatches(make_project: ProjectFactory, stubbed_db: str) -> None:
    with psycopg.connect(stubbed_db) as conn:
        apply_migrations(conn, MigrationSet.discover(make_project({"2_b.sql": GOOD}).migrations_dir))
        with pytest.raises(HistoryMismatch) as missing:
            apply_migrations(conn, MigrationSet.discover(make_project({"3_c.sql": GOOD}).migrations_dir))
        older = make_project({"1_a.sql": "create table public.z (id int);", "2_b.sql": GOOD})
        with pytest.raises(ProjectError) as out_of_order:  # existing `except ProjectError` still catches it
            apply_migrations(conn, MigrationSet.discover(older.migrations_dir))
    assert (missing.value.code, missing.value.versions) == ("history-missing-locally", ("2",))
    assert isinstance(out_of_order.value, HistoryMismatch)
    assert (out_of_order.value.code, out_of_order.value.versions) == ("history-out-of-order", ("1",))
    restored = round_trip(out_of_order.value)
    assert isinstance(restored, HistoryMismatch)
    assert (restored.code, restored.versions) == ("history-out-of-order", ("1",))
