"""Settings: one table (SETTINGS) behind both faces and the README, one precedence, clear errors;
supamigrate.toml parsed into typed sections with one error format."""

from __future__ import annotations

import os
import pwd
import re
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from supamigrate import settings as st
from supamigrate.advisors import AdvisorSettings
from supamigrate.cache import Cache, default_root
from supamigrate.cli import build_parser, run
from supamigrate.errors import ProjectError, ServerError, SettingsError
from supamigrate.lint import lint
from supamigrate.platform.extensions import ExtensionPolicy
from supamigrate.project import Project
from supamigrate.server import EphemeralServer, ServerOptions, find_bindir
from supamigrate.settings import SETTINGS, Settings, resolve

REPO = Path(__file__).parents[2]
SRC = REPO / "src" / "supamigrate"

# -- the README table is the descriptors' table ---------------------------------------------------


def _cells(row: str) -> list[str]:
    return [c.strip() for c in row.strip().strip("|").split("|")]


def _codes(cell: str) -> tuple[str, ...]:
    return tuple(re.findall(r"`([^`]+)`", cell))


def test_the_readme_table_lists_every_setting_as_the_descriptors_do() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(st.README_HEADER)
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(_cells(line))
    readme = [(_codes(r[0]), _codes(r[1]), _codes(r[2]), _codes(r[3]), _codes(r[4]), r[5], r[6]) for r in rows]
    described = [
        ((s.name,), tuple(filter(None, [s.cli])), tuple(filter(None, [s.plugin_flag])),
         tuple(filter(None, [s.ini_key])), s.env, s.default_text, s.help)
        for s in SETTINGS
    ]
    assert readme == described
    assert "\n".join(lines[start : start + 2 + len(rows)]) == st.markdown_table()


def test_every_setting_is_a_field_of_settings_with_its_default() -> None:
    defaults = Settings()
    for s in SETTINGS:
        if s.name != "project_dir":  # its default is the face's: "." or pytest's rootdir
            assert getattr(defaults, s.field) == s.default, s.name


def test_the_plugin_offers_every_plugin_setting_as_option_and_ini_key(pytester: pytest.Pytester) -> None:
    out = pytester.runpytest_inprocess("--help").stdout.str()
    for s in SETTINGS:
        if s.plugin:
            assert re.search(rf"{s.plugin_flag}(?![\w-])", out), s.name
            assert re.search(rf"^  {s.ini_key} ", out, flags=re.MULTILINE), s.name
            assert all(var in out for var in s.env), s.name
        else:
            assert f"--supamigrate-{s.name.replace('_', '-')}" not in out


def test_the_cli_commands_take_the_shared_flags_from_the_table() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    expected = {
        "check": {"project_dir", "statement_timeout", "pg_bin", "cache", "fail_on", "pgdelta"},
        "diff": {"project_dir", "statement_timeout", "pg_bin", "cache", "pgdelta"},
        "apply": {"project_dir", "statement_timeout", "seed"},
        "new": {"project_dir"},
        "dump": {"project_dir", "statement_timeout", "pg_bin"},
        "preflight": {"project_dir", "fail_on"},
        "lint": {"project_dir", "pg_bin"},
        "cache": set(),
    }
    for command, names in expected.items():
        command_parser = sub.choices[command]  # type: ignore[index]
        dests = [a.dest for a in command_parser._actions]
        taken = {d.removeprefix("supamigrate_") for d in dests if d.startswith("supamigrate_")}
        assert taken == names, command
        for name in names:
            flag = st.BY_NAME[name].cli
            assert any(flag in a.option_strings for a in command_parser._actions), (command, flag)


# -- precedence: argument > option > environment > ini > supamigrate.toml > default -------------


def test_each_source_wins_over_the_ones_below_it(tmp_path: Path) -> None:
    (tmp_path / "supamigrate.toml").write_text("[settings]\nstatement_timeout = 5\n")
    layers = {
        "arguments": {"statement_timeout": 1},
        "options": {"statement_timeout": "2"},
        "environ": {"SUPAMIGRATE_STATEMENT_TIMEOUT": "3"},
        "ini": {"statement_timeout": "4"},
    }
    seen = []
    for dropped in range(len(layers) + 1):
        given = dict(list(layers.items())[dropped:])
        seen.append(resolve(defaults={"project_dir": tmp_path}, **given).statement_timeout_ms)  # type: ignore[arg-type]
    assert seen == [1, 2, 3, 4, 5]
    (tmp_path / "supamigrate.toml").unlink()
    assert resolve(defaults={"project_dir": tmp_path}).statement_timeout_ms is None


def test_run_dir_takes_its_own_variable_over_tmpdir(tmp_path: Path) -> None:
    both = {"SUPAMIGRATE_RUN_DIR": "/a", "TMPDIR": "/b"}
    assert resolve(environ=both, project_file=False).run_dir == Path("/a")
    assert resolve(environ={"TMPDIR": "/b"}, project_file=False).run_dir == Path("/b")
    assert resolve(environ={"SUPAMIGRATE_RUN_DIR": ""}, project_file=False).run_dir is None


def test_paths_in_supamigrate_toml_are_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "supamigrate.toml").write_text('[settings]\ncache_dir = "cache"\ncache = false\nseed = "no"\n')
    got = resolve(defaults={"project_dir": tmp_path})
    assert (got.cache_dir, got.cache, got.seed) == (tmp_path / "cache", False, False)


def test_plugin_settings_come_from_option_env_ini_in_that_order(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeini(
        "[pytest]\nsupamigrate_statement_timeout = 40\nsupamigrate_cache = off\nsupamigrate_pg_bin = /ini\n"
    )
    pytester.makepyfile(
        textwrap.dedent(
            """
            def test_settings(supamigrate_settings, pytestconfig):
                s = supamigrate_settings
                print("SEEN", s.statement_timeout_ms, s.cache, s.pg_bin, s.seed, s.project_dir == pytestconfig.rootpath)
            """
        )
    )
    monkeypatch.setenv("SUPAMIGRATE_STATEMENT_TIMEOUT", "30")
    monkeypatch.setenv("SUPAMIGRATE_PG_BIN", "/env")
    result = pytester.runpytest_inprocess("-s", "-p", "no:cacheprovider", "--supamigrate-pg-bin", "/option")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*SEEN 30 False /option True True*"])


def test_a_bad_value_in_the_ini_file_is_a_usage_error_naming_the_file_and_key(pytester: pytest.Pytester) -> None:
    ini = pytester.makeini("[pytest]\nsupamigrate_seed = perhaps\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"{ini}: ini key supamigrate_seed: expected a boolean (1/true/yes/on or 0/false/no/off), got 'perhaps'" in (
        result.stderr.str()
    )


def test_a_bad_environment_variable_is_a_cli_usage_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "supabase").mkdir()
    monkeypatch.setenv("SUPAMIGRATE_STATEMENT_TIMEOUT", "soon")
    assert run(["new", "x", "--project-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("supamigrate new: error: environment variable SUPAMIGRATE_STATEMENT_TIMEOUT:"
                          " expected a whole number of milliseconds (0 or more), got 'soon'")
    assert not (tmp_path / "supabase" / "migrations").exists()


def test_a_bad_flag_value_is_an_argparse_usage_error_naming_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run(["check", "--statement-timeout", "-5"])
    assert exited.value.code == 2
    assert "argument --statement-timeout: expected a whole number of milliseconds (0 or more), got '-5'" in (
        capsys.readouterr().err
    )


def test_the_cli_flag_wins_over_the_environment_and_the_environment_over_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    by_env, by_flag = tmp_path / "env", tmp_path / "flag"
    for root in (by_env, by_flag):
        (root / "supabase").mkdir(parents=True)
    monkeypatch.setenv("SUPAMIGRATE_PROJECT_DIR", str(by_env))
    assert run(["new", "from_env"]) == 0
    assert run(["new", "from_flag", "--project-dir", str(by_flag)]) == 0
    capsys.readouterr()
    assert [p.name.split("_", 1)[1] for p in (by_env / "supabase" / "migrations").iterdir()] == ["from_env.sql"]
    assert [p.name.split("_", 1)[1] for p in (by_flag / "supabase" / "migrations").iterdir()] == ["from_flag.sql"]


def test_unknown_boolean_words_and_unknown_names_are_refused() -> None:
    with pytest.raises(SettingsError, match=r"^environment variable SUPAMIGRATE_CACHE: expected a boolean"):
        resolve(environ={"SUPAMIGRATE_CACHE": "maybe"}, project_file=False)
    with pytest.raises(SettingsError, match="unknown setting"):
        resolve(arguments={"statement_timeout_ms": 3}, project_file=False)
    with pytest.raises(SettingsError, match=r"^--fail-on: expected one of error, warning, none, got 'all'"):
        resolve(options={"fail_on": "all"}, option_names={"fail_on": "--fail-on"}, project_file=False)


# -- the core reads no setting from the environment ----------------------------------------------


def test_no_core_module_reads_a_settings_variable_from_the_environment() -> None:
    faces = {SRC / "cli.py", SRC / "plugin.py", SRC / "settings.py"}
    variables = {var for s in SETTINGS for var in s.env}
    readers = []
    for path in SRC.rglob("*.py"):
        if path in faces:
            continue
        text = path.read_text(encoding="utf-8")
        for var in variables:
            if re.search(rf"(environ|getenv)\W+[^\n]*[\"']{var}[\"']", text):
                readers.append(f"{path.relative_to(SRC)}: {var}")
    assert readers == []


def test_the_core_takes_pg_bin_and_cache_dir_as_parameters_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SUPAMIGRATE_CACHE_DIR", str(tmp_path / "from_env"))
    monkeypatch.setenv("SUPAMIGRATE_PG_BIN", str(tmp_path / "no_binaries_here"))
    assert default_root() != tmp_path / "from_env"
    assert find_bindir().is_dir()  # the variable is the faces' business, not the core's
    settings = resolve(environ=os.environ, project_file=False)
    assert Cache(settings.cache_dir).root == tmp_path / "from_env"
    with pytest.raises(ServerError, match="no PostgreSQL server binaries"):
        find_bindir(settings.pg_bin)


def test_the_os_user_setting_reaches_the_server() -> None:
    settings = resolve(environ={"SUPAMIGRATE_OS_USER": "nobody"}, project_file=False)
    with EphemeralServer(ServerOptions(os_user=settings.os_user)) as server, server.connect() as conn:
        owner = pwd.getpwuid(server.datadir.stat().st_uid).pw_name
        answer = conn.execute("select 1").fetchone()
    # Only under root does the server run as another user; an ordinary user's runs as that user.
    expected = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    assert (owner, answer) == (expected, (1,))


# -- supamigrate.toml: typed sections, one error format -------------------------------------------

FORMAT = r"^{path}: \[{section}\] {key}: expected .+, got .+$"


def _project(tmp_path: Path, toml: str) -> Path:
    (tmp_path / "supabase").mkdir(parents=True, exist_ok=True)
    (tmp_path / "supamigrate.toml").write_text(toml)
    return tmp_path


def test_the_sections_are_typed_on_the_project(tmp_path: Path) -> None:
    root = _project(tmp_path, '[platform]\nshims = ["pg_net"]\n[lint]\ndisable = ["SB014"]\n'
                              '[advisors]\nignore = ["no_primary_key:public.t"]\n')
    tool = Project.load(root).tool
    assert (tool.platform.shims, tool.lint.disable, tool.advisors.disable, tool.advisors.ignore) == (
        ("pg_net",), ("SB014",), (), ("no_primary_key:public.t",)
    )
    assert Project.load(_project(tmp_path / "empty", "")).tool.lint.disable == ()


@pytest.mark.parametrize(
    ("toml", "section", "key", "hint"),
    [
        ("[plaform]\nshims = []\n", "plaform", "", "[platform], [lint], [advisors], [migrations], [smoke], [settings]"),
        ("[lint]\nenable = []\n", "lint", "enable", "[lint] takes disable"),
        ('[lint]\ndisable = "SB014"\n', "lint", "disable", "[lint] takes disable"),
        ("[advisors]\nignore = [1]\n", "advisors", "ignore", "[advisors] takes disable, ignore"),
        ("platform = 3\n", "platform", "", "[platform]"),
    ],
    ids=["unknown-section", "unknown-key", "not-a-list", "not-strings", "not-a-table"],
)
def test_structure_errors_name_the_file_the_key_and_what_was_expected(
    tmp_path: Path, toml: str, section: str, key: str, hint: str
) -> None:
    root = _project(tmp_path, toml)
    with pytest.raises(ProjectError) as failed:
        Project.load(root)
    pattern = FORMAT.format(path=re.escape(str(root / "supamigrate.toml")), section=section, key=key)
    if not key:
        pattern = pattern.replace(r"\] : ", r"\]: ")
    assert re.match(pattern, failed.value.message), failed.value.message
    assert failed.value.hint is not None and hint in failed.value.hint


def test_unknown_names_are_reported_in_the_same_format_by_the_layer_that_knows_them(tmp_path: Path) -> None:
    path = re.escape(str(tmp_path / "supamigrate.toml"))
    cases: list[tuple[str, str, str, Callable[[Project], object], str, str]] = [
        ('[platform]\nshims = ["pg_net", "timescaledb"]\n', "platform", "shims",
         ExtensionPolicy.for_project, "timescaledb", "pg_net"),
        ('[lint]\ndisable = ["SB999"]\n', "lint", "disable",
         lambda p: lint(p, sqlfluff=False), "unknown rules: SB999", "SB014"),
        ('[advisors]\nignore = ["no_such_advisor:public.t"]\n', "advisors", "ignore",
         AdvisorSettings.from_project, "no_such_advisor", "no_primary_key"),
    ]
    for toml, section, key, consumer, named, known in cases:
        project = Project.load(_project(tmp_path, toml))
        with pytest.raises(ProjectError) as failed:
            consumer(project)
        assert re.match(FORMAT.format(path=path, section=section, key=key), failed.value.message)
        assert named in failed.value.message
        assert failed.value.hint is not None and known in failed.value.hint


def test_a_bad_settings_value_in_supamigrate_toml_names_the_file_and_key(tmp_path: Path) -> None:
    root = _project(tmp_path, "[settings]\nstatement_timeout = true\n")
    with pytest.raises(SettingsError) as failed:
        resolve(defaults={"project_dir": root})
    assert re.match(
        FORMAT.format(path=re.escape(str(root / "supamigrate.toml")), section="settings", key="statement_timeout"),
        failed.value.message,
    )
    _project(tmp_path, '[settings]\nproject_dir = "elsewhere"\n')
    with pytest.raises(ProjectError, match=r"\[settings\] project_dir: expected a known key"):
        resolve(defaults={"project_dir": root})
