"""What the schema model keeps for SB018 and the column rules: grants and revokes, triggers and
their functions, a function's own search_path and latest definition, column types and renames."""

from __future__ import annotations

from pathlib import Path

from supamigrate.lint.linter import check_rules, read_context

from .lintkit import make_project

SCHEMA = """create table public.profiles (id uuid primary key, nick varchar(20), score int);
create table public.teams (id bigint primary key);
create schema private;
create table private.audit (id bigint primary key);
create function public.touch() returns trigger language plpgsql as $$ begin return new; end $$;
create trigger touch_profiles before update on public.profiles for each row execute function touch();
create trigger on_auth_user_created after insert on auth.users for each row execute function public.touch();
"""
LATER = """grant select, insert on public.profiles to supabase_auth_admin;
grant all on all tables in schema private to supabase_auth_admin, anon;
revoke insert on table public.profiles from supabase_auth_admin;
revoke all on private.audit from anon;
grant all on table public.teams to supabase_auth_admin;
revoke truncate, references, trigger, delete on public.teams from supabase_auth_admin;
revoke execute on function public.touch() from public;
drop trigger touch_profiles on public.profiles;
create or replace function public.touch() returns trigger language plpgsql security definer
  set search_path = '' as $$ begin return new; end $$;
alter table public.profiles rename column nick to handle;
alter table public.profiles alter column score type bigint;
"""


def test_grants_triggers_functions_and_column_types(tmp_path: Path) -> None:
    ctx = read_context(make_project(tmp_path, [SCHEMA, LATER]))
    check_rules(ctx)
    state = ctx.state
    assert state.grants == {
        ("table:public.profiles", "supabase_auth_admin"): {"select"},
        ("table:private.audit", "supabase_auth_admin"): {"all"},
        ("table:private.audit", "anon"): set(),
        ("table:public.teams", "supabase_auth_admin"): {"select", "insert", "update"},
        ("function:public.touch", "public"): set(),
    }
    assert state.granted("table", "private.audit", "supabase_auth_admin", "delete")
    assert not state.granted("table", "public.profiles", "supabase_auth_admin", "insert")
    assert [(t.name, t.table, t.function) for t in state.triggers.values()] == [
        ("on_auth_user_created", "auth.users", "public.touch")
    ]
    touch = state.functions["public.touch"]
    assert touch.path == () and touch.definer_offset is not None
    assert touch.definition is not None and touch.definition.file.name.endswith("_m2.sql")
    assert state.tables["public.profiles"].types == {"id": "uuid", "handle": "varchar", "score": "int8"}
    assert list(state.tables["public.profiles"].columns) == ["id", "score", "handle"]
