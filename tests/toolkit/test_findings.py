"""One Finding for every command: ordered levels, file and object locations, one fail-on rule,
and the renderers (text, JSON, GitHub annotations) every command uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supamigrate import plpgsql, report
from supamigrate.commands import CheckReport
from supamigrate.errors import SqlLocation
from supamigrate.findings import FAIL_ON, FileLocation, Finding, Level, ObjectLocation, failing, threshold
from supamigrate.preflight import PreflightReport

ROOT = Path("/work/project")
FILE = Finding(
    Level.ERROR,
    "SB001",
    "a foreign key to auth.users without ON DELETE",
    FileLocation(ROOT / "supabase/migrations/1_a.sql", 3, 7, span=(10, 40)),
    hint="add on delete cascade, 100% sure",
)
OBJECT = Finding(Level.WARNING, "function_search_path_mutable", "search_path is mutable", ObjectLocation("public.f()"))
NOWHERE = Finding(Level.INFO, "up-to-date", "no migration is pending")


def test_levels_order_by_how_much_they_matter_and_equal_their_text() -> None:
    assert sorted([Level.ERROR, Level.INFO, Level.WARNING]) == [Level.INFO, Level.WARNING, Level.ERROR]
    assert Level.INFO < Level.WARNING < Level.ERROR and max(Level) is Level.ERROR
    assert Level.ERROR >= "warning" and not Level.INFO >= "warning"  # not alphabetical: "info" > "error"
    assert Level("error") is Level.ERROR and f"{Level.WARNING}" == "warning" and json.dumps([Level.INFO]) == '["info"]'
    assert Level.named("warning extra") is Level.WARNING and Level.named("ERROR") is Level.ERROR
    assert Level.named("performance") is None


def test_one_fail_on_rule_for_check_preflight_and_plpgsql() -> None:
    findings = [FILE, OBJECT, NOWHERE]
    assert [failing(findings, f) for f in FAIL_ON] == [[FILE], [FILE, OBJECT], []]
    assert (threshold("warning"), threshold("none")) == (Level.WARNING, None)
    with pytest.raises(ValueError, match="fail-on must be one of"):
        threshold("info")
    for fail_on in FAIL_ON:
        check_ok = CheckReport(ROOT, findings=[OBJECT, NOWHERE], fail_on=fail_on).ok
        preflight_ok = PreflightReport("db", ROOT, findings=[OBJECT, NOWHERE], fail_on=fail_on).ok
        warning = plpgsql.problem("public.f()", "warning extra", "unused variable", None)
        plpgsql_fails = plpgsql.Report(problems=[warning]).fails(fail_on)
        assert check_ok == preflight_ok == (not plpgsql_fails) == (fail_on != "warning"), fail_on


def test_locations_read_as_reports_show_them() -> None:
    assert FILE.where == "/work/project/supabase/migrations/1_a.sql:3:7"
    assert FILE.relative_to(ROOT).where == "supabase/migrations/1_a.sql:3:7"
    assert FILE.relative_to(ROOT).file == FileLocation(Path("supabase/migrations/1_a.sql"), 3, 7)
    assert FILE.relative_to(ROOT).file.span == (10, 40)  # type: ignore[union-attr]  # kept for suppressions
    assert FILE.relative_to(Path("/elsewhere")) == FILE
    assert (OBJECT.where, OBJECT.file, OBJECT.relative_to(ROOT)) == ("public.f()", None, OBJECT)
    assert str(FileLocation(Path("supabase/schema.sql"))) == "supabase/schema.sql" and NOWHERE.where == ""


def test_plpgsql_levels_become_warning_or_error_and_keep_their_own_name() -> None:
    extra = plpgsql.problem("public.f()", "warning extra", "never read", SqlLocation(ROOT / "m.sql", 2, 1), table="t")
    performance = plpgsql.problem("public.g()", "performance", "implicit cast", None, sqlstate="00000")
    error = plpgsql.problem("public.h()", "error", "no such column", None, sqlstate="42703", query="select x")
    assert (extra.level, performance.level, error.level) == (Level.WARNING, Level.WARNING, Level.ERROR)
    assert extra.message == "public.f() (trigger on t): never read" and extra.source == "plpgsql_check"
    assert report.plpgsql_text(extra, ROOT) == "m.sql:2:1: warning extra public.f() (trigger on t): never read"
    assert report.plpgsql_text(error).splitlines() == [
        "<no migration creates it>: error 42703 public.h(): no such column",
        "QUERY: select x",
    ]
    shown = plpgsql.Report(problems=[extra, performance, error])
    assert (shown.shown("warning"), shown.shown("error")) == ([extra, error], [error])


def test_findings_text_groups_by_level_highest_first() -> None:
    lines = report.findings_text([NOWHERE, OBJECT, FILE])
    assert [line for line in lines if not line.startswith(" ")] == ["ERRORS (1)", "WARNINGS (1)", "INFOS (1)"]
    assert "  function_search_path_mutable  search_path is mutable [public.f()]" in lines


def test_json_has_the_check_keys_and_the_lint_keys() -> None:
    data = report.finding_json(FILE.relative_to(ROOT))
    assert {k: data[k] for k in ("level", "code", "rule", "where", "file", "line", "column", "hint", "fix")} == {
        "level": "error",
        "code": "SB001",
        "rule": "SB001",
        "where": "supabase/migrations/1_a.sql:3:7",
        "file": "supabase/migrations/1_a.sql",
        "line": 3,
        "column": 7,
        "hint": FILE.hint,
        "fix": FILE.hint,
    }
    assert (report.finding_json(OBJECT)["object"], report.finding_json(OBJECT)["file"]) == ("public.f()", None)
    json.dumps([report.finding_json(f) for f in (FILE, OBJECT, NOWHERE)])  # all of it serialises


def test_github_annotations_for_files_objects_and_info(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", "/work")
    lines = report.github_annotations([FILE.relative_to(ROOT), OBJECT, NOWHERE], ROOT)
    assert lines == [
        "::error file=project/supabase/migrations/1_a.sql,line=3,col=7,title=SB001::SB001 a foreign key to"
        " auth.users without ON DELETE (fix: add on delete cascade, 100%25 sure)",
        "::warning title=function_search_path_mutable::function_search_path_mutable search_path is mutable"
        " [public.f()]",
        "::notice title=up-to-date::up-to-date no migration is pending",
    ]
