"""What an installed supamigrate brings into a process and a user's pytest session.

Not timed (`make bench` times them): which modules an import or ``--help`` loads, which fixtures
and options a user's ``pytest --fixtures`` / ``--help`` lists, and the package's public names.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
import subprocess
import sys
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
