"""Helpers for the toolkit's own tests: throwaway Supabase projects built on the session's server."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from supamigrate.build import build_database
from supamigrate.database import Server, connect, create_database, drop_database, unique_name
from supamigrate.project import Project
from supamigrate.server import PgInstall, registry_install_dirs

# The binaries the suite runs on: SUPAMIGRATE_PG_BIN's (`make test-pg17` sets it) for the faces and
# for the tests that call the core with pg_bin=PG_BIN, else those found for this repository's 15.
# The projects the tests write name that major, as a project made for it would.
PG_BIN: Path | None = Path(os.environ["SUPAMIGRATE_PG_BIN"]) if os.environ.get("SUPAMIGRATE_PG_BIN") else None
SUITE_MAJOR = PgInstall.find(PG_BIN, major=15).major

CONFIG = f"""project_id = "toolkit-test"
[api]
schemas = ["public", "graphql_public"]
[db]
major_version = {SUITE_MAJOR}
[db.seed]
enabled = true
sql_paths = ["./seed.sql"]
"""

ProjectFactory = Callable[..., Project]


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectFactory:
    """``make_project({"1_a.sql": "create table ..."}, seed="...")`` writes a project and loads it."""

    def factory(migrations: dict[str, str | bytes], *, seed: str | None = None, config: str = CONFIG) -> Project:
        root = tmp_path / unique_name("project")
        (root / "supabase" / "migrations").mkdir(parents=True)
        (root / "supabase" / "config.toml").write_text(config)
        for name, text in migrations.items():
            path = root / "supabase" / "migrations" / name
            if isinstance(text, bytes):
                path.write_bytes(text)
            else:
                path.write_text(text)
        if seed is not None:
            (root / "supabase" / "seed.sql").write_text(seed)
        return Project.load(root)

    return factory


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary directory the server's OS user can reach when tests run as root (removed after)."""
    path = Path(tempfile.mkdtemp(prefix="toolkit-", dir="/var/tmp" if os.geteuid() == 0 else None))
    path.chmod(0o711)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def stubbed_db(supamigrate_server: Server) -> Iterator[str]:
    """An empty database with the platform stub only, dropped after; yields its conninfo."""
    name = unique_name("toolkit_stubbed")
    create_database(supamigrate_server, name)
    try:
        with connect(supamigrate_server.conninfo(name)) as conn:
            from supamigrate.platform import apply_stub

            apply_stub(conn)
        yield supamigrate_server.conninfo(name)
    finally:
        drop_database(supamigrate_server, name)


@pytest.fixture
def built(supamigrate_server: Server) -> Iterator[Callable[..., str]]:
    """``built(project)`` builds it on the session's server and returns the database's conninfo."""
    names: list[str] = []

    def factory(project: Project, **kwargs: object) -> str:
        name = unique_name("toolkit_built")
        build_database(supamigrate_server, name, project, **kwargs)  # type: ignore[arg-type]
        names.append(name)
        return supamigrate_server.conninfo(name)

    yield factory
    for name in names:
        drop_database(supamigrate_server, name)


def cli_server_major(config_major: int) -> int:
    """The major of the binaries a command picks here for a project of ``config_major``.

    SUPAMIGRATE_PG_BIN's when set (`make test-pg17` sets it), else as binaries.find_bindir chooses.
    """
    return PgInstall.find(PG_BIN, major=config_major).major


def absent_major() -> int:
    """A PostgreSQL major with no binaries on this machine, for a config.toml that names another."""
    for major in (16, 14, 13, 18, 12):
        places = [Path(f"/usr/lib/postgresql/{major}"), *registry_install_dirs(major)]
        if not any((d / "bin" / "postgres").exists() for d in places):
            return major
    raise AssertionError("every major from 12 to 18 is installed here")


def server_major(conninfo: str) -> int:
    """The major version of the server at ``conninfo``."""
    return int(str(query(conninfo, "show server_version_num")[0][0])) // 10000


def query(conninfo: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(conninfo) as conn:
        return conn.execute(sql).fetchall()
