"""pgTAP files: TAP parsed as a harness reads it, files run rolled back, and run as pytest items."""

from __future__ import annotations

import textwrap
from pathlib import Path

import psycopg
import pytest

from supamigrate import pgtap
from supamigrate.database import Server, connect, create_database, drop_database, unique_name
from supamigrate.platform.extensions import ExtensionPolicy
from supamigrate.plugin import TestDatabase

MIGRATION = """
create table public.notes (id bigint generated always as identity primary key, body text not null);
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


# -- TAP ------------------------------------------------------------------------------------------


def test_results_directives_and_diagnostics_are_parsed() -> None:
    run = pgtap.parse_tap(
        "1..4\n"
        "ok 1 - first\n"
        'not ok 2 - second\n# Failed test 2: "second"\n#         have: 1\n#         want: 2\n'
        "ok 3 # SKIP no network\n"
        "not ok 4 - later # TODO not written yet\n"
    )
    assert run.plan == 4
    assert [(a.number, a.ok, a.description, a.directive, a.reason) for a in run.assertions] == [
        (1, True, "first", None, ""),
        (2, False, "second", None, ""),
        (3, True, "", "SKIP", "no network"),
        (4, False, "later", "TODO", "not written yet"),
    ]
    assert run.assertions[1].diagnostics == (
        '# Failed test 2: "second"',
        "#         have: 1",
        "#         want: 2",
    )
    assert [a.number for a in run.failed] == [2]  # a TODO failure does not count
    assert run.problems() == []


@pytest.mark.parametrize(
    ("tap", "problem"),
    [
        ("1..3\nok 1\nok 2\n", "planned 3 test(s) but ran 2"),
        ("ok 1\nok 2\n", "no plan: ran 2 assertion(s)"),
        ("", "no TAP output"),
        ("1..2\nok 1\nok 3\n", "assertion 3 out of sequence (expected 2)"),
        ("1..2\nok 1\nBail out! database gone\n", "Bail out! database gone"),
        ("1..1\n1..1\nok 1\n", "more than one plan"),
    ],
)
def test_a_file_fails_as_a_tap_harness_fails_it(tap: str, problem: str) -> None:
    run = pgtap.parse_tap(tap, Path("t.sql"))
    assert any(p.startswith(f"t.sql: {problem}") for p in run.problems()), run.problems()
    assert not run.ok


def test_plan_at_the_end_as_finish_prints_it() -> None:
    run = pgtap.parse_tap("ok 1\nok 2\n1..2\n")
    assert run.ok and run.plan == 2


# -- running a file -------------------------------------------------------------------------------


def test_a_file_runs_rolled_back_and_assertions_know_their_line(
    db: psycopg.Connection, tmp_path: Path
) -> None:
    path = write(
        tmp_path / "t.sql",
        """
        \\set QUIET 1
        begin;
        select plan(3);
        insert into auth.users (id, email) values (gen_random_uuid(), 'tap@example.test');
        select ok(exists (select from auth.users where email = 'tap@example.test'), 'the row is there');
        select is(1 + 1, 3, 'arithmetic');
        select pass('fine');
        select * from finish();
        rollback;
        """,
    )
    run = pgtap.run_file(db, path)
    assert [a.ok for a in run.assertions] == [True, False, True]
    failed = run.assertions[1]
    assert (failed.number, failed.source_line) == (2, 6)
    assert failed.render().splitlines()[:3] == [
        f"{path}:6: assertion 2 failed: arithmetic",
        "not ok 2 - arithmetic",
        '# Failed test 2: "arithmetic"',
    ]
    assert run.problems() == []
    assert run.comments == ["# Looks like you failed 1 test of 3"]
    # Rolled back, and the connection still usable in its own transaction.
    assert db.execute("select count(*) from auth.users where email = 'tap@example.test'").fetchone() == (0,)


def test_an_sql_error_stops_the_file_and_names_its_line(db: psycopg.Connection, tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.sql",
        """
        select plan(2);
        select pass('before');
        select * from public.no_such_table;
        select pass('after');
        """,
    )
    run = pgtap.run_file(db, path)
    assert [a.number for a in run.assertions] == [1]
    assert run.error is not None
    assert (run.error.line, run.error.column, run.error.sqlstate) == (3, 15, "42P01")
    assert run.problems() == [
        f'{path}:3:15: 42P01 relation "public.no_such_table" does not exist',
        f"{path}: planned 2 test(s) but ran 1",
    ]


def test_a_psql_include_is_refused_with_its_line(db: psycopg.Connection, tmp_path: Path) -> None:
    path = write(tmp_path / "t.sql", "select plan(1);\n\\ir helpers.sql\nselect pass('x');\n")
    run = pgtap.run_file(db, path)
    assert run.error is not None and run.error.line == 2
    assert run.error.message == "psql meta-command not supported: \\ir helpers.sql"
    assert run.assertions == []


def test_a_query_ending_in_gset_is_refused_at_its_line(db: psycopg.Connection, tmp_path: Path) -> None:
    # psql runs `... \gset` and keeps the row in variables; we have no psql variables, and say so
    # rather than let the server meet the backslash.
    path = write(
        tmp_path / "t.sql",
        "select plan(1);\nselect 42 as answer \\gset\nselect is(:answer, 42, 'kept');\n",
    )
    run = pgtap.run_file(db, path)
    assert run.error is not None and (run.error.line, run.error.column) == (2, 21)
    assert run.error.message == "psql meta-command not supported: \\gset"
    assert "psql variables" in (run.error.hint or "")
    assert run.assertions == []


# -- pgTAP missing --------------------------------------------------------------------------------


def test_a_database_without_pgtap_says_what_to_do(supamigrate_server: Server) -> None:
    name = unique_name("nopgtap")
    create_database(supamigrate_server, name)
    try:
        with connect(supamigrate_server.conninfo(name)) as conn, pytest.raises(pgtap.PgTapMissing) as exc:
            pgtap.require(conn)
    finally:
        drop_database(supamigrate_server, name)
    assert exc.value.message == "pgTAP is installed on the server but not created in the test database"
    assert "CREATE EXTENSION pgtap WITH SCHEMA extensions" in (exc.value.hint or "")


@pytest.mark.parametrize("major", [15, 17])
def test_a_server_without_pgtap_names_the_package(major: int) -> None:
    error = pgtap.missing_error(major, available=False)
    assert error.message == f"pgTAP is not installed on this PostgreSQL {major} server"
    assert f"apt-get install postgresql-{major}-pgtap" in (error.hint or "")


def test_pgtap_is_created_in_extensions_in_the_template(db: psycopg.Connection) -> None:
    assert pgtap.require(db)
    row = db.execute(
        "select n.nspname from pg_extension e join pg_namespace n on n.oid = e.extnamespace"
        " where extname = 'pgtap'"
    ).fetchone()
    assert row == ("extensions",)


# -- as pytest items ------------------------------------------------------------------------------


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A tiny Supabase project whose pgTAP files are run by pytest, as in a user's repository."""
    pytester.makeini("[pytest]\ntestpaths = tests supabase/tests\naddopts = -p no:cacheprovider\n")
    write(pytester.path / "supabase" / "migrations" / "20250101000000_notes.sql", MIGRATION)
    write(pytester.path / "supabase" / "config.toml", 'project_id = "tiny"\n')
    write(
        pytester.path / "supabase" / "tests" / "notes.test.sql",
        """
        begin;
        select plan(2);
        select has_table('public', 'notes', 'notes exists');
        select col_not_null('public', 'notes', 'body', 'body is required');
        select * from finish();
        rollback;
        """,
    )
    return pytester


def run(project: pytest.Pytester, server: Server, *args: str) -> pytest.RunResult:
    return project.runpytest("--supamigrate-db-url", server.conninfo("postgres"), *args)


def test_pgtap_files_are_collected_from_supabase_tests_only(
    project: pytest.Pytester, supamigrate_server: Server
) -> None:
    write(project.path / "supabase" / "tests" / "deeper" / "more.pg", "select plan(1); select pass('x');\n")
    write(project.path / "supabase" / "seed.sql", "select 1;\n")
    result = run(project, supamigrate_server, "supabase", "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        ["supabase/tests/deeper/more.pg::pgtap", "supabase/tests/notes.test.sql::pgtap"]
    )
    assert "migrations" not in result.stdout.str() and "seed.sql" not in result.stdout.str()


def test_assertions_are_reported_and_broken_files_fail_with_file_and_number(
    project: pytest.Pytester, supamigrate_server: Server
) -> None:
    # One run (one template build) for the three outcomes: passing, a broken assertion, an SQL error.
    write(
        project.path / "supabase" / "tests" / "broken.test.sql",
        """
        begin;
        select plan(2);
        select has_table('public', 'notes', 'notes exists');
        select col_is_null('public', 'notes', 'body', 'body may be left out');
        select * from finish();
        rollback;
        """,
    )
    write(
        project.path / "supabase" / "tests" / "error.test.sql",
        """
        select plan(3);
        select pass('one');
        insert into public.notes (body) values (null);
        select pass('two');
        """,
    )
    result = run(project, supamigrate_server, "-v")
    assert result.ret == 1
    # Every assertion is a result of its own; the passing file passes.
    result.stdout.fnmatch_lines(
        [
            "*notes.test.sql::pgtap SUBPASSED*1 - notes exists*",
            "*notes.test.sql::pgtap SUBPASSED*2 - body is required*",
            "*notes.test.sql::pgtap PASSED*",
        ]
    )
    # The broken assertion: its file, line and number, and pgTAP's diagnostic.
    result.stdout.fnmatch_lines(
        [
            "supabase/tests/broken.test.sql:4: assertion 2 failed: body may be left out",
            "not ok 2 - body may be left out",
            '# Failed test 2: "body may be left out"',
        ]
    )
    # The SQL error: file:line:col and SQLSTATE, then the plan it broke.
    result.stdout.fnmatch_lines(
        [
            'supabase/tests/error.test.sql:3:*: 23502 null value in column "body"*',
            "supabase/tests/error.test.sql: planned 3 test(s) but ran 1",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "SUBFAILED*2 - body may be left out* supabase/tests/broken.test.sql::pgtap*",
            "FAILED supabase/tests/broken.test.sql::pgtap - contains 1 failed subtest",
            "FAILED supabase/tests/error.test.sql::pgtap*",
        ]
    )
    assert not [line for line in result.stdout.lines if line.startswith("FAILED") and "notes.test" in line]


# -- TAP from rows of several columns ------------------------------------------------------------


def test_a_row_of_several_columns_is_read_as_psql_prints_it(db: psycopg.Connection, tmp_path: Path) -> None:
    path = write(
        tmp_path / "t.sql",
        """
        select plan(3);
        select ok(true, 'first'), 'extra column';
        select 'a label', ok(true, 'second');
        select pass('third'), 42, null::text, true;
        """,
    )
    run = pgtap.run_file(db, path)
    assert [(a.number, a.description) for a in run.assertions] == [(1, "first|extra column"), (3, "third|42||t")]
    assert "a label|ok 2 - second" in run.comments  # not at the start of a line: not TAP, as with pg_prove
    assert run.problems() == [
        f"{path}: planned 3 test(s) but ran 2",
        f"{path}: assertion 3 out of sequence (expected 2)",
    ]


def test_a_hash_in_a_description_is_not_a_directive() -> None:
    run = pgtap.parse_tap("1..1\nok 1 - issue #12 is fixed\n")
    assert [(a.description, a.directive) for a in run.assertions] == [("issue #12 is fixed", None)]


# -- files in sessions of their own, as pg_prove runs them ----------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("BEGIN;\nselect plan(1);\nselect pass('x');\nROLLBACK;\n", True),
        ("-- c\nstart transaction;\nselect 1;\nrollback;\n-- end\n", True),
        ("begin;\nselect 1;\ncommit;\n", False),
        ("select 1;\nbegin;\nselect 1;\nrollback;\n", False),
        ("begin;\nselect 1;\nrollback;\nbegin;\nselect 1;\nrollback;\n", False),
        ("select plan(1);\nselect pass('x');\n", False),
    ],
)
def test_which_files_leave_nothing_behind(tmp_path: Path, text: str, expected: bool) -> None:
    assert pgtap.leaves_nothing(write(tmp_path / "t.sql", text)) is expected


def test_files_run_in_name_order_and_see_what_earlier_files_committed(fresh_db: TestDatabase, tmp_path: Path) -> None:
    tests = tmp_path / "supabase" / "tests"
    write(
        tests / "000-setup.sql",
        """
        create table public.shared_rows (n int);
        insert into public.shared_rows values (1);
        select plan(1);
        select pass('setup');
        set role anon;
        """,
    )
    write(
        tests / "010-rolled-back.test.sql",
        "begin;\nselect plan(1);\ninsert into public.shared_rows values (10);\nselect pass('x');\nrollback;\n",
    )
    write(
        tests / "020-reads.test.sql",
        """
        begin;
        select plan(2);
        select results_eq('select n from public.shared_rows', array[1], 'only what earlier files committed');
        select is(current_user, session_user, 'a session of its own: the last file''s role is gone');
        rollback;
        """,
    )
    write(
        tests / "030-error.test.sql",
        "begin;\ninsert into public.shared_rows values (30);\nselect plan(1);\nselect * from public.nope;\ncommit;\n",
    )
    write(
        tests / "040-after.test.sql",
        "select plan(1);\nselect results_eq('select n from public.shared_rows', array[1],"
        " 'an error ends the session and rolls back its open transaction');\n",
    )
    files = pgtap.test_files(tmp_path)
    setup, _rolled_back, reads, error, after = files
    suite = pgtap.TapSuite(fresh_db.conninfo, files, wanted={reads, after})
    assert suite.result(after).ok  # asked first: the files before it run first, in name order
    # The wanted file ran then, and once; the rolled-back one nobody asked for was skipped.
    assert list(suite.results) == [setup, reads, error, after]
    first = suite.results[reads]
    assert suite.result(reads) is first and first.ok and len(first.assertions) == 2
    failed = suite.results[error].error
    assert failed is not None and (failed.line, failed.sqlstate) == (4, "42P01")
    # A new suite on the same database sees what this one committed; the plugin's next run starts
    # from the template instead.
    with psycopg.connect(fresh_db.conninfo) as conn:
        assert conn.execute("select array_agg(n) from public.shared_rows").fetchone() == ([1],)


def test_extension_statements_in_a_session_go_through_the_policy(fresh_db: TestDatabase, tmp_path: Path) -> None:
    path = write(
        tmp_path / "000-setup.sql",
        """
        create extension if not exists "basejump-supabase_test_helpers" version '0.0.6';
        select plan(1);
        select isnt_empty('select tests.create_supabase_user(''kept'')', 'a committed user');
        """,
    )
    run = pgtap.run_session(fresh_db.conninfo, path, extensions=ExtensionPolicy())
    assert run.ok, run.problems()
    with psycopg.connect(fresh_db.conninfo) as conn:
        assert conn.execute("select tests.get_supabase_uid('kept') is not null").fetchone() == (True,)
