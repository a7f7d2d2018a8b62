"""check's drift skips the diff engine when the catalog fingerprints agree: they must differ on
every change a project makes, platform tables included, and agree on column order alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from supamigrate.database import Server, connect, create_database, drop_database, unique_name
from supamigrate.diff.fingerprint import fingerprint
from supamigrate.platform import apply_stub

BASE_SQL = """
create table public.notes (id bigint generated always as identity primary key, owner uuid not null
  references auth.users (id) on delete cascade, body text, created_at timestamptz default now());
alter table public.notes enable row level security;
create policy "owners read" on public.notes for select to authenticated using ((select auth.uid()) = owner);
create function public.note_count() returns bigint language sql stable as 'select count(*) from public.notes';
"""

CHANGES = {
    "a column": "alter table public.notes add column title text;",
    "a default": "alter table public.notes alter column body set default '';",
    "a policy's expression": 'alter policy "owners read" on public.notes using (owner = (select auth.uid()));',
    "a grant": "revoke select on public.notes from anon;",
    "a comment": "comment on table public.notes is 'what a user wrote';",
    "a function body": "create or replace function public.note_count() returns bigint language sql stable"
    " as 'select count(*) + 0 from public.notes';",
    "a trigger on auth.users": "create function public.on_signup() returns trigger language plpgsql security definer"
    " set search_path = '' as $$ begin return new; end $$;"
    " create trigger on_signup after insert on auth.users for each row execute function public.on_signup();",
    "a storage policy": "create policy \"own files\" on storage.objects for insert to authenticated"
    " with check ((select auth.uid()) = owner);",
    "a publication's tables": "alter publication supabase_realtime add table public.notes;",
    "an index": "create index on public.notes (created_at);",
    "an enum value": "create type public.mood as enum ('calm');",
    "default privileges": "alter default privileges revoke execute on functions from public;",
}


@pytest.fixture
def stubbed(supamigrate_server: Server) -> Iterator[list[str]]:
    """Two stubbed databases holding BASE_SQL; yields their names."""
    names = [unique_name("toolkit_print") for _ in range(2)]
    try:
        for name in names:
            create_database(supamigrate_server, name)
            with connect(supamigrate_server.conninfo(name)) as conn:
                apply_stub(conn)
                conn.execute("do $$ begin if not exists (select from pg_publication where pubname ="
                             " 'supabase_realtime') then create publication supabase_realtime; end if; end $$")
                conn.execute(BASE_SQL)
        yield names
    finally:
        for name in names:
            drop_database(supamigrate_server, name)


def prints(server: Server, names: list[str]) -> list[list[tuple[str, ...]]]:
    out = []
    for name in names:
        with connect(server.conninfo(name)) as conn:
            out.append(fingerprint(conn))
    return out


def test_two_databases_built_alike_have_one_fingerprint(supamigrate_server: Server, stubbed: list[str]) -> None:
    first, second = prints(supamigrate_server, stubbed)
    assert first == second
    assert ("policy", "public", "notes", "owners read") in {r[:4] for r in first}  # platform rows read too


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_change_a_migration_makes_changes_the_fingerprint(
    supamigrate_server: Server, stubbed: list[str], change: str
) -> None:
    with connect(supamigrate_server.conninfo(stubbed[1])) as conn:
        conn.execute(CHANGES[change])
    first, second = prints(supamigrate_server, stubbed)
    assert first != second, change


def test_column_order_alone_is_no_difference(supamigrate_server: Server, stubbed: list[str]) -> None:
    with connect(supamigrate_server.conninfo(stubbed[0])) as conn:
        conn.execute("create table public.pairs (a int, b text)")
    with connect(supamigrate_server.conninfo(stubbed[1])) as conn:
        conn.execute("create table public.pairs (b text); alter table public.pairs add column a int")
    first, second = prints(supamigrate_server, stubbed)
    assert first == second
