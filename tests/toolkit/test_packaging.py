"""What an installed supamigrate brings into a process and a user's pytest session.

Not timed (`make bench` times them): which modules an import or ``--help`` loads, which fixtures
and options a user's ``pytest --fixtures`` / ``--help`` lists, and the package's public names.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import supamigrate
from supamigrate import cli, plpgsql
from supamigrate.findings import FAIL_ON

# Run in a fresh interpreter: prints the top-level packages of the listed heavy ones it has loaded.
LOADED = """
import json, sys
{code}
heavy = {{"sqlfluff", "psycopg", "pglast", "mirakuru", "psutil", "pytest_postgresql", "packaging"}}
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & heavy)))
"""


def loaded_after(code: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", LOADED.format(code=code)], capture_output=True, text=True, check=True
    ).stdout
    loaded: list[str] = json.loads(out.splitlines()[-1])
    return loaded


def test_importing_the_plugin_loads_no_sqlfluff_nor_mirakuru() -> None:
    # sqlfluff waits until a lint runs, mirakuru (psutil) until a server starts, and psycopg and
    # pglast until a fixture or a pgTAP file needs the core: pytest imports every plugin, also for
    # runs that never touch a database.
    assert loaded_after("import supamigrate.plugin") == []


def test_the_plugin_knows_pgtaps_suffixes() -> None:
    from supamigrate import pgtap, plugin

    assert plugin.PGTAP_SUFFIXES == pgtap.TEST_SUFFIXES


def test_cli_help_loads_none_of_the_core() -> None:
    code = "from supamigrate.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    # None today; psycopg would still be within the target (no more than `import pytest, psycopg`)
    # should the errors module ever need it, but nothing else heavy would.
    assert set(loaded_after(code)) <= {"psycopg"}
    # The console script itself, as a user runs it.
    script = Path(sys.executable).with_name("supamigrate")
    out = subprocess.run([str(script), "lint", "--help"], capture_output=True, text=True, check=True).stdout
    assert "--plpgsql" in out and "--fail-on {none,warning,error}" in out


def test_importing_the_package_loads_nothing_heavy() -> None:
    assert loaded_after("import supamigrate") == []


def test_plpgsql_choices_of_the_cli_are_plpgsqls_own() -> None:
    assert cli.PLPGSQL_LEVELS == plpgsql.LEVELS
    assert sorted(cli.PLPGSQL_FAIL_ON) == sorted(FAIL_ON)


def test_every_public_name_resolves() -> None:
    for name in supamigrate.__all__:
        value = getattr(supamigrate, name)
        assert value is not None, name
        if name != "__version__":
            assert value.__module__.startswith("supamigrate."), (name, value.__module__)
    assert set(supamigrate.__all__) == {*supamigrate._EXPORTS, "__version__"}
    assert set(supamigrate.__all__) <= set(dir(supamigrate))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        getattr(supamigrate, "nothing_here")  # noqa: B009


ORDERS = """
import json, sys
{first}
import supamigrate
import supamigrate.lint, supamigrate.dump, supamigrate.preflight
from supamigrate import lint, dump, preflight
from supamigrate.lint import RULES
names = (supamigrate.lint, supamigrate.dump, supamigrate.preflight, lint, dump, preflight)
print(json.dumps([f.__module__ for f in names] + [callable(supamigrate.check), bool(RULES)]))
"""


@pytest.mark.parametrize(
    "first",
    ["", "import supamigrate.lint.linter, supamigrate.dump, supamigrate.preflight", "from supamigrate import commands"],
)
def test_commands_named_like_their_module_are_the_functions_whatever_was_imported_first(first: str) -> None:
    out = subprocess.run([sys.executable, "-c", ORDERS.format(first=first)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    modules = json.loads(out.stdout)
    functions = ["supamigrate.lint.linter", "supamigrate.commands", "supamigrate.preflight.run"]
    assert modules == functions * 2 + [True, True]


def test_pytest_postgresql_is_not_a_dependency() -> None:
    requires = importlib.metadata.requires("supamigrate") or []
    assert not [r for r in requires if r.lower().replace("_", "-").startswith("pytest-postgresql")]
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution("pytest-postgresql")


OURS_FIXTURES = ("db", "fresh_db", "make_user", "as_user", "as_anon", "as_service_role", "catalog")
THEIRS_FIXTURES = ("postgresql_proc", "postgresql_noproc", "postgresql")


def test_a_users_pytest_lists_only_supamigrates_fixtures_and_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app="def test_nothing(db):\n    pass\n")
    fixtures = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")
    assert fixtures.ret == 0, fixtures.stderr.str()
    listed = {line.split()[0] for line in fixtures.outlines if line and not line[0].isspace() and " -- " in line}
    assert set(OURS_FIXTURES) <= listed, fixtures.stdout.str()
    assert not listed & set(THEIRS_FIXTURES), fixtures.stdout.str()

    help_ = pytester.runpytest_subprocess("--help", "-p", "no:cacheprovider")
    assert help_.ret == 0, help_.stderr.str()
    text = help_.stdout.str()
    assert "--supamigrate-project-dir" in text and "supamigrate_db_url" in text
    # pytest-postgresql's would be a "postgresql" group of --postgresql-* options and postgresql_* ini keys.
    theirs = re.compile(r"--postgresql-|\bpostgresql_[a-z]|^postgresql:", re.IGNORECASE)
    assert not [line for line in help_.outlines if theirs.search(line)], text


# -- the published package: sdist and wheel, installed with no dev extras ---------------------------

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "supamigrate"
NOTES = Path(__file__).parent / "fixtures" / "adopt" / "notes"
DEV_ONLY = ("ruff", "mypy", "zizmor", "check-jsonschema", "pre-commit", "hypothesis", "build", "twine")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and wheel as the release workflow builds them (`python -m build`), from a copy of
    the source so the checkout is left as it was."""
    work = tmp_path_factory.mktemp("dist")
    source = work / "source"
    shutil.copytree(REPO / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md"):
        shutil.copy(REPO / name, source / name)
    out = work / "out"
    built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(source)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    return out


@pytest.fixture(scope="module")
def fresh_venv(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with only the wheel and its dependencies (no dev extras): its bin/."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    (wheel,) = dist.glob("*.whl")
    installed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
                               capture_output=True, text=True, timeout=900)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return venv / "bin"


def test_twine_accepts_the_sdist_and_the_wheel(dist: Path) -> None:
    files = sorted(str(p) for p in dist.iterdir())
    assert sorted(Path(f).suffix for f in files) == [".gz", ".whl"], files
    checked = subprocess.run([sys.executable, "-m", "twine", "check", "--strict", *files],
                             capture_output=True, text=True, timeout=300)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_wheel_holds_every_file_the_package_reads_at_run_time(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        metadata = next(z.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    on_disk = {
        str(p.relative_to(PACKAGE.parent))
        for p in PACKAGE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert on_disk - names == set()
    for stub in ("supamigrate/platform/sql/20_auth.sql", "supamigrate/templates/supamigrate.yml.tmpl"):
        assert stub in names
    for field in ("Summary: ", "License-Expression: MIT", "Requires-Python: >=3.11", "Keywords: ",
                  "Classifier: Framework :: Pytest", "Requires-Dist: pytest-xdist"):
        assert field in metadata, field


def test_the_wheel_in_a_fresh_venv_runs_init_check_and_pytest_with_workers(fresh_venv: Path, tmp_path: Path) -> None:
    listed = subprocess.run([str(fresh_venv / "python"), "-m", "pip", "list", "--format", "json"],
                            capture_output=True, text=True, check=True).stdout
    names = {d["name"].lower() for d in json.loads(listed)}
    assert "supamigrate" in names and "pytest-xdist" in names
    assert names & set(DEV_ONLY) == set(), names & set(DEV_ONLY)

    env = {k: v for k, v in os.environ.items() if k not in ("SUPAMIGRATE_PROJECT_DIR", "VIRTUAL_ENV")}
    env["PATH"] = f"{fresh_venv}{os.pathsep}{env.get('PATH', '')}"
    version = subprocess.run([str(fresh_venv / "supamigrate"), "--version"], capture_output=True, text=True, env=env)
    assert version.stdout.strip() == f"supamigrate {supamigrate.__version__}"

    root = tmp_path / "notes"
    shutil.copytree(NOTES, root)

    def supamigrate_(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(fresh_venv / "supamigrate"), *args], cwd=root, env=env,
                              capture_output=True, text=True, timeout=600)

    for args in (("init",), ("check",)):
        done = supamigrate_(*args)
        assert done.returncode == 0, (args, done.stdout + done.stderr)
    tests = subprocess.run([str(fresh_venv / "python"), "-m", "pytest", "-n", "2", "-p", "no:cacheprovider"],
                           cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "4 passed" in tests.stdout, tests.stdout
