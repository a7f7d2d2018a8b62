"""A new user's first minutes: `--version`, each command's `--help`, the project found from a
subdirectory as the Supabase CLI finds it, and errors that name options as the face spells them."""

from __future__ import annotations

import importlib.metadata
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import supamigrate
from supamigrate.cli import COMMANDS, build_parser, run
from supamigrate.project import find_root
from supamigrate.settings import as_plugin_spells, resolve

from .conftest import ProjectFactory

SCRIPT = Path(sys.executable).with_name("supamigrate")


def test_version_is_the_packages(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"supamigrate {supamigrate.__version__}"
    # One version: pyproject.toml reads it from the package.
    assert importlib.metadata.version("supamigrate") == supamigrate.__version__


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_commands_help_has_a_description_an_example_and_the_exit_codes(command: str) -> None:
    out = subprocess.run([str(SCRIPT), command, "--help"], capture_output=True, text=True, check=True).stdout
    usage, description, *_ = out.split("\n\n")
    assert usage.startswith(f"usage: supamigrate {command}")
    first = " ".join(description.split())  # the one-line description (wrapped where it is long)
    assert first[0].isupper() and first.endswith("."), first
    example = out.split("example:\n", 1)[1].split("\n\n", 1)[0]
    assert example.strip().startswith(f"supamigrate {command}"), out
    # The example parses: it is a real invocation, not prose.
    assert build_parser().parse_args(shlex.split(example)[1:]).command == command
    codes = out.split("exit codes:\n", 1)[1].splitlines()
    assert [c.split()[0] for c in codes if c.strip()][:3] == ["0", "1", "2"], out


def test_the_top_level_help_lists_every_command_and_says_how_the_project_is_found() -> None:
    out = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, check=True).stdout
    for command in COMMANDS:
        assert re.search(rf"^    {command}\b", out, re.MULTILINE), command
    assert "supabase/config.toml" in out and "--version" in out


def healthy(make_project: ProjectFactory) -> Path:
    project = make_project({"1_a.sql": "create table public.a (id int primary key);\n"
                            "alter table public.a enable row level security;\n"})
    return project.root


def test_the_project_is_the_nearest_ancestor_holding_supabase_config(make_project: ProjectFactory) -> None:
    root = healthy(make_project)
    deep = root / "supabase" / "migrations"
    assert find_root(deep) == root
    assert find_root(root) == root
    other = root.parent / "not-a-project"
    other.mkdir()
    assert find_root(other) == other  # none found: the start, as the CLI does
    assert resolve(defaults={"project_dir": deep}).project_dir == root
    # Named explicitly, it is taken as it is.
    assert resolve(options={"project_dir": str(deep)}, defaults={"project_dir": deep}).project_dir == deep
    assert resolve(environ={"SUPAMIGRATE_PROJECT_DIR": str(other)}, defaults={"project_dir": deep}).project_dir == other


def test_check_runs_from_a_subdirectory_and_project_dir_still_wins(make_project: ProjectFactory) -> None:
    root = healthy(make_project)
    env = {k: v for k, v in os.environ.items() if k != "SUPAMIGRATE_PROJECT_DIR"}
    sub = subprocess.run([str(SCRIPT), "check"], cwd=root / "supabase" / "migrations", env=env,
                         capture_output=True, text=True)
    assert sub.returncode == 0, sub.stdout + sub.stderr
    assert "1_a.sql" in sub.stdout
    empty = root.parent / "empty"
    empty.mkdir()
    wins = subprocess.run([str(SCRIPT), "check", "--project-dir", str(empty)], cwd=root, env=env,
                          capture_output=True, text=True)
    assert wins.returncode == 1
    assert wins.stderr.count(f"no supabase/ directory in {empty}") == 1, wins.stderr
    assert "--project-dir" in wins.stderr and "--supamigrate-project-dir" not in wins.stderr


def test_core_messages_name_the_plugins_options() -> None:
    text = "pass --project-dir, or --pg-bin DIR; --no-cache; a server that has it (--db-url); --format json"
    assert as_plugin_spells(text) == (
        "pass --supamigrate-project-dir, or --supamigrate-pg-bin DIR; --supamigrate-cache=false;"
        " a server that has it (--supamigrate-db-url); --format json"
    )


def test_pytest_names_its_own_option_and_says_it_once(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app="def test_one(db):\n    pass\n\ndef test_two(db):\n    pass\n")
    missing = pytester.path / "nowhere"
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--supamigrate-project-dir={missing}")
    out = result.stdout.str()
    assert result.ret == 1
    assert "pass --supamigrate-project-dir" in out and "pass --project-dir" not in out, out
    # Once: not twice in a test ("During handling of the above exception ..."), and the second test
    # points to the first instead of repeating it.
    # (pytest's own short summary repeats each error's first lines, in full when CI is set)
    errors = out.split("short test summary info")[0]
    assert errors.count(f"no supabase/ directory in {missing}\n") == 1, out
    assert "During handling" not in out, out
    assert "the supamigrate error shown at setup of test_app.py::test_one" in out, out
    assert result.parseoutcomes() == {"errors": 2}


def test_pytest_finds_the_project_above_its_rootdir(make_project: ProjectFactory) -> None:
    root = healthy(make_project)
    tests = root / "supabase" / "tests" / "py"
    tests.mkdir(parents=True)
    (tests / "test_a.py").write_text(
        "def test_a_exists(db):\n    assert db.execute(\"select to_regclass('public.a')\").fetchone() == ('a',)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "SUPAMIGRATE_PROJECT_DIR"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tests,
                            env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


SEEDED = """project_id = "seeded"
[db.seed]
enabled = true
sql_paths = ["./seeds/*.sql", "./data/countries.sql"]
"""


def test_seed_paths_that_match_nothing_and_a_seed_sql_left_out_are_warnings_naming_them(
    make_project: ProjectFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project({"1_a.sql": "create table public.a (id int primary key);\n"
                            "alter table public.a enable row level security;\n"}, config=SEEDED)
    (project.supabase_dir / "seeds").mkdir()
    (project.supabase_dir / "seeds" / "01_a.sql").write_text("insert into public.a values (1);\n")
    (project.supabase_dir / "seed.sql").write_text("insert into public.a values (2);\n")
    assert project.seed_warnings() == (
        "no seed file matches './data/countries.sql' of [db.seed] sql_paths in supabase/config.toml",
        "supabase/seed.sql is not run: [db.seed] sql_paths in supabase/config.toml does not name it",
    )
    code = run(["check", "--project-dir", str(project.root), "--format", "json"])
    import json

    data = json.loads(capsys.readouterr().out)
    assert code == 0
    seeds = [f["message"] for f in data["findings"] if f["code"] == "seed-files"]
    assert seeds == list(project.seed_warnings())
    assert all(f["level"] == "warning" for f in data["findings"] if f["code"] == "seed-files")
    # The default pattern with no seed.sql is a project without a seed: nothing to say.
    (project.supabase_dir / "config.toml").write_text('project_id = "seeded"\n')
    (project.supabase_dir / "seed.sql").unlink()
    assert type(project).load(project.root).seed_warnings() == ()


def test_pytest_warns_of_a_seed_path_that_matches_nothing(pytester: pytest.Pytester) -> None:
    (pytester.path / "supabase" / "migrations").mkdir(parents=True)
    (pytester.path / "supabase" / "config.toml").write_text(SEEDED)
    pytester.makepyfile(test_app="def test_one(db):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()
    out = result.stdout.str()
    assert "SupamigrateWarning: no seed file matches './seeds/*.sql'" in out, out


def test_pytest_finds_the_project_from_where_it_was_started_in_a_monorepo(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    # The ini file (and so pytest's rootdir) is at the top of the repository; the Supabase project
    # is a folder of it, as in a monorepo. Started inside that folder, pytest finds it.
    repo = tmp_path / "monorepo"
    repo.mkdir()
    (repo / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "-p no:cacheprovider"\n')
    backend = repo / "backend"
    shutil.move(healthy(make_project), backend)
    (backend / "test_backend.py").write_text(
        "def test_a_exists(db):\n    assert db.execute(\"select to_regclass('public.a')\").fetchone() == ('a',)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "SUPAMIGRATE_PROJECT_DIR"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q"], cwd=backend, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_a_stopped_server_leaves_no_defunct_postmaster_behind() -> None:
    """pg_ctl leaves the postmaster parentless; where PID 1 collects no exits (this machine's
    init) it stayed a <defunct> entry after every run, unless the run reaps it itself."""
    from supamigrate.server import EphemeralServer
    from supamigrate.server.rundirs import postmaster_pid

    server = EphemeralServer().start()
    pid = postmaster_pid(server.datadir)
    assert pid is not None and Path(f"/proc/{pid}").exists()
    server.stop()
    assert not Path(f"/proc/{pid}").exists()
