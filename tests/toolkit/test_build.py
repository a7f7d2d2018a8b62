"""One build path: every command that builds the project gets the server its extensions need.

The pg_cron project is the proof: the real pg_cron must be preloaded for the database it is created
in, so a command that starts its server another way fails with "pg_cron is installed but not
preloaded". ``check`` once passed while ``dump`` and ``lint --plpgsql`` failed on it.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import supamigrate
from supamigrate.cli import run
from supamigrate.errors import ServerError
from supamigrate.server import EphemeralServer, ServerOptions

from .platform_projects import copy_project

SRC = Path(supamigrate.__file__).resolve().parent
NOT_PRELOADED = "pg_cron is installed but not preloaded"


@pytest.fixture
def cron_project(tmp_path: Path) -> Path:
    return copy_project("pg_cron_real", tmp_path)


def invoke(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.pg_cron
def test_check_builds_the_pg_cron_project(cron_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = invoke(capsys, "check", "--project-dir", str(cron_project))
    assert (code, NOT_PRELOADED in err) == (0, False), out + err
    assert "migrations applied: 1" in out


@pytest.mark.pg_cron
def test_dump_writes_the_pg_cron_projects_snapshot_and_dump_check_agrees(
    cron_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = invoke(capsys, "dump", "--project-dir", str(cron_project))
    assert (code, NOT_PRELOADED in err) == (0, False), out + err
    snapshot = (cron_project / "supabase" / "schema.sql").read_text()
    assert "CREATE TABLE public.sessions_log" in snapshot
    code, out, err = invoke(capsys, "dump", "--check", "--project-dir", str(cron_project))
    assert (code, out.strip()) == (0, f"{cron_project / 'supabase' / 'schema.sql'}: up to date"), err
    # check compares the same snapshot with its own build: the two paths build the same schema.
    code, out, err = invoke(capsys, "check", "--project-dir", str(cron_project))
    assert code == 0 and "schema-snapshot-stale" not in out, out + err


@pytest.mark.pg_cron
@pytest.mark.plpgsql_check
def test_lint_plpgsql_builds_the_pg_cron_project(cron_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = invoke(capsys, "lint", "--plpgsql", "--project-dir", str(cron_project))
    assert (code, NOT_PRELOADED in err) == (0, False), out + err
    assert "function(s) checked, 0 problem(s)" in out


@pytest.mark.pg_cron
def test_the_plugin_builds_the_pg_cron_project_with_the_real_extension(
    cron_project: Path, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(
        textwrap.dedent(
            """
            def test_the_job_is_scheduled_by_the_real_pg_cron(db):
                real = db.execute("select extversion from pg_extension where extname = 'pg_cron'").fetchone()
                shimmed = db.execute("select count(*) from supamigrate.shims where name = 'pg_cron'").fetchone()
                jobs = db.execute("select jobname, schedule from cron.job").fetchall()
                assert real is not None and real[0]
                assert shimmed == (0,)
                assert jobs == [("purge-sessions-log", "30 3 * * *")]
            """
        )
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-o", f"supamigrate_project_dir={cron_project}"
    )
    result.assert_outcomes(passed=1)


# -- the directions data flows ------------------------------------------------------------------


def imported_by(module: str) -> set[str]:
    """The supamigrate modules a fresh interpreter has loaded after importing ``module``."""
    probe = f"import sys, {module}; print(' '.join(m for m in sys.modules if m.startswith('supamigrate')))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_the_server_package_knows_nothing_of_the_platform() -> None:
    loaded = imported_by("supamigrate.server")
    assert "supamigrate.server.ephemeral" in loaded  # the probe sees what the package pulls in
    assert sorted(m for m in loaded if m.startswith("supamigrate.platform")) == []


def test_static_lint_knows_nothing_of_servers_or_the_cache() -> None:
    # The sqlfluff runner is imported only when linting: load it too, as a lint run does.
    loaded = imported_by("supamigrate.lint.linter, supamigrate.lint.sqlfluff_runner")
    assert "supamigrate.lint.sqlfluff_runner" in loaded
    assert sorted(m for m in loaded if m.startswith(("supamigrate.server", "supamigrate.cache"))) == []


def environment_reads(path: Path) -> list[str]:
    """``os.environ`` / ``os.getenv`` uses in a module's source, as ``file:line``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
            found.append(f"{path.relative_to(SRC)}:{node.lineno}")
    return found


def test_the_server_package_and_the_build_read_no_environment() -> None:
    modules = [*sorted((SRC / "server").glob("*.py")), SRC / "build.py", SRC / "cache.py"]
    # The one use allowed: initdb runs with the caller's environment (PATH, locale), not read for settings.
    reads = [r for m in modules for r in environment_reads(m)]
    assert reads == ["server/pgctl.py:" + str(_initdb_env_line())]


def _initdb_env_line() -> int:
    source = (SRC / "server" / "pgctl.py").read_text().splitlines()
    return next(i for i, line in enumerate(source, 1) if "env={**os.environ" in line)


def test_a_run_directory_that_cannot_be_made_names_the_variable_that_moves_it(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(ServerError) as failed:
        EphemeralServer(ServerOptions(tmp_root=not_a_dir)).start()
    assert failed.value.hint == "free disk space there or set SUPAMIGRATE_RUN_DIR to a writable directory"
