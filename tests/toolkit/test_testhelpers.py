"""Our supabase_test_helpers (tests.*), dbdev.install, and a helpers-based project run as pgTAP files."""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from supamigrate import pgtap, testhelpers
from supamigrate.database import Server
from supamigrate.errors import ExtensionUnavailable
from supamigrate.platform.extensions import ExtensionPolicy
from supamigrate.server import EphemeralServer, ServerOptions
from supamigrate.sql.statement import Statement

FIXTURE = Path(__file__).parent / "fixtures" / "projects" / "helpers_tested"


def create(db: psycopg.Connection, statement: str) -> None:
    """Run an extension statement the way the migration and pgTAP runners do."""
    db.execute(ExtensionPolicy()(db, Statement(statement, 0)))


@pytest.fixture
def helpers(db: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """``db`` with the helpers created (rolled back with the test)."""
    create(db, 'create extension "basejump-supabase_test_helpers" version \'0.0.6\'')
    yield db


def one(db: psycopg.Connection, query: str, *params: object) -> object:
    row = db.execute(query, params or None).fetchone()
    assert row is not None
    return row[0]


# -- the extension ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "create extension supabase_test_helpers",
        'create extension if not exists "basejump-supabase_test_helpers" version \'0.0.6\'',
        'CREATE EXTENSION "basejump-supabase_test_helpers" WITH SCHEMA extensions VERSION "0.0.4"',
        "create extension supabase_test_helpers schema public version '0.0.1' cascade",
    ],
)
def test_both_names_install_with_any_version_or_schema_clause(db: psycopg.Connection, statement: str) -> None:
    create(db, statement)
    functions = db.execute(
        "select p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' || ' '"
        " || pg_get_function_result(p.oid) from pg_proc p where p.pronamespace = 'tests'::regnamespace"
        " and p.proname not like '\\_%' order by 1"
    ).fetchall()
    assert [f for (f,) in functions] == [
        "authenticate_as(identifier text) void",
        "authenticate_as_service_role() void",
        "clear_authentication() void",
        "create_supabase_user(identifier text, email text, phone text, metadata jsonb) uuid",
        "freeze_time(frozen_time timestamp with time zone) void",
        "get_supabase_uid(identifier text) uuid",
        "get_supabase_user(identifier text) json",
        "rls_enabled(testing_schema text) text",
        "rls_enabled(testing_schema text, testing_table text) text",
        "unfreeze_time() void",
    ]
    # No superuser, nothing in the share directory: the server still does not know the name.
    assert one(db, "select rolsuper from pg_roles where rolname = current_user") is False
    assert one(db, "select count(*) from pg_available_extensions where name like '%supabase_test_helpers'") == 0


def test_creating_it_twice_and_dropping_it_behave_like_an_extension(db: psycopg.Connection) -> None:
    create(db, "create extension supabase_test_helpers")
    create(db, "create extension if not exists supabase_test_helpers")  # a no-op
    with pytest.raises(psycopg.errors.DuplicateObject), db.transaction():
        create(db, "create extension supabase_test_helpers")
    create(db, "drop extension supabase_test_helpers")
    assert one(db, "select to_regprocedure('tests.authenticate_as(text)')") is None


def test_dbdev_install_of_the_helpers_is_a_no_op_that_succeeds(db: psycopg.Connection) -> None:
    create(db, 'create extension "supabase-dbdev"')
    assert one(db, "select dbdev.install('basejump-supabase_test_helpers')") is True
    assert one(db, "select dbdev.install('supabase-dbdev')") is True
    with pytest.raises(psycopg.errors.FeatureNotSupported) as exc, db.transaction():
        db.execute("select dbdev.install('olirice-index_advisor')")
    assert exc.value.diag.message_primary == "dbdev package olirice-index_advisor is not available here"
    assert "basejump-supabase_test_helpers" in (exc.value.diag.message_hint or "")


def test_a_pgtap_database_has_dbdev_unless_the_project_made_its_own(db: psycopg.Connection, tmp_path: Path) -> None:
    plain = tmp_path / "010-plain.test.sql"
    plain.write_text("select plan(1);\nselect pass('no dbdev here');\n")
    with db.transaction():
        pgtap.prepare_database(db, [plain])  # no file calls dbdev: no extra schema for schemas_are()
    assert one(db, "select to_regnamespace('dbdev')") is None
    calls = tmp_path / "000-setup.sql"
    calls.write_text("SELECT DbDev.install('basejump-supabase_test_helpers');\n")
    with db.transaction():
        pgtap.prepare_database(db, [plain, calls])
    assert one(db, "select dbdev.install('basejump-supabase_test_helpers')") is True
    db.execute(
        "create or replace function dbdev.install(package_name text) returns boolean language sql as 'select false'"
    )
    with db.transaction():
        pgtap.prepare_database(db)  # the project's dbdev is left alone
    assert one(db, "select dbdev.install('basejump-supabase_test_helpers')") is False
    assert set(testhelpers.PACKAGES) == {"supabase_test_helpers", "basejump-supabase_test_helpers", "supabase-dbdev"}


# -- users and callers --------------------------------------------------------------------------


def test_users_are_created_and_found_by_their_identifier(helpers: psycopg.Connection) -> None:
    db = helpers
    uid = one(db, "select tests.create_supabase_user('owner', 'owner@example.test', '+15555550100', %s)",
              json.dumps({"name": "Ada"}))
    plain = one(db, "select tests.create_supabase_user('plain')")
    user = one(db, "select tests.get_supabase_user('owner')")
    assert user == {
        "id": str(uid), "email": "owner@example.test", "phone": "+15555550100",
        "raw_user_meta_data": {"name": "Ada", "test_identifier": "owner"}, "raw_app_meta_data": {},
    }
    assert one(db, "select tests.get_supabase_uid('plain')") == plain
    assert one(db, "select email from auth.users where id = %s", plain) == f"{plain}@test.com"
    with pytest.raises(psycopg.errors.RaiseException, match="User with identifier nobody not found"), db.transaction():
        db.execute("select tests.get_supabase_uid('nobody')")


def test_authenticate_as_sets_the_role_and_claims_auth_uid_reads(helpers: psycopg.Connection) -> None:
    db = helpers
    uid = one(db, "select tests.create_supabase_user('member', 'member@example.test')")
    # A claim left by an earlier caller in the older form must not win over the new user.
    db.execute("select set_config('request.jwt.claim.sub', gen_random_uuid()::text, true)")
    db.execute("select tests.authenticate_as('member')")
    row = db.execute(
        "select current_user, auth.uid(), auth.role(), auth.email(), auth.jwt() ->> 'aud',"
        " auth.jwt() -> 'user_metadata' ->> 'test_identifier'"
    ).fetchone()
    assert row == ("authenticated", uid, "authenticated", "member@example.test", "authenticated", "member")
    db.execute("select tests.authenticate_as_service_role()")
    row = db.execute("select current_user, auth.uid(), auth.role()").fetchone()
    assert row == ("service_role", None, "service_role")
    db.execute("select tests.clear_authentication()")
    row = db.execute("select current_user, auth.uid(), current_setting('request.jwt.claims')").fetchone()
    assert row == ("anon", None, "")


def test_an_unknown_user_changes_nothing(helpers: psycopg.Connection) -> None:
    db = helpers
    with pytest.raises(psycopg.errors.RaiseException), db.transaction():
        db.execute("select tests.authenticate_as('ghost')")
    assert one(db, "select current_user") == "postgres"


def test_freeze_time_overrides_now_until_unfrozen(helpers: psycopg.Connection) -> None:
    db = helpers
    db.execute("create function public.stamp() returns timestamptz language sql as 'select now()'")
    before = one(db, "select current_setting('search_path')")
    db.execute("select tests.freeze_time('2024-02-29 12:00:00+00')")
    db.execute("select tests.freeze_time('2024-03-01 00:00:00+00')")  # again: the path is not doubled
    frozen = db.execute("select now()::text, public.stamp()::text, current_setting('search_path')").fetchone()
    assert frozen is not None
    assert frozen[:2] == ("2024-03-01 00:00:00+00", "2024-03-01 00:00:00+00")
    assert frozen[2] == f"test_overrides, {before}, pg_catalog"
    db.execute("select tests.unfreeze_time()")
    assert db.execute("select now() > '2025-01-01', current_setting('search_path')").fetchone() == (True, before)


# -- RLS assertions -----------------------------------------------------------------------------


def test_rls_assertions_name_what_is_wrong(helpers: psycopg.Connection) -> None:
    db = helpers
    db.execute("create schema app")
    db.execute("create table app.guarded (id int)")
    db.execute("alter table app.guarded enable row level security")
    db.execute("select plan(4)")
    assert one(db, "select tests.rls_enabled('app')") == (
        "ok 1 - All tables in the app schema should have row level security enabled"
    )
    db.execute("create table app.open_notes (id int)")
    assert str(one(db, "select tests.rls_enabled('app')")).splitlines() == [
        "not ok 2 - All tables in the app schema should have row level security enabled",
        "# Failed test 2: \"All tables in the app schema should have row level security enabled\"",
        "# without row level security: open_notes",
    ]
    assert str(one(db, "select tests.rls_enabled('app', 'guarded')")).startswith("ok 3 - guarded table in the app")
    assert str(one(db, "select tests.rls_enabled('app', 'missing')")).splitlines()[-1] == "# no table app.missing"


# -- pasted into a test file instead --------------------------------------------------------------

# What a project pastes into its first test file: the package's functions as CREATE OR REPLACE with
# the package's signatures (bodies of our own here).
PASTED = """
create schema if not exists tests;
create or replace function tests.create_supabase_user(
  identifier text, email text default null, phone text default null, metadata jsonb default null
) returns uuid security definer set search_path = auth, pg_temp language plpgsql as $$
declare new_id uuid := gen_random_uuid();
begin
  insert into auth.users (id, email, raw_user_meta_data) values (new_id, coalesce(email, 'pasted@test.com'),
    jsonb_build_object('test_identifier', identifier, 'pasted', true));
  return new_id;
end $$;
create or replace function tests.get_supabase_uid(identifier text) returns uuid security definer
set search_path = auth, pg_temp language sql as $$
  select id from auth.users where raw_user_meta_data ->> 'test_identifier' = identifier limit 1
$$;
create or replace function tests.rls_enabled(testing_schema text) returns text language sql as $$
  select ok(true, 'pasted rls_enabled')
$$;
"""


@pytest.mark.parametrize("order", ["extension first", "pasted first"])
def test_pasted_helpers_and_the_extension_do_not_conflict(db: psycopg.Connection, tmp_path: Path, order: str) -> None:
    extension = 'create extension if not exists "basejump-supabase_test_helpers" version \'0.0.6\';\n'
    setup = extension + PASTED if order == "extension first" else PASTED + extension
    path = tmp_path / "00000-supabase_test_helpers.sql"
    path.write_text(
        setup + textwrap.dedent(
            """
            select plan(2);
            select tests.create_supabase_user('a');
            select ok(tests.get_supabase_uid('a') is not null, 'pasted or ours, one surface');
            create schema app;
            create table app.notes (id bigint primary key);
            alter table app.notes enable row level security;
            select tests.rls_enabled('app');
            select * from finish();
            """
        )
    )
    run = pgtap.run_file(db, path, extensions=ExtensionPolicy())
    assert run.problems() == [] and len(run.assertions) == 2 and not run.failed
    pasted = order == "extension first"  # the later definition wins, as CREATE OR REPLACE does
    assert run.assertions[1].description == ("pasted rls_enabled" if pasted else
                                             "All tables in the app schema should have row level security enabled")


# -- a project whose pgTAP files use them ---------------------------------------------------------


def copy_project(pytester: pytest.Pytester) -> Path:
    shutil.copytree(FIXTURE, pytester.path, dirs_exist_ok=True)
    pytester.makeini("[pytest]\ntestpaths = supabase/tests\naddopts = -p no:cacheprovider\n")
    return pytester.path


def test_a_helpers_based_project_passes_as_supabase_test_db_runs_it(pytester: pytest.Pytester) -> None:
    copy_project(pytester)
    result = pytester.runpytest_subprocess("-v")  # the user's way: the plugin starts its own server
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(
        [
            "*000-setup-tests-hooks.sql::pgtap SUBPASSED*the shared owner exists*",
            "*010-accounts.test.sql::pgtap SUBPASSED*1 - All tables in the public schema should have*",
            "*010-accounts.test.sql::pgtap SUBPASSED*3 - auth.uid() is the signed-in user*",
            "*010-accounts.test.sql::pgtap SUBPASSED*5 - the creator is its owner|several columns in one row*",
            "*010-accounts.test.sql::pgtap PASSED*",
            "*020-frozen-time.test.sql::pgtap SUBPASSED*4 - what 000-setup committed is still there*",
            "*030-nothing-left-behind.test.sql::pgtap SUBPASSED*a rolled-back file leaves no user behind*",
        ]
    )
    # Spread over workers, a file still sees what the setup file commits.
    pytester.runpytest_subprocess("-n", "2").assert_outcomes(passed=4)


def test_an_rls_mistake_fails_the_helper_assertions(pytester: pytest.Pytester, supamigrate_server: Server) -> None:
    root = copy_project(pytester)
    (root / "supabase" / "migrations" / "20240201090000_open_up.sql").write_text(
        "-- the mistake: a policy meant for one account opens every account to every user\n"
        "ALTER TABLE public.account_user DISABLE ROW LEVEL SECURITY;\n"
        'CREATE POLICY "Anyone signed in can see accounts" ON public.accounts\n'
        "    FOR SELECT TO authenticated USING (true);\n"
    )
    result = pytester.runpytest("--supamigrate-db-url", supamigrate_server.conninfo("postgres"))
    result.assert_outcomes(passed=3, failed=3)  # the file and its two failed assertions
    result.stdout.fnmatch_lines(
        [
            "supabase/tests/database/010-accounts.test.sql:4: assertion 1 failed:"
            " All tables in the public schema should have row level security enabled",
            "# without row level security: account_user",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "supabase/tests/database/010-accounts.test.sql:28: assertion 8 failed: an outsider sees no account",
            "*SUBFAILED*8 - an outsider sees no account*",
        ]
    )
    assert "assertion 2 failed" not in result.stdout.str()  # accounts itself still has RLS


def test_pgtap_on_a_server_the_project_does_not_start(pytester: pytest.Pytester) -> None:
    # A CI service container: superuser postgres runs the migrations (whose ALTER DEFAULT
    # PRIVILEGES revoke EXECUTE from PUBLIC) and then creates pgTAP and the helpers.
    root = copy_project(pytester)
    # Without the shimmed extension: created by postgres after that revoke, its functions lose
    # EXECUTE too, which is the migration runner's to fix (extensions created as supabase_admin).
    (root / "supamigrate.toml").unlink()
    (root / "supabase" / "migrations" / "20240110083000_account_settings.sql").unlink()
    with EphemeralServer(ServerOptions(superuser="postgres")) as server:
        result = pytester.runpytest("--supamigrate-db-url", server.url("postgres", "postgres"))
    result.assert_outcomes(passed=4)


# -- pg_tle and database.dev's client, as dbdev's docs install them ----------------------------------


def test_the_dbdev_client_bootstrap_runs_offline(db: psycopg.Connection) -> None:
    # The docs' order: http, pg_tle, the client's SQL fetched from database.dev and installed as a
    # TLE, then the client itself; here the registry answers from the http shim.
    policy = ExtensionPolicy(frozenset({"http"}))
    db.execute(policy(db, Statement("create extension if not exists http with schema extensions", 0)))
    db.execute(policy(db, Statement("create extension if not exists pg_tle", 0)))
    db.execute(policy(db, Statement('drop extension if exists "supabase-dbdev"', 0)))
    assert one(db, "select pgtle.uninstall_extension_if_exists('supabase-dbdev')") is False
    installed = one(
        db,
        "select pgtle.install_extension('supabase-dbdev', resp.contents ->> 'version', 'package manager',"
        " resp.contents ->> 'sql')"
        " from extensions.http(('GET', 'https://api.database.dev/rest/v1/package_versions?select=sql,version'"
        " || '&package_name=eq.supabase-dbdev&order=version.desc&limit=1', null, null, null)) x,"
        " lateral (select ((row_to_json(x) -> 'content') #>> '{}')::json -> 0) resp(contents)",
    )
    assert installed is True
    for statement in ['create extension "supabase-dbdev"', 'drop extension if exists "supabase-dbdev"',
                      'create extension "supabase-dbdev"']:
        db.execute(policy(db, Statement(statement, 0)))
    assert one(db, "select dbdev.install('supabase-dbdev')") is True
    assert one(db, "select dbdev.install('basejump-supabase_test_helpers')") is True
    create(db, 'create extension if not exists "basejump-supabase_test_helpers" version \'0.0.6\'')
    assert one(db, "select tests.create_supabase_user('via_dbdev') is not null") is True


def test_an_extension_installed_with_pg_tle_is_created_from_its_sql(db: psycopg.Connection) -> None:
    # What `dbdev add` writes into a migration: the package's SQL handed to pgtle.install_extension.
    create(db, "create extension if not exists pg_tle")
    db.execute(
        "select pgtle.install_extension('acme-slugify', '1.0.0', 'URL slugs', $ext$"
        " create function @extschema@.slugify(value text) returns text language sql immutable"
        " as $$ select trim(both '-' from regexp_replace(lower(value), '[^a-z0-9]+', '-', 'g')) $$;"
        " $ext$)"
    )
    with pytest.raises(psycopg.errors.DuplicateObject), db.transaction():
        db.execute("select pgtle.install_extension('acme-slugify', '1.0.1', 'again', 'select 1')")
    assert db.execute("select * from pgtle.available_extensions()").fetchall() == [
        ("acme-slugify", "1.0.0", "URL slugs")
    ]
    with pytest.raises(ExtensionUnavailable):
        create(db, "create extension \"acme-slugify\" version '9.9.9'")  # a version never installed
    create(db, "create extension \"acme-slugify\" version '1.0.0' schema public")
    assert one(db, "select public.slugify('Hello, World!')") == "hello-world"
