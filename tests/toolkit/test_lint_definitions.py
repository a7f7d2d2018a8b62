"""SB023 (identifiers over 63 bytes) and SB024-SB027 (column types a Supabase app regrets), each
on SQL that must trigger it and SQL that must not. Projects are written into tmp_path."""

from __future__ import annotations

from pathlib import Path

from .lintkit import at, make_project, places, rule_findings

M1 = "20240101000001_m1.sql"
M2 = "20240101000002_m2.sql"

LONG = "notifications_preferences_for_every_workspace_member_by_channel_x"  # 65 bytes


def test_sb023_identifiers_postgresql_truncates(tmp_path: Path) -> None:
    sql = f"""create table public.{LONG} (id bigint primary key);
create index "Überschriften_der_Benachrichtigungen_für_jedes_Teammitglied_idx" on public.{LONG} (id);
"""
    found = rule_findings(make_project(tmp_path, [sql]), "SB023")
    assert places(found) == [(M1, *at(sql, LONG)), (M1, *at(sql, '"Über'))]
    assert found[0].message == (
        f'identifier "{LONG}" is 65 bytes: PostgreSQL silently truncates it to the first 63'
        f' ("{LONG[:63]}"), so the object is not named as written'
    )
    assert found[0].level.name == "WARNING"
    assert "is 65 bytes" in found[1].message  # 63 characters: the umlauts take two bytes each


def test_sb023_not_for_63_bytes_or_long_strings(tmp_path: Path) -> None:
    name = LONG[:63]
    sql = f"""create table public.{name} (id bigint primary key);
comment on table public.{name} is '{LONG} {LONG}';
create function public.f() returns text language sql as $$ select '{LONG}' $$;
"""
    assert rule_findings(make_project(tmp_path, [sql]), "SB023") == []


TYPES = """create table public.events (
  id serial primary key,
  payload json,
  happened_at timestamp,
  kind varchar(20),
  code char(3),
  noted_at timestamp(3) without time zone
);
create table public.tallies (n smallint, label text, primary key (n));
alter table public.events add column extra json;
alter table public.events alter column kind type varchar(40);
"""


def test_sb024_to_sb027_types_on_create_add_and_alter(tmp_path: Path) -> None:
    project = make_project(tmp_path, [TYPES])
    jsonb = rule_findings(project, "SB024")
    assert places(jsonb) == [(M1, *at(TYPES, "payload")), (M1, *at(TYPES, "extra"))]
    assert jsonb[0].message == "public.events.payload is json: use jsonb, which is stored parsed and can be indexed"
    assert jsonb[0].level.name == "WARNING"
    assert places(rule_findings(project, "SB025")) == [(M1, *at(TYPES, "happened_at")), (M1, *at(TYPES, "noted_at"))]
    text = rule_findings(project, "SB026")
    assert places(text) == [(M1, *at(TYPES, "kind")), (M1, *at(TYPES, "code")), (M1, *at(TYPES, "kind type"))]
    assert text[1].message == "public.events.code is char(n): use text, with a check constraint if the length matters"
    keys = rule_findings(project, "SB027")
    assert places(keys) == [(M1, *at(TYPES, "id serial")), (M1, *at(TYPES, "primary key (n)"))]
    assert keys[0].message == (
        "primary key public.events (id) is serial: it runs out of values at 2,147,483,647, and widening it"
        " later rewrites the table and every foreign key to it"
    )
    assert "is smallint: it runs out of values at 32,767" in keys[1].message


def test_sb027_on_a_primary_key_added_later(tmp_path: Path) -> None:
    first = "create table public.legacy (id integer not null, name text);\n"
    second = "alter table public.legacy add primary key (id);\n"
    found = rule_findings(make_project(tmp_path, [first, second]), "SB027")
    assert places(found) == [(M2, *at(second, "primary key"))]
    assert "primary key public.legacy (id) is integer" in found[0].message


def test_sb024_to_sb027_not_for_the_types_supabase_recommends(tmp_path: Path) -> None:
    sql = """create table public.events (
  id bigint generated always as identity primary key,
  payload jsonb,
  happened_at timestamptz,
  day date,
  kind text check (char_length(kind) <= 20),
  label varchar,
  attempts int not null default 0
);
create table public.profiles (id uuid primary key references auth.users on delete cascade);
create table public.memberships (team int, member int, primary key (team, member));
create table public.counters (id bigserial primary key, at timestamp with time zone);
"""
    project = make_project(tmp_path, [sql])
    for rule in ("SB024", "SB025", "SB026", "SB027"):
        assert rule_findings(project, rule) == [], rule
