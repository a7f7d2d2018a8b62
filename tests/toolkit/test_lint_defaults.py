"""Lint defaults that judge migrations, not taste: the bundled sqlfluff settings, what a sqlfluff
finding counts as, a project's own .sqlfluff, SB003 on functions, SB001 on profiles tables, on a
project written the way public ones are (tests/toolkit/realistic.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supamigrate import cli
from supamigrate.findings import Level
from supamigrate.lint import lint
from supamigrate.lint.defaults import own_sqlfluff_config, sqlfluff_defaults, sqlfluff_defaults_path
from supamigrate.lint.findings import file_of
from supamigrate.project import Project

from .lintkit import at, make_project, rule_findings
from .realistic import APPLIED, countries_sql, write_teamwork

COUNTRIES = "20240103000000_countries.sql"


def sqlfluff_of(project: Project) -> list[tuple[str, str, str, int | None]]:
    return [
        (file_of(f).path.name, f.code, str(f.level), file_of(f).line)
        for f in lint(project, judge_all=True).findings
        if f.source == "sqlfluff"
    ]


def test_the_bundled_defaults_are_package_data_init_can_copy() -> None:
    path = sqlfluff_defaults_path()
    assert path.is_file() and path.name == "supabase.sqlfluff"
    assert path.parent == Path(__file__).resolve().parents[2] / "src" / "supamigrate" / "lint"
    text = sqlfluff_defaults()
    assert text == path.read_text(encoding="utf-8")
    assert "dialect = postgres" in text and "large_file_skip_byte_limit = 0" in text
    rules = next(line for line in text.splitlines() if line.startswith("rules = "))
    assert "LT" not in rules and "CP" not in rules and "RF06" not in rules


def test_a_real_style_project_has_no_style_findings_and_its_large_file_is_read(tmp_path: Path) -> None:
    # UPPERCASE, BEGIN/COMMIT, quoted identifiers, lines of 200 columns: no sqlfluff finding at all
    # (sqlfluff's own defaults gave RF06, LT05, RF05, LT02, CP04, LT01 here). A 28 kB generated file
    # is linted, not skipped: a real mistake at its end is found, on its line.
    mistake = "SELECT code FROM public.countries WHERE region = NULL;\n"
    project = write_teamwork(tmp_path, repository=False)
    assert own_sqlfluff_config(project.migrations_dir.glob("*.sql")) == []
    assert sqlfluff_of(project) == []
    big = countries_sql() + mistake
    assert len(big.encode()) > 20_000
    (project.migrations_dir / COUNTRIES).write_text(big, encoding="utf-8")
    assert sqlfluff_of(project) == [(COUNTRIES, "CV05", "warning", big.count("\n"))]


def test_sqlfluff_findings_are_errors_when_the_project_asks(tmp_path: Path) -> None:
    project = write_teamwork(tmp_path, repository=False)
    (project.migrations_dir / COUNTRIES).write_text(countries_sql() + "SELECT 1 WHERE 1 = NULL;\n")
    (tmp_path / "supamigrate.toml").write_text('[lint]\nsqlfluff_level = "error"\n')
    assert [(code, level) for _, code, level, _ in sqlfluff_of(Project.load(tmp_path))] == [("CV05", "error")]
    (tmp_path / "supamigrate.toml").write_text('[lint]\nsqlfluff_level = "loud"\n')
    with pytest.raises(Exception, match=r"\[lint\] sqlfluff_level: expected one of auto, warning, error"):
        Project.load(tmp_path)


def test_a_projects_own_sqlfluff_is_honoured_with_its_warnings(tmp_path: Path) -> None:
    # As sqlfluff's command line judges it: its rules are errors, those in `warnings =` warnings.
    project = write_teamwork(tmp_path, repository=False)
    (tmp_path / ".sqlfluff").write_text(
        "[sqlfluff]\ndialect = postgres\nrules = LT05, CV05\nwarnings = LT05\nmax_line_length = 100\n"
        "large_file_skip_byte_limit = 0\n"
    )
    (project.migrations_dir / COUNTRIES).write_text(countries_sql() + "SELECT 1 WHERE 1 = NULL;\n")
    found = sqlfluff_of(Project.load(tmp_path))
    assert {(code, level) for _, code, level, _ in found} == {("LT05", "warning"), ("CV05", "error")}
    (tmp_path / "supamigrate.toml").write_text('[lint]\nsqlfluff_level = "warning"\n')
    assert {level for _, _, level, _ in sqlfluff_of(Project.load(tmp_path))} == {"warning"}


def test_the_bundled_settings_copied_as_the_projects_sqlfluff_still_count_as_the_defaults(tmp_path: Path) -> None:
    # As `supamigrate init` writes them: findings stay warnings. Edited, they are the project's.
    project = write_teamwork(tmp_path, repository=False)
    (project.migrations_dir / COUNTRIES).write_text(countries_sql() + "SELECT 1 WHERE 1 = NULL;\n")
    (tmp_path / ".sqlfluff").write_text(sqlfluff_defaults(), encoding="utf-8")
    assert [(code, level) for _, code, level, _ in sqlfluff_of(project)] == [("CV05", "warning")]
    (tmp_path / ".sqlfluff").write_text(sqlfluff_defaults() + "# ours now\n", encoding="utf-8")
    assert [(code, level) for _, code, level, _ in sqlfluff_of(project)] == [("CV05", "error")]


def test_a_file_skipped_for_its_size_is_a_finding_not_a_log_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    project = write_teamwork(tmp_path, repository=False)
    (tmp_path / ".sqlfluff").write_text("[sqlfluff]\ndialect = postgres\n")  # sqlfluff's 20 kB limit
    found = sqlfluff_of(project)
    assert (COUNTRIES, "SKIP", "error", 1) in found
    assert "Skipping to avoid parser lock" not in capfd.readouterr().err


def test_sql_postgresql_parses_but_sqlfluff_does_not_is_at_most_a_warning(tmp_path: Path) -> None:
    # sqlfluff's postgres dialect does not know a dotted setting name; PostgreSQL does (no SB000).
    sql = "CREATE TABLE public.t (id INT PRIMARY KEY);\nALTER TABLE public.t ENABLE ROW LEVEL SECURITY;\n" \
          "SET LOCAL request.jwt.claims TO '{}';\n"
    broken = "select 1;\ncreate tabel notes (id int);\n"
    project = make_project(tmp_path, [sql], tests={"broken_test.sql": broken})  # this repo's .sqlfluff
    found = {(file_of(f).path.name, f.code): f.level for f in lint(project).findings}
    assert found[("20240101000001_m1.sql", "PRS")] == Level.WARNING
    # Neither parser reads it, and no SB000 covers a test file: sqlfluff's error stands.
    assert found[("broken_test.sql", "PRS")] == Level.ERROR
    (project.tests_dir / "broken_test.sql").unlink()
    assert lint(project).ok


def test_sb003_on_create_or_replace_function_is_a_warning_on_a_table_an_error(tmp_path: Path) -> None:
    sql = """CREATE OR REPLACE FUNCTION public.touch() RETURNS TRIGGER LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TABLE IF NOT EXISTS public.notes (id INT PRIMARY KEY);
CREATE OR REPLACE VIEW public.v AS SELECT 1 AS one;
"""
    found = rule_findings(make_project(tmp_path, [sql]), "SB003")
    assert [(file_of(f).line, f.level) for f in found] == [(1, "warning"), (2, "error"), (3, "error")]


def test_sb001_spares_a_users_table_whose_id_references_auth_users(tmp_path: Path) -> None:
    profiles = """CREATE TABLE public.users (
    id UUID PRIMARY KEY REFERENCES auth.users (id) ON DELETE CASCADE,
    display_name TEXT
);
"""
    keys = """CREATE TABLE public.posts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    author_id UUID NOT NULL REFERENCES public.users (id) ON DELETE CASCADE,
    editor_id UUID REFERENCES public.users ON DELETE SET NULL
);
"""
    assert rule_findings(make_project(tmp_path / "profiles", [profiles, keys]), "SB001") == []
    # A users table of its own (its id is not an account's) is still the mistake SB001 is for.
    own = profiles.replace("REFERENCES auth.users (id) ON DELETE CASCADE", "DEFAULT gen_random_uuid()")
    found = rule_findings(make_project(tmp_path / "own", [own, keys]), "SB001")
    assert [(file_of(f).line, file_of(f).column) for f in found] == [at(keys, "REFERENCES public.users (id)"),
                                                                    at(keys, "REFERENCES public.users ON")]


def test_counts_on_the_real_style_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # What the issue measured, on our own basejump-like project: every finding sqlfluff made there
    # with its own defaults was style (34 errors before, 24 of them sqlfluff's); now no sqlfluff
    # finding, and what is left are our rules' findings on how the migrations were written.
    write_teamwork(tmp_path, repository=False)
    assert cli.run(["lint", "--project-dir", str(tmp_path), "--format", "json"]) == 1
    data = json.loads(capsys.readouterr().out)
    codes = sorted(f["code"] for f in data["findings"])
    assert codes == ["SB002", "SB003", "SB003", "SB006", "SB010", "SB010", "SB010", "SB010", "SB014", "SB014"]
    assert (data["errors"], data["warnings"]) == (9, 1)
    assert sorted(APPLIED) == sorted(p.name for p in (tmp_path / "supabase" / "migrations").iterdir())


def test_the_wheel_takes_the_bundled_defaults_along() -> None:
    # The settings are package data: pyproject's package-data names them, as it names the stub.
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parents[2]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["supamigrate"]
    relative = sqlfluff_defaults_path().relative_to(root / "src" / "supamigrate").as_posix()
    assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns)
