"""The command line: exit codes, messages, apply on a plain server, refusing remote targets."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from supamigrate.cli import run
from supamigrate.server import EphemeralServer, ServerOptions

from .conftest import ProjectFactory, cli_server_major, query

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plain_server() -> Iterator[EphemeralServer]:
    """A plain PostgreSQL whose bootstrap superuser is `postgres`, like a CI service container."""
    with EphemeralServer(ServerOptions(superuser="postgres")) as server:
        yield server


def invoke(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_new_creates_a_timestamped_migration(make_project: ProjectFactory, capsys: pytest.CaptureFixture[str]) -> None:
    project = make_project({})
    code, out, _ = invoke(capsys, "new", "add_profiles", "--project-dir", str(project.root))
    (created,) = project.migrations_dir.iterdir()
    assert code == 0 and re.fullmatch(r"\d{14}_add_profiles\.sql", created.name)
    assert out.strip() == f"Created new migration at supabase/migrations/{created.name}"
    code, _, err = invoke(capsys, "new", "bad name!", "--project-dir", str(project.root))
    assert code == 1 and "invalid migration name 'bad name!'" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run(["apply"])
    assert exc.value.code == 2
    assert "--db-url" in capsys.readouterr().err


def test_missing_project_dir_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = invoke(capsys, "check", "--project-dir", str(tmp_path))
    assert code == 1
    assert err.startswith(f"error: no supabase/ directory in {tmp_path}\nhint: run from the project root")


def test_check_reports_a_broken_migration_with_its_location(
    make_project: ProjectFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project({"1_ok.sql": "create table public.a (id int primary key);", "2_bad.sql": "\nselect 1 +;\n"})
    code, _, err = invoke(capsys, "check", "--project-dir", str(project.root))
    assert code == 1
    assert f"error: {project.migrations_dir / '2_bad.sql'}:2:11: 42601 syntax error at end of input" in err


def test_check_json_on_this_repository(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    code, out, _ = invoke(capsys, "check", "--project-dir", str(REPO), "--format", "json")
    data = json.loads(out)
    assert code == (0 if data["ok"] else 1)
    assert "20251101050000_research_sessions.sql" in data["applied"]
    # This repository's config.toml says 15; `make test-pg17` points SUPAMIGRATE_PG_BIN at 17.
    assert data["server_version"].startswith(f"{cli_server_major(15)}.")


def test_apply_on_a_plain_server_whose_superuser_is_postgres(
    plain_server: EphemeralServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with plain_server.connect(autocommit=True) as admin:
        admin.execute("create database app")
    url = plain_server.url("app", "postgres")
    code, out, err = invoke(capsys, "apply", "--db-url", url, "--project-dir", str(REPO))
    assert code == 0, err
    assert "Applied migration 20251101050000_research_sessions.sql" in out and "Seeded data from seed.sql" in out
    conninfo = plain_server.conninfo("app", "postgres")
    assert query(conninfo, "select rolsuper from pg_roles where rolname = 'postgres'") == [(True,)]
    assert query(conninfo, "select count(*) from public.research_sessions") == [(4,)]
    before = query(conninfo, "select count(*) from supabase_migrations.schema_migrations")
    code, out, _ = invoke(capsys, "apply", "--db-url", url, "--project-dir", str(REPO))
    assert code == 0 and "Remote database is up to date." in out
    assert query(conninfo, "select count(*) from supabase_migrations.schema_migrations") == before
    assert query(conninfo, "select count(*) from public.research_sessions") == [(4,)]


def test_apply_without_stub_on_an_empty_database_names_the_missing_schema(
    plain_server: EphemeralServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with plain_server.connect(autocommit=True) as admin:
        admin.execute("create database bare")
    url = plain_server.url("bare", "postgres")
    code, _, err = invoke(capsys, "apply", "--db-url", url, "--project-dir", str(REPO), "--no-stub")
    assert code == 1
    assert re.search(r"20251101050000_research_sessions\.sql:\d+:\d+: 3F000 schema \"auth\" does not exist", err)
    # The failed file left nothing behind.
    conninfo = plain_server.conninfo("bare", "postgres")
    assert query(conninfo, "select to_regclass('public.research_sessions')") == [(None,)]


def test_apply_refuses_a_remote_host_and_never_prints_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = invoke(capsys, "apply", "--db-url", "postgresql://app:s3cr3t@db.example.com/postgres")
    assert code == 1
    assert "refusing to write to a non-local database" in err and "--allow-remote" in err
    assert "s3cr3t" not in out + err and "***" in err


def unused_port() -> int:
    """A port nothing listens on: the kernel picks a free one, and the socket is closed again."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_unreachable_database_is_a_clear_error_without_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    closed = f"postgresql://app:s3cr3t@127.0.0.1:{unused_port()}/db"  # nothing listens there
    code, out, err = invoke(capsys, "apply", "--db-url", closed)
    assert code == 1
    assert "cannot connect to" in err and "password=***" in err
    assert "s3cr3t" not in out + err and "Traceback" not in err


def test_run_lets_an_interrupt_through_and_the_console_entry_turns_it_into_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from supamigrate import cli

    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setitem(cli.COMMANDS, "new", (cli.add_new, interrupted))
    with pytest.raises(KeyboardInterrupt):  # a caller that is interrupted (a test run) must stop
        cli.run(["new", "x"])
    assert cli.main(["new", "x"]) == 130
    assert capsys.readouterr().err.strip() == "interrupted"
