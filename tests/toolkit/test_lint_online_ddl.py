"""SB019-SB022 (changes to existing tables: API clients, scans and index builds under lock,
lock_timeout), SB016's known-safe functions and SB009's lone CONCURRENTLY file, each on SQL that
must trigger it and SQL that must not. Projects are written into tmp_path."""

from __future__ import annotations

from pathlib import Path

from .lintkit import at, make_project, places, rule_findings

M1 = "20240101000001_m1.sql"
M2 = "20240101000002_m2.sql"

NOTES = """create table public.notes (
  id bigint generated always as identity primary key,
  owner uuid references auth.users (id) on delete cascade,
  title varchar(80),
  body text,
  stars int
);
create index notes_owner_idx on public.notes (owner);
alter table public.notes enable row level security;
create schema private;
create table private.jobs (id bigint primary key, payload text);
create view public.recent_notes as select id, title from public.notes;
"""


# -- SB019 breaking the API's clients ------------------------------------------------------------


def test_sb019_renames_moves_and_type_changes_in_exposed_relations(tmp_path: Path) -> None:
    second = """alter table public.notes rename column title to heading;
alter table public.notes alter column stars type text;
alter view public.recent_notes rename to latest_notes;
alter table public.notes set schema private;
"""
    found = rule_findings(make_project(tmp_path, [NOTES, second]), "SB019")
    assert places(found) == [
        (M2, 1, 1),
        (M2, *at(second, "stars type")),
        (M2, *at(second, "public.recent_notes")),
        (M2, *at(second, "public.notes set")),
    ]
    assert found[0].message == (
        "renaming column title of public.notes to heading breaks every API client still using the old one:"
        " public.notes is exposed by the Data API (schema public is in [api] schemas), so PostgREST and"
        " supabase-js requests written for it fail or get other values as soon as this migration commits"
    )
    assert found[1].message.startswith("changing the type of public.notes.stars from int4 to text breaks")


def test_sb019_not_for_new_tables_private_schemas_or_string_widening(tmp_path: Path) -> None:
    second = """alter table public.notes alter column title type varchar(200);
alter table public.notes alter column title type text;
alter table public.notes alter column stars type bigint;
alter table public.notes add column seen_at timestamp;
alter table public.notes alter column seen_at type timestamptz;
alter table private.jobs rename column payload to body;
alter table private.jobs alter column id type int;
create table public.drafts (id bigint primary key, text text);
alter table public.drafts rename column text to body;
alter table public.drafts rename to draft_notes;
"""
    assert rule_findings(make_project(tmp_path, [NOTES, second]), "SB019") == []


# -- SB020 SET NOT NULL --------------------------------------------------------------------------


def test_sb020_set_not_null_on_an_existing_table(tmp_path: Path) -> None:
    second = """set lock_timeout = '5s';
alter table public.notes alter column title set not null;
alter table public.notes add constraint notes_body_nn check (body is not null) not valid;
alter table public.notes alter column body set not null;
"""
    found = rule_findings(make_project(tmp_path, [NOTES, second]), "SB020")
    assert places(found) == [(M2, 2, 1), (M2, 4, 1)]
    assert found[0].message == (
        "SET NOT NULL on public.notes.title scans every row of existing table public.notes while holding"
        " ACCESS EXCLUSIVE (reads and writes wait until it finishes)"
    )


def test_sb020_not_after_a_validated_check_or_on_a_new_table(tmp_path: Path) -> None:
    second = "alter table public.notes add constraint notes_title_nn check (title is not null) not valid;\n"
    third = "alter table public.notes validate constraint notes_title_nn;\n"
    fourth = """alter table public.notes alter column title set not null;
alter table public.notes drop constraint notes_title_nn;
create table public.tags (id bigint primary key, label text);
alter table public.tags alter column label set not null;
"""
    assert rule_findings(make_project(tmp_path, [NOTES, second, third, fourth]), "SB020") == []


# -- SB021 UNIQUE / PRIMARY KEY under lock -------------------------------------------------------


def test_sb021_unique_and_primary_key_constraints_on_an_existing_table(tmp_path: Path) -> None:
    second = """alter table public.notes add constraint notes_title_key unique (title);
alter table private.jobs drop constraint jobs_pkey, add primary key (id, payload);
alter table public.notes add column slug text unique;
"""
    found = rule_findings(make_project(tmp_path, [NOTES, second]), "SB021")
    assert places(found) == [
        (M2, *at(second, "constraint notes_title_key")),
        (M2, *at(second, "primary key (id")),
        (M2, *at(second, "slug")),
    ]
    assert found[0].message == (
        "adding UNIQUE constraint notes_title_key on existing table public.notes builds its index while"
        " holding ACCESS EXCLUSIVE (reads and writes wait until it finishes)"
    )


def test_sb021_not_using_an_index_built_concurrently_or_on_a_new_table(tmp_path: Path) -> None:
    index = "create unique index concurrently notes_title_key on public.notes (title);\n"
    constraint = """alter table public.notes add constraint notes_title_key unique using index notes_title_key;
create table public.tags (id bigint, label text);
alter table public.tags add primary key (id);
alter table public.tags add constraint tags_label_key unique (label);
"""
    project = make_project(tmp_path, [NOTES, index, constraint])
    assert rule_findings(project, "SB021") == []
    # The concurrent build alone in its file is what SB009 lets run.
    assert rule_findings(project, "SB009") == []


def test_sb009_still_flags_a_concurrent_build_beside_other_statements(tmp_path: Path) -> None:
    second = "select 1;\ncreate unique index concurrently notes_title_key on public.notes (title);\n"
    assert places(rule_findings(make_project(tmp_path, [NOTES, second]), "SB009")) == [(M2, 2, 1)]


# -- SB022 lock_timeout ----------------------------------------------------------------------------


def test_sb022_ddl_on_an_existing_table_without_lock_timeout(tmp_path: Path) -> None:
    second = """-- Who starred what.
create table public.stars (note_id bigint references public.notes on delete cascade);
create index stars_note_id_idx on public.stars (note_id);
alter table public.notes add column starred_at timestamptz;
alter table public.notes add column archived boolean;
"""
    third = """set lock_timeout = '2s';
reset lock_timeout;
create trigger notes_touch before update on public.notes
  for each row execute function extensions.moddatetime (updated_at);
"""
    found = rule_findings(make_project(tmp_path, [NOTES, second, third]), "SB022")
    assert places(found) == [(M2, 4, 1), ("20240101000003_m3.sql", 3, 1)]
    assert found[0].message == (
        "ALTER TABLE on existing table public.notes waits for ACCESS EXCLUSIVE and no lock_timeout is set in"
        " this file: while it waits behind a long transaction, every query on public.notes queues behind it"
    )
    assert found[0].level.name == "WARNING"


def test_sb022_not_with_a_lock_timeout_or_on_new_tables(tmp_path: Path) -> None:
    second = """set lock_timeout = '5s';
alter table public.notes add column starred_at timestamptz;
"""
    third = """select set_config('lock_timeout', '3s', true);
create policy "Owners read their notes" on public.notes for select to authenticated
  using (owner = (select auth.uid()));
"""
    fourth = """create table public.tags (id bigint primary key, label text);
alter table public.tags enable row level security;
create index tags_label_idx on public.tags (label);
"""
    assert rule_findings(make_project(tmp_path, [NOTES, second, third, fourth]), "SB022") == []


# -- SB016 functions are volatile unless known not to be -----------------------------------------


def test_sb016_an_unknown_function_in_a_default_counts_as_volatile(tmp_path: Path) -> None:
    second = """alter table public.notes add column code text default extensions.nanoid();
alter table public.notes add column shard int default floor(random() * 16);
"""
    found = rule_findings(make_project(tmp_path, [NOTES, second]), "SB016")
    assert places(found) == [(M2, *at(second, "code")), (M2, *at(second, "shard"))]
    assert "with default nanoid() (not known to be stable or immutable) rewrites every row" in found[0].message
    assert "with volatile default random() rewrites every row" in found[1].message


def test_sb016_not_for_known_safe_built_ins_and_platform_functions(tmp_path: Path) -> None:
    second = """alter table public.notes add column created_at timestamptz not null default timezone('utc', now());
alter table public.notes add column meta jsonb not null default jsonb_build_object('v', 1);
alter table public.notes add column author uuid default auth.uid();
alter table public.notes add column day date default current_date;
alter table public.notes add column tags text[] not null default '{}'::text[];
"""
    assert rule_findings(make_project(tmp_path, [NOTES, second]), "SB016") == []
