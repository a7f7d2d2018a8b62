"""Each Supabase lint rule on SQL that must trigger it and on SQL that must not.

Projects are written into tmp_path; sqlfluff is not run here (see test_lint_runner.py).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from supamigrate.errors import ProjectError
from supamigrate.lint import RULES, lint

from .lintkit import REPO, at, make_project, places, rule_findings

M1 = "20240101000001_m1.sql"
M2 = "20240101000002_m2.sql"

SESSIONS = """create table public.sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  title text not null
);
create index sessions_user_id_idx on public.sessions (user_id);
alter table public.sessions enable row level security;
"""


def test_every_rule_has_an_id_a_message_and_a_fix() -> None:
    assert list(RULES) == [f"SB{n:03d}" for n in range(len(RULES))]
    for rule in RULES.values():
        assert rule.name and rule.summary and rule.fix, rule.id


def test_the_readme_documents_every_rule() -> None:
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Lint") :]
    rows = [line for line in section.splitlines() if line.startswith("| SB")]
    assert [row.split("|")[1:3] for row in rows] == [[f" {r.id} ", f" `{r.name}` "] for r in RULES.values()]


# -- SB000 syntax -------------------------------------------------------------------------------


def test_sb000_a_statement_postgresql_cannot_parse(tmp_path: Path) -> None:
    sql = "select 1;\n\ncreate tabel notes (id int);\n"
    found = rule_findings(make_project(tmp_path, [sql]), "SB000")
    assert places(found) == [(M1, *at(sql, "tabel"))]
    assert 'syntax error at or near "tabel"' in found[0].message


def test_sb000_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    project = make_project(tmp_path, ["select 1;\n"])
    (project.migrations_dir / M1).write_bytes(b"select 1;\n-- caf\xe9\n")
    assert places(rule_findings(project, "SB000")) == [(M1, 2, 7)]


def test_sb000_not_on_valid_sql(tmp_path: Path) -> None:
    assert rule_findings(make_project(tmp_path, [SESSIONS], seed="select 1;\n"), "SB000") == []


# -- SB001, SB002 foreign keys to users ----------------------------------------------------------


def test_sb001_foreign_keys_to_a_users_table_outside_auth(tmp_path: Path) -> None:
    sql = """create table users (id uuid primary key);
create table public.posts (
  id bigint primary key,
  author uuid references public.users (id) on delete cascade,
  editor uuid,
  constraint posts_editor_fk foreign key (editor) references users (id) on delete set null
);
"""
    found = rule_findings(make_project(tmp_path, [sql]), "SB001")
    assert places(found) == [
        (M1, *at(sql, "references public.users")),
        (M1, *at(sql, "constraint posts_editor_fk")),
    ]
    assert "public.users" in found[0].message


def test_sb001_not_for_auth_users_or_a_profiles_table(tmp_path: Path) -> None:
    sql = """create table public.profiles (id uuid primary key references auth.users (id) on delete cascade);
create table public.posts (
  id bigint primary key,
  author uuid references public.profiles (id) on delete cascade
);
"""
    assert rule_findings(make_project(tmp_path, [sql]), "SB001") == []


def test_sb002_auth_users_keys_without_on_delete(tmp_path: Path) -> None:
    sql = """create table public.a (owner uuid references auth.users (id));
create table public.b (owner uuid references auth.users on update cascade);
create table public.c (owner uuid);
alter table public.c add constraint c_owner_fk foreign key (owner) references auth.users (id);
"""
    found = rule_findings(make_project(tmp_path, [sql]), "SB002")
    assert places(found) == [
        (M1, *at(sql, "references auth.users (id))")),
        (M1, *at(sql, "references auth.users on update")),
        (M1, *at(sql, "constraint c_owner_fk")),
    ]


@pytest.mark.parametrize("action", ["on delete cascade", "on delete set null", "on delete no action"])
def test_sb002_not_when_on_delete_is_written(tmp_path: Path, action: str) -> None:
    sql = f"create table public.a (id int, owner uuid references auth.users (id) {action}, n int);\n"
    assert rule_findings(make_project(tmp_path, [sql]), "SB002") == []


# -- SB003 IF NOT EXISTS / OR REPLACE ------------------------------------------------------------


def test_sb003_idempotent_creates_over_objects_no_earlier_migration_created(tmp_path: Path) -> None:
    sql = """create table if not exists public.users (id uuid primary key);
create or replace function public.touch() returns trigger language plpgsql as $$ begin return new; end $$;
create or replace view public.v as select 1 as one;
create index if not exists users_id_idx on public.users (id);
alter table auth.users add column if not exists nickname text;
"""
    found = rule_findings(make_project(tmp_path, [sql]), "SB003")
    assert places(found) == [
        (M1, *at(sql, "public.users")),
        (M1, 2, 1),
        (M1, *at(sql, "public.v")),
        (M1, 4, 1),
        (M1, *at(sql, "nickname")),
    ]
    assert found[0].message.startswith("CREATE TABLE IF NOT EXISTS public.users: no earlier migration creates it")


def test_sb003_not_over_objects_an_earlier_migration_created(tmp_path: Path) -> None:
    first = """create table public.notes (id int primary key, body text);
create function public.touch() returns trigger language plpgsql as $$ begin return new; end $$;
create view public.v as select 1 as one;
"""
    second = """create table if not exists public.notes (id int primary key, body text);
create or replace function public.touch() returns trigger language plpgsql as $$ begin return new; end $$;
create or replace view public.v as select 2 as one;
alter table public.notes add column if not exists body text;
create extension if not exists pg_trgm with schema extensions;
create schema if not exists private;
"""
    assert rule_findings(make_project(tmp_path, [first, second]), "SB003") == []


# -- SB004, SB005 row level security -------------------------------------------------------------


def test_sb004_an_exposed_table_without_rls(tmp_path: Path) -> None:
    sql = "create table public.notes (id int primary key);\ncreate table graphql_public.x (id int);\n"
    found = rule_findings(make_project(tmp_path, [sql]), "SB004")
    assert places(found) == [(M1, *at(sql, "public.notes")), (M1, *at(sql, "graphql_public.x"))]


def test_sb004_not_when_rls_is_enabled_later_or_the_schema_is_not_exposed(tmp_path: Path) -> None:
    first = """create table public.notes (id int primary key);
create schema private;
create table private.secrets (id int primary key);
create table public.scratch (id int);
drop table public.scratch;
"""
    second = "alter table public.notes enable row level security;\n"
    assert rule_findings(make_project(tmp_path, [first, second]), "SB004") == []


def test_sb004_follows_the_api_schemas_of_config_toml(tmp_path: Path) -> None:
    sql = "create table public.notes (id int);\ncreate schema api;\ncreate table api.items (id int);\n"
    project = make_project(tmp_path, [sql], config='project_id = "x"\n[api]\nschemas = ["api"]\n')
    assert places(rule_findings(project, "SB004")) == [(M1, *at(sql, "api.items"))]


def test_sb005_a_policy_on_a_table_whose_rls_is_never_enabled(tmp_path: Path) -> None:
    sql = """create table public.notes (id int primary key, user_id uuid);
create policy "Users read their notes" on public.notes for select to authenticated
  using (user_id = (select auth.uid()));
alter table public.notes enable row level security;
alter table public.notes disable row level security;
"""
    found = rule_findings(make_project(tmp_path, [sql]), "SB005")
    assert places(found) == [(M1, 2, 1)]
    assert '"Users read their notes"' in found[0].message


def test_sb004_sb005_accept_rls_with_policies_written_the_supabase_way(tmp_path: Path) -> None:
    rls = """alter table public.sessions enable row level security;
create policy "Users can view their own sessions" on public.sessions
for select to authenticated using (user_id = (select auth.uid()));
create policy "Users can add their own sessions" on public.sessions
for insert to authenticated with check ((select auth.uid()) = user_id);
create policy "Users can read their avatars" on storage.objects
for select to authenticated using (bucket_id = 'avatars' and owner = (select auth.uid()));
"""
    project = make_project(
        tmp_path, [SESSIONS.replace("alter table public.sessions enable row level security;\n", ""), rls]
    )
    assert rule_findings(project, "SB004") == [] and rule_findings(project, "SB005") == []


# -- SB006 SECURITY DEFINER ----------------------------------------------------------------------


def test_sb006_security_definer_without_search_path(tmp_path: Path) -> None:
    sql = """create function public.is_admin() returns boolean
language sql stable security definer
as $$ select true $$;
"""
    found = rule_findings(make_project(tmp_path, [sql]), "SB006")
    assert places(found) == [(M1, *at(sql, "security definer"))]


def test_sb006_not_when_search_path_is_set_or_the_function_is_invoker(tmp_path: Path) -> None:
    first = """create function public.a() returns boolean language sql security definer set search_path = ''
as $$ select true $$;
create function public.b() returns boolean language sql security definer as $$ select true $$;
create function public.c() returns boolean language sql security invoker as $$ select true $$;
"""
    second = "alter function public.b() set search_path = '';\n"
    assert rule_findings(make_project(tmp_path, [first, second]), "SB006") == []


# -- SB007, SB008 destructive statements ---------------------------------------------------------


def test_sb007_cascades(tmp_path: Path) -> None:
    sql = """create table public.a (id int primary key, b int);
drop view if exists public.v cascade;
alter table public.a drop column b cascade;
truncate public.a cascade;
"""
    assert places(rule_findings(make_project(tmp_path, [sql]), "SB007")) == [
        (M1, 2, 1),
        (M1, 3, 1),
        (M1, 4, 1),
    ]


def test_sb007_not_without_cascade(tmp_path: Path) -> None:
    sql = "create table public.a (id int, b int);\nalter table public.a drop column b;\ndrop table public.a;\n"
    assert rule_findings(make_project(tmp_path, [sql]), "SB007") == []


def test_sb008_dropping_or_truncating_tables_that_hold_data(tmp_path: Path) -> None:
    first = "create table public.notes (id int primary key, body text);\n"
    second = """alter table public.notes drop column body;
truncate auth.audit_log_entries;
create table public.tmp (id int);
insert into public.tmp values (1);
drop table public.tmp;
drop table public.notes;
"""
    found = rule_findings(make_project(tmp_path, [first, second]), "SB008")
    assert places(found) == [(M2, 1, 1), (M2, 2, 1), (M2, 5, 1), (M2, 6, 1)]
    assert "created by 20240101000001_m1.sql" in found[0].message
    assert "not created by these migrations" in found[1].message
    assert "writes rows into it first (line 4)" in found[2].message


def test_sb008_not_for_a_table_created_empty_in_the_same_file(tmp_path: Path) -> None:
    sql = """create table public.tmp (id int, extra text);
alter table public.tmp drop column extra;
truncate public.tmp;
drop table public.tmp;
"""
    assert rule_findings(make_project(tmp_path, [sql]), "SB008") == []


# -- SB009, SB010 the per-file transaction -------------------------------------------------------


def test_sb009_statements_that_cannot_run_in_a_transaction(tmp_path: Path) -> None:
    sql = """create table public.a (id int);
create index concurrently a_id_idx on public.a (id);
vacuum public.a;
alter system set work_mem = '64MB';
"""
    project = make_project(tmp_path, [sql], seed="vacuum;\n")
    found = rule_findings(project, "SB009")
    assert places(found) == [(M1, 2, 1), (M1, 3, 1), (M1, 4, 1), ("seed.sql", 1, 1)]
    assert found[0].message.startswith("CREATE INDEX CONCURRENTLY cannot run inside a transaction block")


def test_sb009_not_for_the_transactional_forms(tmp_path: Path) -> None:
    sql = "create table public.a (id int);\ncreate index a_id_idx on public.a (id);\nanalyze public.a;\n"
    assert rule_findings(make_project(tmp_path, [sql]), "SB009") == []


def test_sb010_explicit_transaction_control(tmp_path: Path) -> None:
    sql = "begin;\ncreate table public.a (id int);\ncommit;\n"
    project = make_project(tmp_path, [sql], seed="start transaction;\nselect 1;\nrollback;\n")
    assert places(rule_findings(project, "SB010")) == [
        (M1, 1, 1),
        (M1, 3, 1),
        ("seed.sql", 1, 1),
        ("seed.sql", 3, 1),
    ]


def test_sb010_not_for_savepoints(tmp_path: Path) -> None:
    sql = "savepoint a;\ncreate table public.a (id int);\nrollback to savepoint a;\nrelease a;\n"
    assert rule_findings(make_project(tmp_path, [sql]), "SB010") == []


# -- SB011, SB012, SB013 the file set ------------------------------------------------------------


def test_sb011_names_the_cli_skips(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"add_profiles.sql": "select 1;\n", "20240101_ok.sql": "select 1;\n"})
    (project.migrations_dir / ".gitkeep").write_text("")
    (project.migrations_dir / "README.md").write_text("notes\n")
    assert places(rule_findings(project, "SB011")) == [("README.md", 1, 1), ("add_profiles.sql", 1, 1)]
    # Only the .sql file is an error: a README beside the migrations was never meant as one.
    assert [f.level.value for f in rule_findings(project, "SB011")] == ["warning", "error"]


def test_sb012_duplicate_versions(tmp_path: Path) -> None:
    project = make_project(
        tmp_path,
        {"20240101_a.sql": "select 1;\n", "20240101_b.sql": "select 2;\n", "20240102_c.sql": "select 3;\n"},
    )
    found = rule_findings(project, "SB012")
    assert places(found) == [("20240101_b.sql", 1, 1)]
    assert "20240101_a.sql" in found[0].message


def test_sb012_not_for_distinct_versions(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"20240101_a.sql": "select 1;\n", "20240102_a.sql": "select 2;\n"})
    assert rule_findings(project, "SB012") == []


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
    )


def test_sb013_a_new_file_that_sorts_before_a_committed_one(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"20240105000000_a.sql": "select 1;\n"})
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "first")
    for name in ("20240101000000_late_branch.sql", "20240110000000_new.sql"):
        (project.migrations_dir / name).write_text("select 2;\n")
    found = rule_findings(project, "SB013")
    assert places(found) == [("20240101000000_late_branch.sql", 1, 1)]
    assert "20240105000000" in found[0].message
    # Once committed, HEAD holds it; against the first commit it is still new.
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "second")
    assert rule_findings(project, "SB013") == []
    found = [f for f in lint(project, since="HEAD~1", sqlfluff=False).findings if f.code == "SB013"]
    assert places(found) == [("20240101000000_late_branch.sql", 1, 1)]
    with pytest.raises(ProjectError, match="unknown git revision 'no-such-branch'"):
        lint(project, since="no-such-branch", sqlfluff=False)


def test_sb013_not_outside_git_or_for_later_versions(tmp_path: Path) -> None:
    project = make_project(tmp_path, {"20240105000000_a.sql": "select 1;\n", "20240101000000_b.sql": "select 2;\n"})
    assert rule_findings(project, "SB013") == []  # not a git work tree: nothing is known to be new
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "first")
    (project.migrations_dir / "20240201000000_c.sql").write_text("select 3;\n")
    assert rule_findings(project, "SB013") == []


# -- SB014 foreign keys without an index ---------------------------------------------------------


def test_sb014_foreign_keys_no_index_leads_with(tmp_path: Path) -> None:
    sql = """create table public.orgs (id int primary key, region int, unique (id, region));
create table public.members (
  id int primary key,
  org_id int references public.orgs (id) on delete cascade,
  region int,
  created_at timestamptz,
  foreign key (org_id, region) references public.orgs (id, region)
);
create index members_created_org_idx on public.members (created_at, org_id);
"""
    found = rule_findings(make_project(tmp_path, [sql]), "SB014")
    assert places(found) == [
        (M1, *at(sql, "references public.orgs (id)")),
        (M1, *at(sql, "foreign key (org_id")),
    ]


def test_sb014_not_when_an_index_key_or_later_index_covers_the_columns(tmp_path: Path) -> None:
    first = """create table public.profiles (id uuid primary key references auth.users on delete cascade);
create table public.orgs (id int primary key, region int, unique (id, region));
create table public.members (
  org_id int references public.orgs (id) on delete cascade,
  region int,
  owner uuid references auth.users (id) on delete cascade,
  foreign key (region, org_id) references public.orgs (region, id),
  unique (owner)
);
"""
    second = "create index members_org_region_idx on public.members (org_id, region, owner);\n"
    assert rule_findings(make_project(tmp_path, [first, second]), "SB014") == []


# -- SB015, SB016, SB017 changes to existing tables ----------------------------------------------


def test_sb015_not_null_column_without_default_on_a_table_with_data(tmp_path: Path) -> None:
    first = "create table public.notes (id int primary key);\n"
    second = """alter table public.notes add column body text not null;
create table public.tags (id int primary key);
insert into public.tags values (1);
alter table public.tags add column label text not null;
"""
    found = rule_findings(make_project(tmp_path, [first, second]), "SB015")
    assert places(found) == [(M2, *at(second, "body")), (M2, *at(second, "label"))]


def test_sb015_not_with_a_default_nullable_or_on_a_new_empty_table(tmp_path: Path) -> None:
    first = "create table public.notes (id int primary key);\n"
    second = """alter table public.notes add column body text not null default '';
alter table public.notes add column summary text;
alter table public.notes add column n bigint generated always as identity;
create table public.tags (id int primary key);
alter table public.tags add column label text not null;
"""
    assert rule_findings(make_project(tmp_path, [first, second]), "SB015") == []


def test_sb016_volatile_defaults_on_existing_tables(tmp_path: Path) -> None:
    first = """create table public.notes (id int primary key);
create function public.next_code() returns text language sql as $$ select md5(random()::text) $$;
"""
    second = """alter table public.notes add column token uuid default gen_random_uuid();
alter table public.notes add column seq bigserial;
alter table public.notes add column code text default public.next_code();
alter table auth.users add column score float8 default random();
"""
    found = rule_findings(make_project(tmp_path, [first, second]), "SB016")
    assert places(found) == [
        (M2, *at(second, "token")),
        (M2, *at(second, "seq")),
        (M2, *at(second, "code")),
        (M2, *at(second, "score")),
    ]
    assert "gen_random_uuid()" in found[0].message


def test_sb016_not_for_stable_defaults_or_new_tables(tmp_path: Path) -> None:
    first = """create table public.notes (id int primary key);
create function public.today() returns date language sql stable as $$ select current_date $$;
"""
    second = """alter table public.notes add column created_at timestamptz not null default now();
alter table public.notes add column n int not null default 0;
alter table public.notes add column d date default public.today();
create table public.tags (id int primary key);
alter table public.tags add column token uuid default gen_random_uuid();
"""
    assert rule_findings(make_project(tmp_path, [first, second]), "SB016") == []


def test_sb017_validating_constraints_on_existing_tables(tmp_path: Path) -> None:
    first = "create table public.notes (id int primary key, owner uuid, body text);\n"
    second = """alter table public.notes add constraint notes_body_len check (char_length(body) < 10000);
alter table public.notes add constraint notes_owner_fk foreign key (owner) references auth.users (id)
  on delete cascade;
"""
    found = rule_findings(make_project(tmp_path, [first, second]), "SB017")
    assert places(found) == [
        (M2, *at(second, "constraint notes_body_len")),
        (M2, *at(second, "constraint notes_owner_fk")),
    ]
    assert "ACCESS EXCLUSIVE" in found[0].message and "SHARE ROW EXCLUSIVE" in found[1].message


def test_sb017_not_when_not_valid_or_on_a_new_table(tmp_path: Path) -> None:
    first = "create table public.notes (id int primary key, body text);\n"
    second = """alter table public.notes add constraint notes_body_len check (length(body) < 99) not valid;
alter table public.notes validate constraint notes_body_len;
create table public.tags (id int primary key, label text);
alter table public.tags add constraint tags_label_len check (char_length(label) < 100);
"""
    assert rule_findings(make_project(tmp_path, [first, second]), "SB017") == []
