"""Platform smoke: the requests Supabase's services make, run on projects with each trap.

Each project under fixtures/smoke is written as a real one would be: a profile trigger on
auth.users, posts owned by their author, a seed with a user. The traps are the ones teams meet
after a migration ships: a trigger function that is not security definer, one that is but names
a table unqualified under an empty search_path, a foreign key to auth.users without ON DELETE
holding a row. Every failure message is asserted whole.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from supamigrate import commands
from supamigrate.build import build_database
from supamigrate.database import Server, connect, drop_database, unique_name
from supamigrate.errors import ProjectError
from supamigrate.findings import FileLocation, Finding, Level
from supamigrate.project import Project
from supamigrate.smoke import REQUESTS, run_smoke
from supamigrate.smoke.auth import delete_user, sign_up
from supamigrate.smoke.requests import SmokeError
from supamigrate.toolconfig import SmokeSection, ToolConfig

from .conftest import PG_BIN

SMOKE = Path(__file__).parent / "fixtures" / "smoke"
SEEDED = "b2b2b2b2-0000-4000-8000-000000000001"

Smoke = Callable[[str | Path], tuple[Project, psycopg.Connection]]

NO_DEFINER = (
    'sign_up_email, confirm_email: Supabase Auth answers "Database error saving new user": 42501 permission'
    " denied for table profiles (function public.handle_new_user)"
)
NO_DEFINER_FIX = (
    "make public.handle_new_user() `security definer set search_path = ''` and schema-qualify the names in it:"
    " the service runs it as supabase_auth_admin, which may not do this (permission denied for table profiles)"
)
UNQUALIFIED = (
    'sign_up_email, confirm_email: Supabase Auth answers "Database error saving new user": 42P01 relation'
    ' "profiles" does not exist (function public.handle_new_user)'
)
UNQUALIFIED_FIX = (
    "write `public.profiles` in public.handle_new_user(): its search_path is empty, so unqualified names are"
    " not found"
)
NO_ON_DELETE = (
    'delete_user: Supabase Auth answers "Database error deleting user": 23503 update or delete on table "users"'
    ' violates foreign key constraint "posts_author_id_fkey" on table "posts"'
    " (constraint public.posts.posts_author_id_fkey)"
)
NO_ON_DELETE_FIX = (
    "declare the foreign key on public.posts `on delete cascade` (or `on delete set null`) so that deleting the"
    " user deletes (or detaches) its rows"
)


@pytest.fixture
def smoke(supamigrate_server: Server) -> Iterator[Smoke]:
    """``smoke("correct")``: the project under fixtures/smoke built, and a connection as postgres."""
    made: list[tuple[str, psycopg.Connection]] = []

    def factory(where: str | Path) -> tuple[Project, psycopg.Connection]:
        project = Project.load(where if isinstance(where, Path) else SMOKE / where)
        name = unique_name("smoke")
        build_database(supamigrate_server, name, project)
        conn = connect(supamigrate_server.conninfo(name, "postgres"))
        made.append((name, conn))
        return project, conn

    yield factory
    for name, conn in made:
        conn.close()
        drop_database(supamigrate_server, name)


def smoke_findings(project: Project, conn: psycopg.Connection) -> list[Finding]:
    """The smoke findings of ``project`` built on ``conn``'s database."""
    return run_smoke(conn, project)


def test_a_correct_project_passes_every_request_and_keeps_nothing(smoke: Smoke) -> None:
    project, conn = smoke("correct")
    timings: dict[str, float] = {}
    assert run_smoke(conn, project, timings=timings) == []
    # config.toml enables phone and anonymous sign-ups; [smoke] names an RPC: all ran.
    assert set(timings) == {
        "sign_up_email", "sign_up_phone", "sign_in_anonymous", "confirm_email", "sign_in_password",
        "update_user_metadata", "delete_user", "postgrest_rpc",
    }
    assert conn.execute("select count(*) from auth.users").fetchone() == (1,)
    assert conn.execute("select count(*) from public.profiles").fetchone() == (1,)
    assert conn.execute("select count(*) from auth.sessions").fetchone() == (0,)
    assert conn.execute("select current_user, current_setting('search_path')").fetchone() == (
        "postgres", '"\\$user", public, extensions',
    )


def test_sign_up_runs_the_trigger_as_supabase_auth_admin_with_search_path_auth(smoke: Smoke) -> None:
    _, conn = smoke("correct")
    with conn.transaction(force_rollback=True):
        conn.execute(
            "create function public.seen_as() returns trigger language plpgsql as $$ begin"
            " insert into public.seen values (current_user, current_setting('search_path')); return new; end $$"
        )
        conn.execute("create table public.seen (who text, path text)")
        conn.execute("grant insert on public.seen to supabase_auth_admin")
        conn.execute("create trigger seen after insert on auth.users for each row execute function public.seen_as()")
        user = sign_up(conn, "Eve@Example.com", user_metadata={"display_name": "Eve"})
        assert conn.execute("select who, path from public.seen").fetchall() == [("supabase_auth_admin", "auth")]
        row = conn.execute(
            "select u.email, u.role, u.raw_app_meta_data, u.raw_user_meta_data, u.email_confirmed_at is not null,"
            " u.last_sign_in_at is not null, p.display_name, i.provider,"
            " (select count(*) from auth.sessions s where s.user_id = u.id),"
            " (select count(*) from auth.refresh_tokens t where t.user_id = u.id::text)"
            " from auth.users u join public.profiles p on p.id = u.id join auth.identities i on i.user_id = u.id"
            " where u.id = %s", (user.id,)
        ).fetchone()
        assert row == (
            "eve@example.com", "authenticated", {"provider": "email", "providers": ["email"]},
            {"display_name": "Eve", "email_verified": True}, True, True, "Eve", "email", 1, 1,
        )
        assert conn.execute("select current_user").fetchone() == ("postgres",)


def test_handle_new_user_without_security_definer_fails_sign_up(smoke: Smoke) -> None:
    project, conn = smoke("no_definer")
    (finding,) = smoke_findings(project, conn)
    assert finding.message == NO_DEFINER
    assert finding.location == FileLocation(Path("supabase/migrations/20240301000000_profiles.sql"), 11, 1)
    assert finding.hint == NO_DEFINER_FIX
    assert (finding.level, finding.code, finding.source) == (Level.ERROR, "smoke", "smoke")
    assert finding.detail == (
        'CONTEXT: SQL statement "insert into public.profiles (id, display_name)\n'
        "  values (new.id, new.raw_user_meta_data ->> 'display_name')\"\n"
        "PL/pgSQL function public.handle_new_user() line 3 at SQL statement"
    )


def test_security_definer_with_an_empty_search_path_and_an_unqualified_name_fails_sign_up(smoke: Smoke) -> None:
    project, conn = smoke("empty_search_path")
    (finding,) = smoke_findings(project, conn)
    assert finding.message == UNQUALIFIED
    assert finding.where == "supabase/migrations/20240301000000_profiles.sql:10:1"
    assert finding.hint == UNQUALIFIED_FIX
    assert finding.extras["sqlstate"] == "42P01"


def test_a_foreign_key_to_auth_users_without_on_delete_fails_deleting_its_user(smoke: Smoke) -> None:
    project, conn = smoke("fk_no_action")
    (finding,) = smoke_findings(project, conn)
    assert finding.message == NO_ON_DELETE
    # At the REFERENCES of the column that declares it.
    assert finding.where == "supabase/migrations/20240302000000_posts.sql:4:27"
    assert finding.hint == NO_ON_DELETE_FIX
    assert finding.detail == f'DETAIL: Key (id)=({SEEDED}) is still referenced from table "posts".'
    # Rolled back: the seeded user and its post are still there.
    assert conn.execute("select count(*) from public.posts").fetchone() == (1,)


def test_the_core_functions_raise_the_error_auth_answers(smoke: Smoke) -> None:
    _, conn = smoke("no_definer")
    with conn.transaction(force_rollback=True), pytest.raises(SmokeError) as raised:
        sign_up(conn, "ada@example.org")
    assert str(raised.value) == (
        "sign_up_email: Database error saving new user: 42501 permission denied for table profiles"
        f" (function public.handle_new_user)\nfix: {NO_DEFINER_FIX}"
    )
    _, conn = smoke("fk_no_action")
    with conn.transaction(force_rollback=True):
        with pytest.raises(SmokeError) as refused:
            delete_user(conn, uuid.UUID(SEEDED))
        assert refused.value.failure.culprit == "constraint public.posts.posts_author_id_fkey"
        assert refused.value.failure.service_error == "Database error deleting user"
        # The connection is usable and back to postgres after the refused request.
        assert conn.execute("select current_user").fetchone() == ("postgres",)


def test_anonymous_and_phone_users_have_no_email(smoke: Smoke, tmp_path: Path) -> None:
    root = tmp_path / "email_required"
    (root / "supabase" / "migrations").mkdir(parents=True)
    (root / "supabase" / "config.toml").write_text(
        'project_id = "email-required"\n[auth]\nenable_anonymous_sign_ins = true\n[auth.sms]\nenable_signup = true\n'
    )
    (root / "supabase" / "migrations" / "20240301000000_profiles.sql").write_text(
        "create table public.profiles (\n"
        "  id uuid primary key references auth.users (id) on delete cascade,\n"
        "  email text not null\n"
        ");\n\n"
        "create function public.handle_new_user() returns trigger\n"
        "language plpgsql security definer set search_path = ''\n"
        "as $$\nbegin\n  insert into public.profiles (id, email) values (new.id, new.email);\n"
        "  return new;\nend;\n$$;\n\n"
        "create trigger on_auth_user_created after insert on auth.users\n"
        "  for each row execute function public.handle_new_user();\n"
    )
    project, conn = smoke(root)
    found = [(f.message, f.where, f.hint) for f in run_smoke(conn, project)]
    fix = (
        "public.profiles.email gets no value by public.handle_new_user() for this user (anonymous and phone users"
        " have no email): allow NULL or supply a value"
    )
    where = "supabase/migrations/20240301000000_profiles.sql:6:1"
    assert found == [
        ('sign_up_phone: Supabase Auth answers "Database error saving new user": 23502 null value in column'
         ' "email" of relation "profiles" violates not-null constraint (function public.handle_new_user)', where, fix),
        ('sign_in_anonymous: Supabase Auth answers "Database error creating anonymous user": 23502 null value in'
         ' column "email" of relation "profiles" violates not-null constraint (function public.handle_new_user)',
         where, fix),
    ]


def test_smoke_section_turns_requests_off_and_checks_names(smoke: Smoke, tmp_path: Path) -> None:
    project, conn = smoke("fk_no_action")
    assert run_smoke(conn, project, SmokeSection(disable=("delete_user",))) == []
    assert run_smoke(conn, project, SmokeSection(enabled=False)) == []
    with pytest.raises(ProjectError) as raised:
        run_smoke(conn, project, SmokeSection(disable=("sign_up",)))
    assert raised.value.message == (
        f"{project.root / 'supamigrate.toml'}: [smoke] disable: expected known requests, got unknown requests: sign_up"
    )
    assert raised.value.hint == f"known requests: {', '.join(r.name for r in REQUESTS)}"
    path = tmp_path / "supamigrate.toml"
    config = ToolConfig.from_mapping(
        {"smoke": {"disable": ["sign_up_phone"], "user_metadata": {"full_name": "Ada"}, "email": "qa@example.com"}},
        path,
    )
    assert config.smoke == SmokeSection(disable=("sign_up_phone",), email="qa@example.com",
                                        user_metadata={"full_name": "Ada"})
    with pytest.raises(ProjectError) as bad:
        ToolConfig.from_mapping({"smoke": {"user_metadata": "Ada"}}, path)
    expected = 'expected a table, e.g. { full_name = "Ada" }'
    assert bad.value.message == f"{path}: [smoke] user_metadata: {expected}, got 'Ada'"


def new_project(tmp_path: Path, name: str) -> Project:
    """The trap project ``name`` copied out of this repository's git work tree, so that its
    migrations are new (inside it they are committed: applied, by the baseline)."""
    shutil.copytree(SMOKE / name, tmp_path / name)
    return Project.load(tmp_path / name)


def test_check_fails_on_each_trap_naming_it_and_its_file_line(tmp_path: Path) -> None:
    for name, message, where in (
        ("no_definer", NO_DEFINER, "supabase/migrations/20240301000000_profiles.sql:11:1"),
        ("fk_no_action", NO_ON_DELETE, "supabase/migrations/20240302000000_posts.sql:4:27"),
    ):
        report = commands.check(new_project(tmp_path, name), pg_bin=PG_BIN)
        smoke = [(f.message, f.where) for f in report.findings if f.code == "smoke"]
        assert smoke == [(message, where)] and not report.ok
        assert "smoke" in report.timings
    report = commands.check(new_project(tmp_path, "correct"), pg_bin=PG_BIN)
    assert [f for f in report.findings if f.code == "smoke"] == []


def test_a_trap_an_applied_migration_made_is_a_warning_and_an_error_with_all(tmp_path: Path) -> None:
    project = new_project(tmp_path, "fk_no_action")
    git = ["git", "-C", str(project.root), "-c", "user.name=t", "-c", "user.email=t@localhost"]
    for args in (["init", "-q"], ["add", "."], ["commit", "-q", "-m", "pushed"]):
        subprocess.run([*git, *args], check=True, capture_output=True)
    report = commands.check(project, pg_bin=PG_BIN)
    (smoke,) = [f for f in report.findings if f.code == "smoke"]
    assert (smoke.level, smoke.message, smoke.where) == (
        Level.WARNING, NO_ON_DELETE, "supabase/migrations/20240302000000_posts.sql:4:27"
    )
    assert smoke.hint is not None and smoke.hint.endswith(
        "(the culprit is in an applied migration, so production has this trap today: fix it in a new migration)"
    )
    assert report.ok
    report = commands.check(project, pg_bin=PG_BIN, judge_all=True)
    assert [f.level for f in report.findings if f.code == "smoke"] == [Level.ERROR] and not report.ok


def test_a_pre_request_function_that_raises_fails_every_data_api_request(smoke: Smoke, tmp_path: Path) -> None:
    root = tmp_path / "pre_request"
    (root / "supabase" / "migrations").mkdir(parents=True)
    (root / "supabase" / "config.toml").write_text('project_id = "pre-request"\n')
    (root / "supabase" / "migrations" / "20240301000000_pre_request.sql").write_text(
        "-- Every Data API request must carry a client header; the check forgot the anon key's callers.\n"
        "create function public.check_request() returns void\n"
        "language plpgsql set search_path = ''\n"
        "as $$\nbegin\n"
        "  if current_setting('request.headers', true)::json ->> 'x-client-info' is null then\n"
        "    raise exception 'missing x-client-info header';\n"
        "  end if;\nend;\n$$;\n\n"
        "do $$ begin\n"
        "  execute format('alter role authenticator in database %I set pgrst.db_pre_request = %L',\n"
        "                 current_database(), 'public.check_request');\n"
        "end $$;\n"
    )
    project, conn = smoke(root)
    (finding,) = run_smoke(conn, project)
    assert finding.message == (
        'postgrest_pre_request: PostgREST answers "HTTP 400 to every request of anon": P0001 missing'
        " x-client-info header (function public.check_request)"
    )
    assert finding.where == "supabase/migrations/20240301000000_pre_request.sql:2:1"
    assert finding.hint == (
        "public.check_request() raises it itself: let this request through if it should pass, or turn the request"
        " off in [smoke] disable if refusing it is the point"
    )


def test_an_rpc_the_api_roles_may_not_execute_is_refused(smoke: Smoke, tmp_path: Path) -> None:
    root = tmp_path / "rpc"
    (root / "supabase" / "migrations").mkdir(parents=True)
    (root / "supabase" / "config.toml").write_text('project_id = "rpc"\n')
    (root / "supamigrate.toml").write_text('[smoke]\nrpc = { "public.add" = { a = 1, b = 2 } }\n')
    (root / "supabase" / "migrations" / "20240301000000_rpc.sql").write_text(
        "-- Revoked from public by habit, and never granted back to the API roles.\n"
        "create function public.add(a int, b int) returns int\n"
        "language sql immutable set search_path = ''\n"
        "as $$ select a + b $$;\n\n"
        "revoke execute on function public.add(int, int) from public, anon, authenticated;\n"
    )
    project, conn = smoke(root)
    (finding,) = run_smoke(conn, project)
    assert finding.message == (
        'postgrest_rpc: PostgREST answers "HTTP 403 to POST /rpc/add": 42501 permission denied for function add'
        " (function public.add)"
    )
    assert finding.where == "supabase/migrations/20240301000000_rpc.sql:2:1"
    assert finding.hint == "grant execute on function public.add to authenticated"


def test_a_trigger_needing_sign_up_metadata_is_a_warning_naming_smoke_user_metadata(
    smoke: Smoke, tmp_path: Path
) -> None:
    root = tmp_path / "handle_required"
    (root / "supabase" / "migrations").mkdir(parents=True)
    (root / "supabase" / "config.toml").write_text('project_id = "handle-required"\n')
    (root / "supabase" / "migrations" / "20240301000000_accounts.sql").write_text(
        "create table public.accounts (\n"
        "  id uuid primary key references auth.users (id) on delete cascade,\n"
        "  handle text not null unique\n"
        ");\n\n"
        "create function public.register_account() returns trigger\n"
        "language plpgsql security definer set search_path = ''\n"
        "as $$\nbegin\n  insert into public.accounts (id, handle)\n"
        "  values (new.id, new.raw_user_meta_data ->> 'handle');\n"
        "  return new;\nend;\n$$;\n\n"
        "create trigger on_auth_user_created after insert on auth.users\n"
        "  for each row execute function public.register_account();\n"
    )
    project, conn = smoke(root)
    found = [(f.level, f.message, f.where, f.hint) for f in run_smoke(conn, project)]
    assert found == [(
        Level.WARNING,
        'sign_up_email, confirm_email: Supabase Auth answers "Database error saving new user": 23502 null value in'
        ' column "handle" of relation "accounts" violates not-null constraint (function public.register_account)',
        "supabase/migrations/20240301000000_accounts.sql:6:1",
        "public.accounts.handle gets no value by public.register_account() from the sign-up's user_metadata"
        ' (raw_user_meta_data): set [smoke] user_metadata to what your app sends, e.g. { handle = "smoke-{tag}" }'
        " ({tag}: each sign-up's own), or let the column take NULL or a default",
    )]
    # Each sign-up gets its own handle from {tag}: the unique column takes them all.
    assert run_smoke(conn, project, SmokeSection(user_metadata={"handle": "ada-{tag}"})) == []
