"""Each database advisor on a schema that triggers it and on one that does not.

The schemas are built on ``db`` inside its rolled-back transaction, as ``postgres`` (as migrations
run), in ``public`` so the platform's default grants to anon and authenticated apply. A case
compares the advisor's findings before and after its SQL, so the research schema's own findings
never get in the way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from supamigrate.advisors import ADVISORS, AdvisorSettings, run_advisors
from supamigrate.advisors.registry import LEVEL_FINDING
from supamigrate.errors import ProjectError
from supamigrate.findings import Finding, ObjectLocation
from supamigrate.plugin import TestDatabase
from supamigrate.project import Project

EXPOSED = ("public", "graphql_public")

NOTES = "create table public.adv_notes (id bigint primary key, user_id uuid, body text);"
NOTES_RLS = NOTES + " alter table public.adv_notes enable row level security;"
SECDEF = (
    "create function public.adv_grant_admin() returns void language sql security definer"
    " set search_path = '' as 'select'; "
)


BUCKET = "insert into storage.buckets (id, name, public) values ('adv_avatars', 'adv_avatars', true);"
# About 25 MB of rows (110,000 of some 230 bytes), in one transaction; ANALYZE counts the rows this
# transaction deleted as dead, so the pages stay and the live rows shrink.
BIG_TABLE = (
    "create table public.adv_events (id bigint primary key, payload text);"
    " insert into public.adv_events select g, repeat('x', 200) from generate_series(1, 110000) g;"
)

# A queue's table as pgmq.create makes it, granted to authenticated as exposing queues does.
QUEUE = (
    "create schema if not exists pgmq; create table pgmq.q_adv_jobs (msg_id bigint primary key,"
    " read_ct int not null default 0, enqueued_at timestamptz not null default now(), vt timestamptz not null,"
    " message jsonb); grant usage on schema pgmq to authenticated;"
    " grant select, insert, update, delete on pgmq.q_adv_jobs to authenticated;"
)


@dataclass(frozen=True)
class Case:
    advisor: str
    triggers: str
    passes: str
    object: str
    exposed: tuple[str, ...] = EXPOSED


CASES = [
    Case(
        "rls_disabled_in_public",
        NOTES,
        NOTES_RLS + " create policy own on public.adv_notes for select to authenticated using (true);",
        "public.adv_notes",
    ),
    Case(
        "policy_exists_rls_disabled",
        NOTES + " create policy own on public.adv_notes for select using (true);",
        NOTES_RLS + " create policy own on public.adv_notes for select using (true);",
        "public.adv_notes",
    ),
    Case(
        "rls_enabled_no_policy",
        NOTES_RLS,
        NOTES_RLS + " create policy own on public.adv_notes for select to authenticated"
        " using ((select auth.uid()) = user_id);",
        "public.adv_notes",
    ),
    Case(
        "auth_users_exposed",
        "create view public.adv_people as select id, email from auth.users;",
        "create view public.adv_people with (security_invoker = on) as select id, email from auth.users;",
        "public.adv_people",
    ),
    Case(
        "security_definer_view",
        NOTES_RLS + " create view public.adv_recent as select id, body from public.adv_notes;",
        NOTES_RLS + " create view public.adv_recent with (security_invoker = on)"
        " as select id, body from public.adv_notes;",
        "public.adv_recent",
    ),
    Case(
        "function_search_path_mutable",
        "create function public.adv_add(a int, b int) returns int language sql as 'select a + b';",
        "create function public.adv_add(a int, b int) returns int language sql"
        " set search_path = '' as 'select a + b';",
        "public.adv_add(a integer, b integer)",
    ),
    Case(
        "anon_security_definer_function_executable",
        SECDEF,
        SECDEF + "revoke execute on function public.adv_grant_admin() from public, anon;",
        "public.adv_grant_admin()",
    ),
    Case(
        "authenticated_security_definer_function_executable",
        SECDEF + "revoke execute on function public.adv_grant_admin() from public, anon;",
        SECDEF + "revoke execute on function public.adv_grant_admin() from public, anon, authenticated;",
        "public.adv_grant_admin()",
    ),
    Case(
        "auth_rls_initplan",
        NOTES_RLS + " create policy own on public.adv_notes for select to authenticated"
        " using (auth.uid() = user_id);",
        NOTES_RLS + " create policy own on public.adv_notes for select to authenticated"
        " using ((select auth.uid()) = user_id);",
        "public.adv_notes: policy own",
    ),
    Case(
        "multiple_permissive_policies",
        NOTES_RLS + " create policy mine on public.adv_notes for select to authenticated"
        " using ((select auth.uid()) = user_id);"
        " create policy shared on public.adv_notes for select to authenticated using (body is not null);",
        NOTES_RLS + " create policy mine on public.adv_notes for select to authenticated"
        " using ((select auth.uid()) = user_id);"
        " create policy shared on public.adv_notes as restrictive for select to authenticated"
        " using (body is not null);",
        "public.adv_notes: policies mine, shared",
    ),
    Case(
        "rls_references_user_metadata",
        NOTES_RLS + " create policy admins on public.adv_notes for delete to authenticated"
        " using (((select auth.jwt()) -> 'user_metadata' ->> 'role') = 'admin');",
        NOTES_RLS + " create policy admins on public.adv_notes for delete to authenticated"
        " using (((select auth.jwt()) -> 'app_metadata' ->> 'role') = 'admin');",
        "public.adv_notes: policy admins",
    ),
    Case(
        "rls_policy_always_true",
        NOTES_RLS + " create policy anyone on public.adv_notes for update to authenticated using (true);",
        NOTES_RLS + " create policy anyone on public.adv_notes for select to anon using (true);",
        "public.adv_notes: policy anyone",
    ),
    Case(
        "unindexed_foreign_keys",
        NOTES + " create table public.adv_tags (id bigint primary key,"
        " note_id bigint not null references public.adv_notes (id));",
        NOTES + " create table public.adv_tags (id bigint primary key,"
        " note_id bigint not null references public.adv_notes (id));"
        " create index on public.adv_tags (note_id);",
        "public.adv_tags: foreign key adv_tags_note_id_fkey",
    ),
    Case(
        "duplicate_index",
        NOTES + " create index adv_a on public.adv_notes (user_id);"
        " create index adv_b on public.adv_notes (user_id);",
        NOTES + " create index adv_a on public.adv_notes (user_id);"
        " create index adv_b on public.adv_notes (user_id, id);",
        "public.adv_notes: indexes adv_a, adv_b",
    ),
    Case(
        "no_primary_key",
        "create table public.adv_log (at timestamptz, line text);",
        "create table public.adv_log (id bigint generated always as identity primary key, line text);",
        "public.adv_log",
    ),
    Case(
        "extension_in_public",
        "create extension pg_trgm with schema public;",
        "create extension pg_trgm with schema extensions;",
        "extension pg_trgm",
    ),
    Case(
        "materialized_view_in_api",
        NOTES + " create materialized view public.adv_totals as select count(*) as notes from public.adv_notes;",
        NOTES + " create materialized view public.adv_totals as select count(*) as notes from public.adv_notes;"
        " revoke select on public.adv_totals from anon, authenticated;",
        "public.adv_totals",
    ),
    Case(
        "insecure_queue_exposed_in_api",
        QUEUE,
        QUEUE + " alter table pgmq.q_adv_jobs enable row level security;",
        "pgmq.q_adv_jobs",
        exposed=(*EXPOSED, "pgmq_public"),
    ),
    Case(
        "sensitive_columns_exposed",
        "create table public.adv_accounts (id bigint primary key, email text, password text, api_key text);",
        "create table public.adv_accounts (id bigint primary key, email text, password text, api_key text);"
        " alter table public.adv_accounts enable row level security;",
        "public.adv_accounts",
    ),
    Case(
        "fkey_to_auth_unique",
        "create table public.adv_contacts (id bigint primary key, phone text references auth.users (phone));",
        "create table public.adv_contacts (id bigint primary key, user_id uuid references auth.users (id));",
        "public.adv_contacts: foreign key adv_contacts_phone_fkey",
    ),
    Case(
        "unsupported_reg_types",
        "create table public.adv_hooks (id bigint primary key, handler regprocedure);",
        "create table public.adv_hooks (id bigint primary key, handler regclass);",
        "public.adv_hooks.handler",
    ),
    Case(
        "public_bucket_allows_listing",
        BUCKET + " create policy adv_read on storage.objects for select using (bucket_id = 'adv_avatars');",
        BUCKET + " create policy adv_read on storage.objects for select to authenticated using ("
        "bucket_id = 'adv_avatars' and (storage.foldername(name))[1] = (select auth.uid())::text);",
        "bucket adv_avatars",
    ),
    Case(
        "pg_graphql_anon_table_exposed",
        NOTES_RLS,
        NOTES_RLS + " revoke select on public.adv_notes from anon;",
        "public.adv_notes",
    ),
    Case(
        "pg_graphql_authenticated_table_exposed",
        NOTES_RLS,
        NOTES_RLS + " revoke select on public.adv_notes from authenticated;",
        "public.adv_notes",
    ),
    Case(
        "table_bloat",
        BIG_TABLE + " delete from public.adv_events where id > 100; analyze public.adv_events;",
        BIG_TABLE + " analyze public.adv_events;",
        "public.adv_events",
    ),
]

# Cases whose SQL a superuser runs and commits, on a database of their own: a foreign data
# wrapper, an extension at an old version, index use the statistics have counted.
COMMITTED_CASES = [
    Case(
        "foreign_table_in_api",
        "create extension postgres_fdw with schema extensions; create server adv_remote foreign data wrapper"
        " postgres_fdw; create foreign table public.adv_remote_notes (id bigint, body text) server adv_remote;"
        " grant select on public.adv_remote_notes to anon, authenticated;",
        "create extension postgres_fdw with schema extensions; create server adv_remote foreign data wrapper"
        " postgres_fdw; create schema adv_private;"
        " create foreign table adv_private.adv_remote_notes (id bigint, body text) server adv_remote;"
        " grant usage on schema adv_private to authenticated;"
        " grant select on adv_private.adv_remote_notes to authenticated;",
        "public.adv_remote_notes",
    ),
    Case(
        "extension_versions_outdated",
        "create extension postgres_fdw with schema extensions version '1.0';",
        "create extension postgres_fdw with schema extensions;",
        "extension postgres_fdw",
    ),
    Case(
        "unused_index",
        NOTES + " create index adv_notes_user on public.adv_notes (user_id);",
        NOTES + " create index adv_notes_user on public.adv_notes (user_id);"
        " insert into public.adv_notes select g, gen_random_uuid() from generate_series(1, 1000) g;"
        " analyze public.adv_notes; set enable_seqscan = off; select pg_stat_force_next_flush();"
        " select count(*) from public.adv_notes where user_id = gen_random_uuid();",
        "public.adv_notes: index adv_notes_user",
    ),
]


def advise(db: psycopg.Connection, advisor: str, sql: str, exposed: Sequence[str] = EXPOSED) -> list[Finding]:
    """The findings of ``advisor`` that ``sql`` adds to the migrated database."""
    live = ADVISORS[advisor].live
    before = {a.where for a in run_advisors(db, exposed, only=[advisor], live=live)}
    db.execute(sql)
    return [a for a in run_advisors(db, exposed, only=[advisor], live=live) if a.where not in before]


def advise_committed(database: TestDatabase, advisor: str, sql: str) -> list[Finding]:
    """The findings of ``advisor`` that ``sql``, run and committed by a superuser, adds."""
    live = ADVISORS[advisor].live
    with database.connect(autocommit=True) as conn:
        before = {a.where for a in run_advisors(conn, EXPOSED, only=[advisor], live=live)}
        with psycopg.connect(database.server.conninfo(database.name), autocommit=True) as admin:
            admin.execute(sql)
        return [a for a in run_advisors(conn, EXPOSED, only=[advisor], live=live) if a.where not in before]


def test_every_advisor_has_a_case() -> None:
    assert sorted(c.advisor for c in CASES + COMMITTED_CASES) == sorted(ADVISORS)


def assert_flags(found: list[Finding], case: Case) -> None:
    assert [a.where for a in found] == [case.object]
    (advice,) = found
    assert advice.level == LEVEL_FINDING[ADVISORS[case.advisor].level]
    assert advice.hint
    # The message names the object (a policy's message names its table and the policy).
    assert case.object.split(":")[0].split(" ")[-1] in advice.message


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.advisor)
def test_advisor_flags_its_schema(db: psycopg.Connection, case: Case) -> None:
    assert_flags(advise(db, case.advisor, case.triggers, case.exposed), case)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.advisor)
def test_advisor_passes_the_fixed_schema(db: psycopg.Connection, case: Case) -> None:
    assert advise(db, case.advisor, case.passes, case.exposed) == []


@pytest.mark.parametrize("case", COMMITTED_CASES, ids=lambda c: c.advisor)
def test_advisor_flags_its_committed_schema(fresh_db: TestDatabase, case: Case) -> None:
    assert_flags(advise_committed(fresh_db, case.advisor, case.triggers), case)


@pytest.mark.parametrize("case", COMMITTED_CASES, ids=lambda c: c.advisor)
def test_advisor_passes_the_fixed_committed_schema(fresh_db: TestDatabase, case: Case) -> None:
    assert advise_committed(fresh_db, case.advisor, case.passes) == []


SUPABASE_LEVELS = {
    "rls_disabled_in_public": "ERROR",
    "policy_exists_rls_disabled": "ERROR",
    "auth_users_exposed": "ERROR",
    "security_definer_view": "ERROR",
    "rls_references_user_metadata": "ERROR",
    "function_search_path_mutable": "WARN",
    "anon_security_definer_function_executable": "WARN",
    "authenticated_security_definer_function_executable": "WARN",
    "auth_rls_initplan": "WARN",
    "multiple_permissive_policies": "WARN",
    "rls_policy_always_true": "WARN",
    "duplicate_index": "WARN",
    "extension_in_public": "WARN",
    "rls_enabled_no_policy": "INFO",
    "unindexed_foreign_keys": "INFO",
    "no_primary_key": "INFO",
    "materialized_view_in_api": "WARN",
    "foreign_table_in_api": "WARN",
    "unsupported_reg_types": "WARN",
    "insecure_queue_exposed_in_api": "ERROR",
    "fkey_to_auth_unique": "ERROR",
    "sensitive_columns_exposed": "ERROR",
    "public_bucket_allows_listing": "WARN",
    "pg_graphql_anon_table_exposed": "WARN",
    "pg_graphql_authenticated_table_exposed": "WARN",
    "unused_index": "INFO",
    "table_bloat": "INFO",
    "extension_versions_outdated": "WARN",
}


def test_levels_are_supabases_and_every_advisor_is_documented() -> None:
    assert {a.id: a.level for a in ADVISORS.values()} == SUPABASE_LEVELS
    for a in ADVISORS.values():
        assert len(a.doc) > 80, a.id
        assert a.hint and a.title and a.splinter, a.id


def test_only_exposed_schemas_count_for_rls(db: psycopg.Connection) -> None:
    sql = (
        "create schema adv_private; grant usage on schema adv_private to anon, authenticated;"
        " create table adv_private.secrets (id bigint primary key, value text);"
        " grant select on adv_private.secrets to anon;"
    )
    assert advise(db, "rls_disabled_in_public", sql, exposed=("public",)) == []
    exposed = run_advisors(db, ("public", "adv_private"), only=["rls_disabled_in_public"])
    (found,) = [a for a in exposed if a.where.startswith("adv_private.")]
    assert found.where == "adv_private.secrets"
    assert "anon can select every row" in found.message


def test_a_table_no_api_role_may_touch_is_not_flagged(db: psycopg.Connection) -> None:
    sql = NOTES + " revoke all on public.adv_notes from anon, authenticated;"
    assert advise(db, "rls_disabled_in_public", sql) == []


def test_auth_users_behind_two_views_and_a_materialized_view(db: psycopg.Connection) -> None:
    sql = (
        "create view public.adv_inner with (security_invoker = on) as select id, email from auth.users;"
        " create view public.adv_outer as select * from public.adv_inner;"
        " create materialized view public.adv_snapshot as select id, email from auth.users;"
    )
    found = advise(db, "auth_users_exposed", sql)
    assert [(a.where, a.message.split(" ")[0]) for a in found] == [
        ("public.adv_outer", "view"),
        ("public.adv_snapshot", "materialized"),
    ]


def test_insert_policy_without_with_check_is_always_true(db: psycopg.Connection) -> None:
    sql = NOTES_RLS + " create policy anyone on public.adv_notes for insert to anon;"
    (found,) = advise(db, "rls_policy_always_true", sql)
    assert "WITH CHECK is always true" in found.message


def test_current_setting_per_row_is_flagged_and_named(db: psycopg.Connection) -> None:
    sql = NOTES_RLS + (
        " create policy own on public.adv_notes for select to authenticated"
        " using ((current_setting('request.jwt.claims', true)::jsonb ->> 'sub')::uuid = user_id);"
    )
    (found,) = advise(db, "auth_rls_initplan", sql)
    assert "current_setting()" in found.message


def test_a_call_inside_a_correlated_subquery_runs_per_row(db: psycopg.Connection) -> None:
    per_row = NOTES_RLS + (
        " create table public.adv_members (note_id bigint, member uuid);"
        " create policy shared on public.adv_notes for select to authenticated using (exists ("
        "select 1 from public.adv_members m where m.note_id = id and m.member = auth.uid()));"
    )
    (found,) = advise(db, "auth_rls_initplan", per_row)
    assert found.where == "public.adv_notes: policy shared"
    db.execute("drop policy shared on public.adv_notes")
    wrapped = (
        "create policy shared on public.adv_notes for select to authenticated using (exists ("
        "select 1 from public.adv_members m where m.note_id = id and m.member = (select auth.uid())));"
    )
    assert advise(db, "auth_rls_initplan", wrapped) == []


def test_raw_user_meta_data_in_a_policy_is_flagged(db: psycopg.Connection) -> None:
    sql = NOTES_RLS + (
        " create policy admins on public.adv_notes for select to authenticated using (exists ("
        "select from auth.users u where u.id = (select auth.uid())"
        " and u.raw_user_meta_data ->> 'admin' = 'yes'));"
    )
    found = advise(db, "rls_references_user_metadata", sql)
    assert [a.where for a in found] == ["public.adv_notes: policy admins"]


def test_trigger_functions_are_not_rpc_endpoints(db: psycopg.Connection) -> None:
    sql = (
        "create function public.adv_touch() returns trigger language plpgsql security definer"
        " set search_path = '' as $$ begin return new; end $$;"
    )
    assert advise(db, "anon_security_definer_function_executable", sql) == []


def test_disable_and_ignore(db: psycopg.Connection) -> None:
    db.execute("create table public.adv_log (line text);")
    flagged = [a.where for a in run_advisors(db, EXPOSED, only=["no_primary_key"])]
    assert "public.adv_log" in flagged
    kept = run_advisors(db, EXPOSED, only=["no_primary_key"], ignore=["no_primary_key:public.adv_log"])
    assert "public.adv_log" not in [a.where for a in kept]
    assert run_advisors(db, EXPOSED, only=["no_primary_key"], disable=["no_primary_key"]) == []


def test_advice_becomes_a_finding_at_the_report_level(db: psycopg.Connection) -> None:
    (finding,) = advise(db, "rls_disabled_in_public", NOTES)
    assert finding.level == "error"
    assert (finding.code, finding.location) == ("rls_disabled_in_public", ObjectLocation("public.adv_notes"))
    assert finding.where == "public.adv_notes"
    assert finding.hint == (
        "ALTER TABLE public.adv_notes ENABLE ROW LEVEL SECURITY; then add policies for the intended access"
    )
    assert (finding.source, finding.extras) == (
        "advisor",
        {
            "category": "security",
            "remediation": "https://supabase.com/docs/guides/database/database-linter?lint=0013_rls_disabled_in_public",
        },
    )


def test_settings_come_from_supamigrate_toml(tmp_path: Path) -> None:
    (tmp_path / "supabase").mkdir()
    (tmp_path / "supamigrate.toml").write_text('[advisors]\ndisable = ["no_primary_key"]\n')
    assert AdvisorSettings.from_project(Project.load(tmp_path)).disable == ("no_primary_key",)
    (tmp_path / "supamigrate.toml").write_text('[advisors]\ndisable = ["no_such_advisor"]\n')
    with pytest.raises(ProjectError, match="no_such_advisor"):
        AdvisorSettings.from_project(Project.load(tmp_path))


def test_readme_table_lists_every_advisor_with_its_level() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z_]+)` \| (ERROR|WARN|INFO) \|", readme, flags=re.MULTILINE)
    assert dict(rows) == {a.id: a.level for a in ADVISORS.values()}


def test_nulls_not_distinct_makes_another_index_not_a_duplicate(db: psycopg.Connection) -> None:
    sql = (
        NOTES + " create unique index adv_a on public.adv_notes (user_id);"
        " create unique index adv_b on public.adv_notes (user_id) nulls not distinct;"
    )
    assert advise(db, "duplicate_index", sql) == []
    stricter = "create unique index adv_c on public.adv_notes (user_id) nulls not distinct;"
    (found,) = advise(db, "duplicate_index", stricter)
    assert found.where == "public.adv_notes: indexes adv_b, adv_c"


def test_a_partial_index_on_the_non_null_keys_covers_a_foreign_key(db: psycopg.Connection) -> None:
    tags = (
        NOTES + " create table public.adv_tags (id bigint primary key,"
        ' "Note" bigint references public.adv_notes (id), label text);'
    )
    covered = tags + ' create index on public.adv_tags ("Note") where "Note" is not null;'
    assert advise(db, "unindexed_foreign_keys", covered) == []
    db.execute("drop table public.adv_tags, public.adv_notes")
    # A predicate on another column leaves referencing rows out of the index.
    other = ' create index on public.adv_tags ("Note") where label is not null;'
    (found,) = advise(db, "unindexed_foreign_keys", tags + other)
    assert found.where == "public.adv_tags: foreign key adv_tags_Note_fkey"
    assert found.hint == 'CREATE INDEX ON public.adv_tags ("Note");'


def test_realtime_policies_are_checked_for_per_row_auth_calls(db: psycopg.Connection) -> None:
    sql = (
        "create policy adv_members_listen on realtime.messages for select to authenticated"
        " using (auth.uid() is not null and realtime.topic() = 'room');"
    )
    (found,) = advise(db, "auth_rls_initplan", sql)
    assert found.where == "realtime.messages: policy adv_members_listen"
    assert found.message == "policy adv_members_listen on realtime.messages calls auth.uid() for each row"


def test_sensitive_columns_the_api_roles_cannot_select_are_not_counted(db: psycopg.Connection) -> None:
    sql = (
        "create table public.adv_accounts (id bigint primary key, email text, password text, \"API-Key\" text);"
        " revoke select on public.adv_accounts from anon, authenticated;"
        ' grant select (id, email, "API-Key") on public.adv_accounts to anon, authenticated;'
    )
    (found,) = advise(db, "sensitive_columns_exposed", sql)
    assert found.message == (
        "table public.adv_accounts has row level security disabled and anon and authenticated can select"
        " its sensitive column API-Key over the Data API"
    )


def test_reg_types_behind_an_array_or_a_domain_block_upgrades_too(db: psycopg.Connection) -> None:
    sql = (
        "create domain public.adv_handler as regproc;"
        " create table public.adv_hooks (id bigint primary key, steps regoperator[], handler public.adv_handler);"
    )
    found = advise(db, "unsupported_reg_types", sql)
    assert [(a.where, a.message.split(" (")[0]) for a in found] == [
        ("public.adv_hooks.handler", "column public.adv_hooks.handler has type public.adv_handler"),
        ("public.adv_hooks.steps", "column public.adv_hooks.steps has type regoperator[]"),
    ]


def test_live_advisors_run_only_when_asked(db: psycopg.Connection) -> None:
    db.execute(NOTES_RLS)
    assert [a for a in run_advisors(db, EXPOSED) if ADVISORS[a.code].live] == []
    live = {a.code for a in run_advisors(db, EXPOSED, live=True) if a.where == "public.adv_notes"}
    assert {"pg_graphql_anon_table_exposed", "pg_graphql_authenticated_table_exposed"} <= live


def test_where_we_differ_from_splinter_on_purpose(built: Callable[..., str]) -> None:
    # The shop of fixtures/splinter, on which tools/splinter/compare.py shows the same differences.
    conninfo = built(Project.load(Path(__file__).parent / "fixtures" / "splinter"))
    with psycopg.connect(conninfo) as conn:
        found = {(a.code, a.where) for a in run_advisors(conn, EXPOSED, live=True)}
    # A SECURITY DEFINER trigger function is no RPC endpoint: no client can call it.
    assert not {c for c, w in found if w == "public.handle_new_user()"} & {
        "anon_security_definer_function_executable",
        "authenticated_security_definer_function_executable",
    }
    # The Data API serves a partitioned table's parent: without RLS it is open, as its partitions are.
    assert {("rls_disabled_in_public", "public.orders"), ("rls_disabled_in_public", "public.orders_2025_03")} <= found
    # A view reading auth.users through a security-invoker view still serves it as its owner.
    assert ("auth_users_exposed", "public.customer_emails") in found
    # A partial index leaving referencing rows out does not cover the key; one on them does.
    assert ("unindexed_foreign_keys", "public.wishlists: foreign key wishlists_profile_id_fkey") in found
    assert not [w for c, w in found if c == "unindexed_foreign_keys" and w.startswith("public.reviews")]
    # Two unique indexes differing in NULLS NOT DISTINCT are no duplicates; realtime policies count.
    assert not [w for c, w in found if c == "duplicate_index"]
    assert ("auth_rls_initplan", "realtime.messages: policy Signed-in users receive shop broadcasts") in found
