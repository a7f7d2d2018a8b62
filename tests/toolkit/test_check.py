"""``check`` end to end: build on its own ephemeral server, advisors, snapshot comparison, report.

Uses a copy of ``fixtures/advised``, whose migration trips advisors at every level and whose
committed ``supabase/schema.sql`` is stale.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from supamigrate import cli, commands, report
from supamigrate.commands import CheckReport
from supamigrate.project import Project
from supamigrate.server import PgInstall

from .conftest import PG_BIN, SUITE_MAJOR

FIXTURE = Path(__file__).parent / "fixtures" / "advised"


@pytest.fixture(scope="module")
def advised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("advised")
    shutil.copytree(FIXTURE, root, dirs_exist_ok=True)
    config = root / "supabase" / "config.toml"  # a project of the major the suite runs on (test-pg17)
    config.write_text(config.read_text().replace("major_version = 15", f"major_version = {SUITE_MAJOR}"))
    return root


@pytest.fixture(scope="module")
def checked(advised: Path) -> CheckReport:
    return commands.check(Project.load(advised), pg_bin=PG_BIN)


def codes(result: CheckReport, level: str) -> list[tuple[str, str]]:
    return sorted((f.code, f.where) for f in result.findings if f.level == level)


def test_advisor_findings_at_each_level(checked: CheckReport) -> None:
    assert ("rls_disabled_in_public", "public.notes") in codes(checked, "error")
    assert codes(checked, "warning") == [("function_search_path_mutable", "public.note_count()")]
    # plpgsql_check's own info (the extension missing, as on the registry build of 17) is not an advisor's.
    assert [c for c in codes(checked, "info") if c[0] != "plpgsql_check"] == [
        ("no_primary_key", "public.audit_log"),
        ("rls_enabled_no_policy", "public.audit_log"),
        ("unindexed_foreign_keys", "public.notes: foreign key notes_user_id_fkey"),
    ]
    assert not checked.ok
    assert "advisors" in checked.timings


def test_check_says_plpgsql_check_is_missing_exactly_when_the_server_lacks_it(checked: CheckReport) -> None:
    install = PgInstall.find(PG_BIN, major=SUITE_MAJOR)
    missing = not (install.sharedir / "extension" / "plpgsql_check.control").is_file()
    notes = [f for f in checked.findings if f.code == "plpgsql_check" and "not installed" in f.message]
    assert [f.level for f in notes] == (["info"] if missing else [])
    assert all(f"apt-get install postgresql-{install.major}-plpgsql-check" in (f.hint or "") for f in notes)


def test_stale_snapshot_is_an_error_with_a_diff(checked: CheckReport) -> None:
    (stale,) = [f for f in checked.findings if f.code == "schema-snapshot-stale"]
    assert stale.level == "error" and stale.where == "supabase/schema.sql"
    assert stale.detail is not None
    lines = stale.detail.splitlines()
    assert lines[0] == "--- supabase/schema.sql (committed)"
    assert "--- Deliberately stale: the snapshot of a project before its first migration." in lines
    assert "+CREATE TABLE public.notes (" in lines
    assert "supamigrate dump" in (stale.hint or "")


def test_fail_on_threshold(checked: CheckReport) -> None:
    errors_only = CheckReport(checked.project, findings=[f for f in checked.findings if f.level != "error"])
    assert errors_only.ok
    assert not CheckReport(checked.project, findings=errors_only.findings, fail_on="warning").ok
    assert CheckReport(checked.project, findings=checked.findings, fail_on="none").ok


def test_text_report_groups_by_level(checked: CheckReport) -> None:
    text = report.check_text(checked)
    heads = [line for line in text.splitlines() if line.split(" (")[0] in ("ERRORS", "WARNINGS", "INFOS")]
    assert [h.split(" ")[0] for h in heads] == ["ERRORS", "WARNINGS", "INFOS"]
    assert "+CREATE TABLE public.notes (" in text
    assert text.splitlines()[-1].startswith("FAILED")


def test_dump_then_check_from_the_command_line(advised: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(["dump", "--project-dir", str(advised)]) == cli.EXIT_OK
    assert "supabase/schema.sql: written" in capsys.readouterr().out
    snapshot = (advised / "supabase" / "schema.sql").read_text()
    assert "CREATE TABLE public.notes (" in snapshot and "REFERENCES auth.users(id)" in snapshot

    # The snapshot is current now; the advisors' error still fails the run.
    assert cli.run(["check", "--project-dir", str(advised), "--format", "json"]) == cli.EXIT_FAIL
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    levels = {f["code"]: f["level"] for f in data["findings"]}
    assert "schema-snapshot-stale" not in levels
    assert levels["rls_disabled_in_public"] == "error"
    assert levels["function_search_path_mutable"] == "warning"


@pytest.mark.plpgsql_check
def test_check_runs_plpgsql_check_on_trigger_functions_too() -> None:
    fixture = Path(__file__).parent / "fixtures" / "plpgsql"
    report = commands.check(Project.load(fixture), pg_bin=PG_BIN)
    found = {(f.level, f.where, f.message) for f in report.findings if f.code == "plpgsql_check"}
    assert (
        "error",
        "supabase/migrations/20250101000000_notes.sql:43:3",
        'public.stamp_note() (trigger on public.notes): record "new" has no field "updated"',
    ) in found
    assert ("warning", "supabase/migrations/20250101000000_notes.sql:52:1",
            'public.tidy(p_owner uuid): unused variable "spare"') in found
    assert not report.ok


def test_check_lints_first_and_catches_the_teams_original_mistake(tmp_path: Path) -> None:
    root = tmp_path / "team"
    (root / "supabase" / "migrations").mkdir(parents=True)
    (root / "supabase" / "config.toml").write_text('[db]\nmajor_version = 15\n')
    (root / "supabase" / "migrations" / "20251101050000_research_sessions.sql").write_text(
        "create table if not exists public.users (id uuid primary key, email text);\n"
        "alter table public.users enable row level security;\n"
        "create table public.research_sessions (\n"
        "  id uuid primary key default gen_random_uuid(),\n"
        "  user_id uuid not null references public.users (id) on delete cascade\n"
        ");\n"
        "alter table public.research_sessions enable row level security;\n"
    )
    result = commands.check(Project.load(root), pg_bin=PG_BIN)
    lint_hits = {(f.code, f.where) for f in result.findings if f.code.startswith("SB")}
    migration = "supabase/migrations/20251101050000_research_sessions.sql"
    assert ("SB003", f"{migration}:1:28") in lint_hits  # at the table name, public.users
    assert any(code == "SB001" and where.startswith(f"{migration}:5:") for code, where in lint_hits)
    assert result.build is not None and len(result.build.apply.applied) == 1  # the build ran too
    assert not result.ok


def test_github_annotations_place_each_finding(
    checked: CheckReport, advised: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(advised.parent))
    lines = report.CHECK["github"](checked).splitlines()
    stale = f"::error file={advised.name}/supabase/schema.sql,title=schema-snapshot-stale::"
    assert any(line.startswith(stale) for line in lines)
    rls = "::error title=rls_disabled_in_public::rls_disabled_in_public table public.notes"
    assert any(line.startswith(rls) for line in lines)
    # An object the message names already is not repeated in brackets.
    (no_pk,) = [line for line in lines if line.startswith("::notice title=no_primary_key::")]
    assert "public.audit_log" in no_pk and "[public.audit_log]" not in no_pk
    assert lines[-1] == f"supamigrate check: FAILED ({len(checked.findings)} finding(s))"
    assert cli.build_parser().parse_args(["check", "--format", "github"]).format == "github"
