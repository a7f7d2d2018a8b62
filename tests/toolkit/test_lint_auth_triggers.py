"""SB018, the sign-up trap: a trigger on auth.users / auth.identities whose function the auth
service (supabase_auth_admin, search_path auth) cannot run. Projects are written into tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from .lintkit import at, make_project, places, rule_findings

M1 = "20240101000001_m1.sql"
M2 = "20240101000002_m2.sql"

PROFILES = """create table public.profiles (
  id uuid primary key references auth.users on delete cascade,
  full_name text
);
alter table public.profiles enable row level security;
"""

INVOKER = """create function public.handle_new_user()
returns trigger
language plpgsql
as $$
begin
  insert into public.profiles (id, full_name) values (new.id, new.raw_user_meta_data ->> 'full_name');
  return new;
end;
$$;

create trigger on_auth_user_created
  after insert on auth.users
  for each row execute procedure public.handle_new_user();
"""

EMPTY_PATH = """create function public.handle_new_identity()
returns trigger
language plpgsql
security definer set search_path = ''
as $$
begin
  update profiles set full_name = new.identity_data ->> 'full_name' where id = new.user_id;
  return new;
end;
$$;

create trigger on_auth_identity_created
  after insert on auth.identities
  for each row execute function public.handle_new_identity();
"""


def test_sb018_an_invoker_trigger_function_writing_a_table_the_auth_role_may_not(tmp_path: Path) -> None:
    found = rule_findings(make_project(tmp_path, [PROFILES, INVOKER]), "SB018")
    assert places(found) == [(M2, 1, 1)]
    assert found[0].message == (
        "public.handle_new_user is not SECURITY DEFINER, so trigger on_auth_user_created on auth.users"
        f" ({M2}:11) runs it as supabase_auth_admin, which has no INSERT on public.profiles: sign-up"
        ' fails with "Database error saving new user" (42501 permission denied for table profiles)'
    )


def test_sb018_security_definer_with_an_empty_search_path_and_an_unqualified_name(tmp_path: Path) -> None:
    found = rule_findings(make_project(tmp_path, [PROFILES, EMPTY_PATH]), "SB018")
    assert places(found) == [(M2, *at(EMPTY_PATH, "profiles set"))]
    assert found[0].message == (
        "public.handle_new_identity runs with search_path '' (its own) when trigger"
        f" on_auth_identity_created on auth.identities ({M2}:12) fires it: the unqualified name profiles"
        ' finds no table (only pg_catalog is searched), so sign-up fails with "Database error saving new'
        ' user" (42P01 relation "profiles" does not exist)'
    )


def test_sb018_an_unqualified_name_under_the_auth_services_search_path(tmp_path: Path) -> None:
    sql = INVOKER.replace("insert into public.profiles", "insert into profiles")
    granted = PROFILES + "grant insert on profiles to supabase_auth_admin;\n"
    found = rule_findings(make_project(tmp_path, [granted, sql]), "SB018")
    assert places(found) == [(M2, *at(sql, "profiles (id"))]
    assert "runs with search_path auth (the auth service's)" in found[0].message
    assert "the migrations create public.profiles, which is not on that path" in found[0].message


def test_sb018_not_for_the_supabase_way_grants_a_later_fix_or_other_tables(tmp_path: Path) -> None:
    definer = INVOKER.replace("language plpgsql\n", "language plpgsql\nsecurity definer set search_path = ''\n")
    assert rule_findings(make_project(tmp_path / "a", [PROFILES, definer]), "SB018") == []
    granted = PROFILES + "grant insert on table public.profiles to supabase_auth_admin;\n"
    assert rule_findings(make_project(tmp_path / "b", [granted, INVOKER]), "SB018") == []
    fixed = (
        "alter function public.handle_new_user() security definer set search_path = '';\n"
        "create or replace function public.handle_new_identity() returns trigger language plpgsql\n"
        "security definer set search_path = '' as $$ begin update public.profiles set full_name = null"
        " where id = new.user_id; return new; end; $$;\n"
    )
    project = make_project(tmp_path / "c", [PROFILES, INVOKER, EMPTY_PATH, fixed])
    assert rule_findings(project, "SB018") == []
    dropped = "drop trigger on_auth_user_created on auth.users;\n"
    assert rule_findings(make_project(tmp_path / "d", [PROFILES, INVOKER, dropped]), "SB018") == []
    elsewhere = INVOKER.replace("on auth.users", "on public.profiles")
    assert rule_findings(make_project(tmp_path / "e", [PROFILES, elsewhere]), "SB018") == []


def test_sb018_execute_revoked_from_public_and_not_granted_back(tmp_path: Path) -> None:
    granted = PROFILES + "grant insert on table public.profiles to supabase_auth_admin;\n"
    revoked = "revoke execute on function public.handle_new_user() from public;\n"
    found = rule_findings(make_project(tmp_path / "a", [granted, INVOKER, revoked]), "SB018")
    assert "which has no EXECUTE on public.handle_new_user:" in found[0].message
    regranted = revoked + "grant execute on function public.handle_new_user() to supabase_auth_admin;\n"
    assert rule_findings(make_project(tmp_path / "b", [granted, INVOKER, regranted]), "SB018") == []


def test_sb018_an_unqualified_call_of_a_function_the_migrations_create_elsewhere(tmp_path: Path) -> None:
    helper = (
        "create function public.display_name(meta jsonb) returns text language sql immutable\n"
        "as $$ select meta ->> 'full_name' $$;\n"
    )
    definer = INVOKER.replace("language plpgsql\n", "language plpgsql\nsecurity definer set search_path = ''\n")
    sql = definer.replace("new.raw_user_meta_data ->> 'full_name'", "display_name(new.raw_user_meta_data)")
    found = rule_findings(make_project(tmp_path / "a", [PROFILES + helper, sql]), "SB018")
    assert places(found) == [(M2, *at(sql, "display_name("))]
    assert found[0].message.endswith(
        "the unqualified call display_name() finds no function (the migrations create public.display_name,"
        ' which is not on that path), so sign-up fails with "Database error saving new user" (42883 function'
        " display_name(...) does not exist)"
    )
    qualified = definer.replace("new.raw_user_meta_data ->> 'full_name'", "public.display_name(new.raw_user_meta_data)")
    assert rule_findings(make_project(tmp_path / "b", [PROFILES + helper, qualified]), "SB018") == []


SIGN_UP = (
    "insert into auth.users (instance_id, id, aud, role, email, raw_user_meta_data)"
    " values ('00000000-0000-0000-0000-000000000000', 'a1a1a1a1-0000-4000-8000-0000000000ff',"
    " 'authenticated', 'authenticated', 'alan@example.com', '{\"full_name\": \"Alan Turing\"}')"
)


@pytest.mark.parametrize(
    ("trap", "sqlstate", "error"),
    [
        (INVOKER, "42501", "permission denied for table profiles"),
        (
            INVOKER.replace("language plpgsql\n", "language plpgsql\nsecurity definer set search_path = ''\n").replace(
                "insert into public.profiles", "insert into profiles"
            ),
            "42P01",
            'relation "profiles" does not exist',
        ),
    ],
    ids=["invoker", "empty-search-path"],
)
def test_sb018_names_the_error_the_auth_services_insert_meets(
    tmp_path: Path, built: Callable[..., str], trap: str, sqlstate: str, error: str
) -> None:
    """The sign-up as GoTrue runs it (role supabase_auth_admin, its search_path auth) on the built
    project fails with exactly the error the static finding names."""
    project = make_project(tmp_path, [PROFILES, trap])
    (finding,) = rule_findings(project, "SB018")
    assert f"({sqlstate} {error})" in finding.message
    with psycopg.connect(built(project)) as conn:
        conn.execute("set local role supabase_auth_admin")
        conn.execute("set local search_path = auth")
        with pytest.raises(psycopg.Error) as raised:
            conn.execute(SIGN_UP)
    assert (raised.value.sqlstate, raised.value.diag.message_primary) == (sqlstate, error)
