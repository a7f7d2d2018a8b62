"""The migration runner on good and broken migrations: exact file:line:col, rollback, history rows."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest

from supamigrate.build import build_database
from supamigrate.database import Server, drop_database, unique_name
from supamigrate.errors import MigrationError, ProjectError
from supamigrate.migrations import MigrationSet, apply_migrations

from .conftest import ProjectFactory, query

GOOD = "create table public.a (id int primary key);\n"


def build_error(server: Server, project) -> MigrationError:  # type: ignore[no-untyped-def]
    with pytest.raises(MigrationError) as exc:
        build_database(server, unique_name("broken"), project)
    return exc.value


def test_syntax_error_reports_file_line_column_and_sqlstate(
    make_project: ProjectFactory, supamigrate_server: Server
) -> None:
    project = make_project(
        {
            "1_ok.sql": GOOD,
            "2_broken.sql": "-- a comment\ncreate table public.b (id int);\n\ncreate tabel public.c (id int);\n",
        }
    )
    err = build_error(supamigrate_server, project)
    assert (err.path.name, err.line, err.column, err.sqlstate) == ("2_broken.sql", 4, 8, "42601")
    assert err.message == 'syntax error at or near "tabel"'
    assert str(err).startswith(f'{err.path}:4:8: 42601 syntax error at or near "tabel"')


def test_error_inside_a_function_body_points_into_the_body(
    make_project: ProjectFactory, supamigrate_server: Server
) -> None:
    body = (
        "create function public.f() returns int\nlanguage plpgsql as $$\nbegin\n  return 1;\n  retrun 2;\nend;\n$$;\n"
    )
    err = build_error(supamigrate_server, make_project({"1_fn.sql": "\n\n" + body}))
    assert (err.line, err.sqlstate) == (7, "42601")
    assert "retrun" in err.message


def test_runtime_error_in_a_do_block_points_at_the_failing_line(
    make_project: ProjectFactory, supamigrate_server: Server
) -> None:
    sql = "select 1;\ndo $$\nbegin\n  perform 1;\n  perform 1 / 0;\nend\n$$;\n"
    err = build_error(supamigrate_server, make_project({"1_do.sql": sql}))
    assert (err.line, err.sqlstate, err.message) == (5, "22012", "division by zero")
    assert err.context and "PL/pgSQL function inline_code_block line 4" in err.context


def test_runtime_error_without_position_points_at_the_statement(
    make_project: ProjectFactory, supamigrate_server: Server
) -> None:
    sql = GOOD + "insert into public.a values (1);\n\n  insert into public.a values (1);\n"
    err = build_error(supamigrate_server, make_project({"1_dup.sql": sql}))
    assert (err.line, err.column, err.sqlstate) == (4, 3, "23505")
    assert err.detail == "Key (id)=(1) already exists."


def test_failed_file_is_rolled_back_whole_and_earlier_files_stay(make_project: ProjectFactory, stubbed_db: str) -> None:
    project = make_project(
        {"1_ok.sql": GOOD, "2_bad.sql": "create table public.b (id int);\nselect missing_function();\n"}
    )
    with psycopg.connect(stubbed_db) as conn, pytest.raises(MigrationError) as exc:
        apply_migrations(conn, MigrationSet.discover(project.migrations_dir))
    assert (exc.value.line, exc.value.sqlstate) == (2, "42883")
    assert query(stubbed_db, "select to_regclass('public.a') is not null, to_regclass('public.b') is null") == [
        (True, True)
    ]
    assert query(stubbed_db, "select version from supabase_migrations.schema_migrations") == [("1",)]


def test_history_rows_match_what_the_cli_records(make_project: ProjectFactory, built: Callable[..., str]) -> None:
    # The CLI's SplitAndTrim: cut at top-level semicolons, keep comments, trim, drop the ';'.
    sql = (
        "-- leading comment\n"
        "create table public.t (id int);  -- trailing comment\n"
        "create function public.f() returns text language plpgsql as $body$\n"
        "begin return 'a;b'; end;\n$body$;\n"
        "create function public.g() returns int language sql\nbegin atomic\n  select 1;\n  select 2;\nend;\n"
        ";;\n"
        "/* closing comment */\n"
    )
    conninfo = built(make_project({"20240101000000_first_one.sql": sql, "20240102000000_empty.sql": ""}))
    rows = query(conninfo, "select version, name, statements from supabase_migrations.schema_migrations order by 1")
    assert rows == [
        (
            "20240101000000",
            "first_one",
            [
                "-- leading comment\ncreate table public.t (id int)",
                "-- trailing comment\ncreate function public.f() returns text language plpgsql as $body$\n"
                "begin return 'a;b'; end;\n$body$",
                "create function public.g() returns int language sql\nbegin atomic\n  select 1;\n  select 2;\nend",
                "/* closing comment */",
            ],
        ),
        ("20240102000000", "empty", []),
    ]
    columns = query(
        conninfo,
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'supabase_migrations' and table_name = 'schema_migrations' order by ordinal_position",
    )
    assert columns == [("version", "text"), ("statements", "ARRAY"), ("name", "text")]


def test_files_the_cli_would_skip_are_skipped_with_a_warning(make_project: ProjectFactory, stubbed_db: str) -> None:
    project = make_project(
        {"1_ok.sql": GOOD, "2-dash.sql": "select broken(", "notes.md": "x", "3_alsook.SQL": "select broken("}
    )
    mset = MigrationSet.discover(project.migrations_dir)
    with psycopg.connect(stubbed_db) as conn:
        result = apply_migrations(conn, mset)
    assert [m.filename for m in result.applied] == ["1_ok.sql"]
    assert result.warnings == [
        'Skipping migration 2-dash.sql... (file name must match pattern "<timestamp>_name.sql")',
        'Skipping migration 3_alsook.SQL... (file name must match pattern "<timestamp>_name.sql")',
        'Skipping migration notes.md... (file name must match pattern "<timestamp>_name.sql")',
    ]


def test_duplicate_versions_are_refused_naming_both_files(make_project: ProjectFactory) -> None:
    project = make_project({"20240101000000_a.sql": GOOD, "20240101000000_b.sql": GOOD})
    with pytest.raises(ProjectError) as exc:
        MigrationSet.discover(project.migrations_dir)
    assert exc.value.message == (
        "duplicate migration version 20240101000000: 20240101000000_a.sql and 20240101000000_b.sql"
    )


def test_files_apply_in_version_order_and_run_as_postgres(
    make_project: ProjectFactory, built: Callable[..., str]
) -> None:
    log = "insert into public.log values ('{}', current_user, current_setting('search_path'));"
    project = make_project(
        {
            "20240102000000_second.sql": log.format("second"),
            "20240101000000_first.sql": "set search_path = '';\n"
            "create table public.log (step text, who text, path text);\n" + log.format("first"),
        }
    )
    conninfo = built(project)
    assert query(conninfo, "select step, who, path from public.log order by step") == [
        ("first", "postgres", '""'),
        # The platform's own setting, backslash and all (reference: E'\\$user').
        ("second", "postgres", '"\\$user", public, extensions'),
    ]
    assert query(conninfo, "select tableowner from pg_tables where tablename = 'log'") == [("postgres",)]


def test_reapplying_is_a_no_op_and_a_changed_file_is_reported(make_project: ProjectFactory, stubbed_db: str) -> None:
    project = make_project({"1_a.sql": GOOD})
    mset = MigrationSet.discover(project.migrations_dir)
    with psycopg.connect(stubbed_db) as conn:
        first = apply_migrations(conn, mset)
        again = apply_migrations(conn, mset)
        (project.migrations_dir / "1_a.sql").write_text(GOOD + "alter table public.a add column b int;\n")
        changed = apply_migrations(conn, MigrationSet.discover(project.migrations_dir))
    assert (len(first.applied), len(again.applied), len(again.already_applied)) == (1, 0, 1)
    assert [m.filename for m in changed.changed] == ["1_a.sql"] and changed.applied == []
    assert "already applied, but its statements differ" in changed.warnings[0]


def test_the_two_push_consistency_errors(make_project: ProjectFactory, stubbed_db: str) -> None:
    with psycopg.connect(stubbed_db) as conn:
        apply_migrations(conn, MigrationSet.discover(make_project({"2_b.sql": GOOD}).migrations_dir))
        with pytest.raises(
            ProjectError, match=r"^Remote migration versions not found in local migrations directory: 2$"
        ):
            apply_migrations(conn, MigrationSet.discover(make_project({"3_c.sql": GOOD}).migrations_dir))
        older = make_project({"1_a.sql": "create table public.z (id int);", "2_b.sql": GOOD})
        with pytest.raises(ProjectError, match=r"inserted before the last migration on remote database: 1_a\.sql$"):
            apply_migrations(conn, MigrationSet.discover(older.migrations_dir))
        result = apply_migrations(conn, MigrationSet.discover(older.migrations_dir), include_all=True)
    assert [m.filename for m in result.applied] == ["1_a.sql"]


def test_seed_runs_once_and_is_recorded_by_path_and_hash(
    make_project: ProjectFactory, built: Callable[..., str]
) -> None:
    project = make_project({"1_a.sql": GOOD}, seed="insert into public.a values (1), (2);\n")
    conninfo = built(project)
    assert query(conninfo, "select count(*) from public.a") == [(2,)]
    ((path, digest),) = query(conninfo, "select path, hash from supabase_migrations.seed_files")
    assert path == "supabase/seed.sql" and len(str(digest)) == 64


def test_failing_seed_reports_its_line_and_leaves_nothing(
    make_project: ProjectFactory, supamigrate_server: Server
) -> None:
    project = make_project(
        {"1_a.sql": GOOD}, seed="insert into public.a values (1);\ninsert into public.a values (null);\n"
    )
    name = unique_name("seedfail")
    with pytest.raises(MigrationError) as exc:
        build_database(supamigrate_server, name, project)
    assert (exc.value.path.name, exc.value.line, exc.value.sqlstate) == ("seed.sql", 2, "23502")
    with psycopg.connect(supamigrate_server.conninfo("postgres")) as conn:
        assert conn.execute("select count(*) from pg_database where datname = %s", (name,)).fetchone() == (0,)
    drop_database(supamigrate_server, name)


# -- statements told from their parse trees, located past leading comments ------------------------


def test_an_extension_error_after_a_comment_is_located_at_the_create(
    make_project: ProjectFactory, supamigrate_server: Server
) -> None:
    # Comments before the statement (nested, too) and inside it: the tree says what it is.
    sql = "select 1;\n-- maps; later\n/* a /* b */ */  create /* the real one */ extension postgis;\n"
    err = build_error(supamigrate_server, make_project({"1_ext.sql": sql}))
    assert (err.path.name, err.line, err.column) == ("1_ext.sql", 3, 18)
    assert 'extension "postgis" is not available' in err.message
    assert err.statement == "-- maps; later\n/* a /* b */ */  create /* the real one */ extension postgis"


def test_a_commit_without_begin_applies_with_the_clis_warning_at_its_keyword(
    make_project: ProjectFactory, supamigrate_server: Server
) -> None:
    # Issue 14: the CLI's batch runs it (PostgreSQL warns, the file applies); it used to be refused.
    name = unique_name("tx")
    result = build_database(supamigrate_server, name, make_project({"1_tx.sql": GOOD + "/* c */\n  commit;\n"}))
    try:
        assert [m.filename for m in result.apply.applied] == ["1_tx.sql"]
        warning = "1_tx.sql:3:3: WARNING 25P01 there is no transaction in progress"
        assert any(warning in w for w in result.apply.warnings)
    finally:
        drop_database(supamigrate_server, name)


def test_savepoints_and_commented_begin_are_no_transaction_control(
    make_project: ProjectFactory, built: Callable[..., str]
) -> None:
    # Issue 14: savepoints need a transaction block, which the CLI's batch is not, so the file opens one.
    body = "-- begin;\nsavepoint a;\ninsert into public.a values (1);\nrollback to savepoint a;\nrelease a;\n"
    conninfo = built(make_project({"1_sp.sql": "begin;\n" + GOOD + body + "commit;\n"}))
    assert query(conninfo, "select count(*) from public.a") == [(0,)]


def test_a_savepoint_outside_begin_fails_as_in_the_clis_batch(
    make_project: ProjectFactory, supamigrate_server: Server
) -> None:
    err = build_error(supamigrate_server, make_project({"1_sp.sql": GOOD + "\n  savepoint a;\n"}))
    assert (err.path.name, err.line, err.column, err.sqlstate) == ("1_sp.sql", 3, 3, "25P01")
    assert err.message == "SAVEPOINT can only be used in transaction blocks"
    assert err.hint is not None and "BEGIN; ... COMMIT;" in err.hint
