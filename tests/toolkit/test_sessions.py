"""Whole pytest sessions in a subprocess: against an existing server, and split across xdist workers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from supamigrate.server import EphemeralServer, ServerOptions

REPO = Path(__file__).resolve().parents[2]


def pytest_run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=REPO,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc.returncode, proc.stdout + proc.stderr


def passed(output: str) -> int:
    m = re.search(r"(\d+) passed", output)
    assert m, output
    assert not re.search(r"\d+ (failed|skipped|error)", output), output
    return int(m.group(1))


def test_the_suite_runs_on_an_existing_server_and_leaves_its_databases_alone() -> None:
    with EphemeralServer(ServerOptions(superuser="postgres")) as server:
        with server.connect(autocommit=True) as admin:
            admin.execute("create database shared")
        with server.connect("shared", "postgres") as conn:
            conn.execute("create table public.users (id int primary key, name text)")
            conn.execute("insert into public.users select g, 'other project' from generate_series(1, 153) g")
            conn.commit()
        code, output = pytest_run("tests/schema", "--supamigrate-db-url", server.url("shared", "postgres"))
        assert code == 0, output
        assert passed(output) > 50
        with server.connect() as conn:
            names = [r[0] for r in conn.execute("select datname from pg_database order by 1")]
        with server.connect("shared", "postgres") as conn:
            shared = conn.execute(
                "select count(*), to_regclass('supabase_migrations.schema_migrations') from public.users"
            ).fetchone()
    assert names == ["postgres", "shared", "template0", "template1"]  # only its own databases were dropped
    assert shared == (153, None)  # the named database itself was never written to


def test_xdist_workers_get_the_same_results_as_a_serial_run() -> None:
    code, serial = pytest_run("tests/schema")
    assert code == 0, serial
    code, parallel = pytest_run("tests/schema", "-n", "2")
    assert code == 0, parallel
    assert passed(parallel) == passed(serial)
    assert "bringing up nodes" in parallel
