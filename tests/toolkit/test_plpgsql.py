"""plpgsql_check over a migrated database: every problem in the file and at the line that causes it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from supamigrate import cli, plpgsql
from supamigrate import report as render
from supamigrate.build import build_database
from supamigrate.database import Server, connect, drop_database, unique_name
from supamigrate.findings import FileLocation, Finding
from supamigrate.lint import lint
from supamigrate.migrations import MigrationSet
from supamigrate.project import Project

# Every test here runs plpgsql_check (`make test-pg17` deselects them where the server has none).
pytestmark = pytest.mark.plpgsql_check

FIXTURE = Path(__file__).parent / "fixtures" / "plpgsql"
NOTES = FIXTURE / "supabase" / "migrations" / "20250101000000_notes.sql"
REDEFINE = FIXTURE / "supabase" / "migrations" / "20250102000000_redefine.sql"


def line_of(path: Path, text: str) -> int:
    """1-based number of the only line of ``path`` containing ``text``."""
    (number,) = [n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    return number


@pytest.fixture(scope="module")
def report(supamigrate_server: Server) -> Iterator[plpgsql.Report]:
    project = Project.load(FIXTURE)
    name = unique_name("plpgsql")
    build_database(supamigrate_server, name, project, seed=False)
    try:
        with connect(supamigrate_server.conninfo(name)) as conn:
            yield plpgsql.check_functions(conn, MigrationSet.discover(project.migrations_dir))
    finally:
        drop_database(supamigrate_server, name)


def problem(report: plpgsql.Report, function: str) -> Finding:
    (found,) = [p for p in report.problems if p.extras["function"] == function]
    return found


def place(p: Finding) -> FileLocation:
    assert isinstance(p.location, FileLocation), p
    return p.location


def test_an_error_in_a_query_is_placed_at_its_file_line_and_column(report: plpgsql.Report) -> None:
    p = problem(report, "public.latest_body(p_owner uuid)")
    assert (p.level, p.extras["sqlstate"], p.message) == (
        "error",
        "42703",
        'public.latest_body(p_owner uuid): column "craeted_at" does not exist',
    )
    loc = place(p)
    assert loc.path == NOTES
    assert loc.line == line_of(NOTES, "order by craeted_at")
    assert loc.column == NOTES.read_text().splitlines()[loc.line - 1].index("craeted_at") + 1
    assert render.plpgsql_text(p, FIXTURE).startswith(
        f"supabase/migrations/20250101000000_notes.sql:{loc.line}:{loc.column}: error 42703"
        " public.latest_body(p_owner uuid)"
    )


def test_trigger_functions_are_checked_on_the_tables_that_use_them(report: plpgsql.Report) -> None:
    p = problem(report, "public.stamp_note()")
    assert p.extras["table"] == "public.notes"
    assert p.message == 'public.stamp_note() (trigger on public.notes): record "new" has no field "updated"'
    assert (place(p).path, place(p).line) == (NOTES, line_of(NOTES, "new.updated"))


def test_a_redefined_function_is_placed_in_the_migration_that_defines_it_now(report: plpgsql.Report) -> None:
    p = problem(report, "public.note_count(p_owner uuid)")
    assert (place(p).path, place(p).line) == (REDEFINE, line_of(REDEFINE, "ownr = p_owner"))
    assert "public.note_count(p_owner uuid, p_min_length integer)" in report.checked


def test_clean_functions_are_checked_and_report_nothing(report: plpgsql.Report) -> None:
    assert "public.note_count(p_owner uuid, p_min_length integer)" in report.checked
    assert not [p for p in report.problems if p.extras["function"].startswith("public.note_count(p_owner uuid, ")]
    # Only the user schemas are checked, as `supabase db lint` does by default (auth is internal).
    assert all(f.startswith("public.") for f in report.checked)


def test_a_trigger_function_no_trigger_calls_is_listed_as_unchecked(report: plpgsql.Report) -> None:
    assert [f for f, _ in report.unchecked] == ["public.orphan_trigger()"]
    assert "public.orphan_trigger()" not in report.checked


def test_levels_and_fail_on_follow_the_cli(report: plpgsql.Report) -> None:
    warning = problem(report, "public.tidy(p_owner uuid)")
    assert warning.level == "warning" and warning.message == 'public.tidy(p_owner uuid): unused variable "spare"'
    assert place(warning).line == line_of(NOTES, "function public.tidy")
    assert warning in report.shown("warning") and warning not in report.shown("error")
    assert len(report.shown("error")) == 3
    assert (report.fails("none"), report.fails("warning"), report.fails("error")) == (False, True, True)
    only_warnings = plpgsql.Report(problems=[warning])
    assert (only_warnings.fails("warning"), only_warnings.fails("error")) == (True, False)
    assert plpgsql.level_rank("warning extra") == plpgsql.level_rank("warning") == 0
    assert plpgsql.level_rank("performance") == -1


def test_lint_plpgsql_exits_non_zero_on_fail_on_error(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--project-dir", str(FIXTURE), "--plpgsql", "--level", "error", "--fail-on", "error"]
    code = cli.run(["lint", *args])
    out, err = capsys.readouterr()
    assert code == 1
    assert "fail-on is set to error, non-zero exit" in err
    assert f"supabase/migrations/20250101000000_notes.sql:{line_of(NOTES, 'new.updated')}:3: error" in out
    assert "unused variable" not in out  # below --level error
    assert "3 problem(s) at error or above" in out


def test_lint_plpgsql_reports_but_fail_on_none_leaves_the_exit_code_to_lint(
    capsys: pytest.CaptureFixture[str],
) -> None:
    plain = cli.run(["lint", "--project-dir", str(FIXTURE)])
    capsys.readouterr()
    code = cli.run(["lint", "--project-dir", str(FIXTURE), "--plpgsql"])  # --fail-on none, as the CLI
    out, err = capsys.readouterr()
    assert 'record "new" has no field "updated"' in out and 'unused variable "spare"' in out
    assert code == plain and "fail-on" not in err


def test_lint_plpgsql_as_github_annotations(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(FIXTURE))
    argv = ["--project-dir", str(FIXTURE), "--plpgsql", "--format", "github", "--fail-on", "warning"]
    code = cli.run(["lint", *argv])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    line = line_of(NOTES, "new.updated")
    assert (
        f"::error file=supabase/migrations/20250101000000_notes.sql,line={line},col=3,title=plpgsql_check::"
        'plpgsql_check public.stamp_note() (trigger on public.notes): record "new" has no field "updated"'
    ) in lines
    warning = "::warning file=supabase/migrations/20250101000000_notes.sql,"
    assert any(x.startswith(warning) and 'unused variable "spare"' in x for x in lines)
    assert lines[-1].endswith("problem(s) at warning or above")


def test_lint_plpgsql_json_keeps_plpgsql_checks_own_level(report: plpgsql.Report) -> None:
    lint_report = lint(Project.load(FIXTURE), sqlfluff=False)
    data = json.loads(render.lint(lint_report, "json", plpgsql=report))
    assert set(data) == {"lint", "plpgsql"} and data["lint"]["files"]
    (tidy,) = [p for p in data["plpgsql"] if p["extras"]["function"] == "public.tidy(p_owner uuid)"]
    assert (tidy["level"], tidy["extras"]["plpgsql_level"]) == ("warning", "warning")
    assert tidy["line"] == line_of(NOTES, "function public.tidy")
    assert tidy["file"].endswith("supabase/migrations/20250101000000_notes.sql")


TRANSITION_TABLES = """\
create table public.orders (id bigint primary key, total numeric not null);
create table public.order_batches (at timestamptz not null default now(), orders int, total numeric);

-- One row per statement, however many orders it inserted: reads the trigger's transition table.
create function public.log_order_batch() returns trigger
language plpgsql set search_path = '' as $$
begin
  insert into public.order_batches (orders, total) select count(*), sum(total) from inserted;
  return null;
end $$;

create trigger orders_batch after insert on public.orders
  referencing new table as inserted for each statement execute function public.log_order_batch();

-- The same mistake plpgsql_check must still see: a transition table the trigger does not name.
create function public.log_order_changes() returns trigger
language plpgsql set search_path = '' as $$
begin
  insert into public.order_batches (orders) select count(*) from changed_rows;
  return null;
end $$;

create trigger orders_changes after update on public.orders
  referencing old table as before_rows new table as after_rows
  for each statement execute function public.log_order_changes();
"""


def test_trigger_transition_tables_are_known_to_plpgsql_check(
    supamigrate_server: Server, make_project: Callable[..., Project]
) -> None:
    project = make_project({"20250101000000_orders.sql": TRANSITION_TABLES})
    name = unique_name("plpgsql")
    build_database(supamigrate_server, name, project, seed=False)
    try:
        with connect(supamigrate_server.conninfo(name)) as conn:
            found = plpgsql.check_functions(conn, MigrationSet.discover(project.migrations_dir))
    finally:
        drop_database(supamigrate_server, name)
    assert "public.log_order_batch()" in found.checked
    assert [(p.extras["function"], p.message) for p in found.problems if p.level == "error"] == [
        (
            "public.log_order_changes()",
            'public.log_order_changes() (trigger on public.orders): relation "changed_rows" does not exist',
        )
    ]


STUB_GAP = """\
create table public.logins (user_id uuid, at timestamptz);

-- Reads a table of auth the platform has and the stub might not: the stub's gap, not the project's.
create function public.last_flow() returns timestamptz
language plpgsql stable set search_path = '' as $$
begin
  return (select max(created_at) from auth.not_in_the_stub);
end $$;

-- A table of the project's own that no migration creates: the project's error.
create function public.last_login() returns timestamptz
language plpgsql stable set search_path = '' as $$
begin
  return (select max(at) from public.login_events);
end $$;
"""


def test_a_missing_platform_object_is_a_stub_gap_not_the_projects_error(
    supamigrate_server: Server, make_project: Callable[..., Project]
) -> None:
    project = make_project({"20250101000000_logins.sql": STUB_GAP})
    name = unique_name("plpgsql")
    build_database(supamigrate_server, name, project, seed=False)
    try:
        with connect(supamigrate_server.conninfo(name)) as conn:
            found = plpgsql.check_functions(conn, MigrationSet.discover(project.migrations_dir))
    finally:
        drop_database(supamigrate_server, name)
    by_function = {p.extras["function"]: p for p in found.problems}
    gap, own = by_function["public.last_flow()"], by_function["public.last_login()"]
    assert (gap.level, gap.message, gap.extras["stub_gap"]) == (
        "warning",
        'public.last_flow(): relation "auth.not_in_the_stub" does not exist'
        " (not in supamigrate's platform stub of auth: if the platform has it, the stub lacks it)",
        "auth",
    )
    assert gap.hint == (
        "check the name against Supabase's auth schema; if it is right, this is a gap of supamigrate's stub,"
        " not an error of the project"
    )
    assert (own.level, own.message, own.extras["stub_gap"]) == (
        "error",
        'public.last_login(): relation "public.login_events" does not exist',
        None,
    )
