"""The schema snapshot: deterministic, user schemas only, and stale when the migrations change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from supamigrate.build import build_database
from supamigrate.commands import stale_snapshot
from supamigrate.database import Server, connect, drop_database, unique_name
from supamigrate.dump import HEADER, SNAPSHOT, dump_schema, normalise, user_schemas
from supamigrate.plugin import TestDatabase
from supamigrate.project import Project
from supamigrate.server import EphemeralServer, find_bindir


@pytest.fixture(scope="module")
def bindir(supamigrate_server: Server) -> Path:
    # pg_dump of the session server's own binaries; an external server's come from the machine.
    return supamigrate_server.bindir if isinstance(supamigrate_server, EphemeralServer) else find_bindir()


@pytest.fixture(scope="module")
def snapshot(supamigrate_server: Server, supamigrate_database: TestDatabase, bindir: Path) -> str:
    # The session's clone of the template (the template itself takes no connections).
    return dump_schema(bindir, supamigrate_server.conninfo(supamigrate_database.name))


@pytest.fixture
def second_build(supamigrate_server: Server, supamigrate_project: Project) -> Iterator[str]:
    name = unique_name("dump_again")
    build_database(supamigrate_server, name, supamigrate_project)
    try:
        yield name
    finally:
        drop_database(supamigrate_server, name)


def test_two_builds_dump_the_same_text(
    snapshot: str, second_build: str, supamigrate_server: Server, bindir: Path
) -> None:
    assert dump_schema(bindir, supamigrate_server.conninfo(second_build)) == snapshot


def test_snapshot_holds_user_schemas_only(snapshot: str) -> None:
    assert snapshot.startswith(HEADER)
    assert "CREATE TABLE public.research_sessions (" in snapshot
    assert "CREATE TYPE public.session_status AS ENUM (" in snapshot
    # auth.users is referenced by a foreign key, never defined; no platform schema is dumped.
    assert "REFERENCES auth.users(id)" in snapshot
    for platform in ("auth", "storage", "extensions", "realtime", "supabase_migrations", "graphql_public"):
        assert f"CREATE SCHEMA {platform};" not in snapshot
        assert f"CREATE TABLE {platform}." not in snapshot
    # Nothing that changes from run to run or from one server build to another.
    assert "\\restrict" not in snapshot and "Dumped from database version" not in snapshot


def test_user_schemas_include_a_new_schema_and_leave_out_the_platform(db: psycopg.Connection) -> None:
    db.execute("create schema reporting")
    schemas = user_schemas(db)
    assert "reporting" in schemas and "public" in schemas
    assert not {"auth", "storage", "extensions", "supabase_migrations", "pg_catalog"} & set(schemas)


def test_committed_snapshot_is_current(snapshot: str, supamigrate_project: Project) -> None:
    committed = supamigrate_project.root / SNAPSHOT
    assert committed.exists(), "run `supamigrate dump` and commit supabase/schema.sql"
    assert stale_snapshot(committed, snapshot) is None, "stale: run `supamigrate dump` and commit it"


def test_a_schema_change_makes_the_snapshot_stale(
    snapshot: str, second_build: str, supamigrate_server: Server, bindir: Path, tmp_path: Path
) -> None:
    committed = tmp_path / "schema.sql"
    committed.write_text(snapshot)
    with connect(supamigrate_server.conninfo(second_build)) as conn:
        conn.execute("alter table public.draft_files add column word_count integer")
        conn.commit()
    changed = dump_schema(bindir, supamigrate_server.conninfo(second_build))
    finding = stale_snapshot(committed, changed)
    assert finding is not None and finding.level == "error" and finding.detail
    lines = finding.detail.splitlines()[2:]  # past the ---/+++ file header
    added = [line for line in lines if line.startswith("+")]
    removed = [line for line in lines if line.startswith("-")]
    assert (added, removed) == (["+    word_count integer,"], [])
    assert "(1 line differs)" in finding.message


def test_normalise_drops_volatile_lines() -> None:
    raw = (
        "--\n-- PostgreSQL database dump\n--\n\n\\restrict AbC123\n\n"
        "-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)\n"
        "-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)\n\n\n\n"
        "CREATE TABLE public.t (id integer);\n\n\\unrestrict AbC123\n"
    )
    out = normalise(raw)
    assert out == HEADER + "\n--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE public.t (id integer);\n"
    assert normalise(raw.replace("AbC123", "XyZ789").replace("15.18", "15.19")) == out
