"""Example Supabase projects apply to the stub unchanged and behave as on the platform.

Each project under fixtures/projects uses what real apps use: a profile trigger on auth.users, a
security definer function with an empty search_path, buckets and storage.objects policies, claims
from app_metadata, the realtime publication, extensions in the extensions schema, and a seed that
writes auth.users and auth.identities rows. Requests are replayed as PostgREST sends them.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

from supamigrate.database import Server

from .platform_projects import act_as, built, session, user_claims

ADA = "a1a1a1a1-0000-4000-8000-000000000001"
GRACE = "a1a1a1a1-0000-4000-8000-000000000002"
LEAD_A = "b2b2b2b2-0000-4000-8000-000000000001"
DEV_A = "b2b2b2b2-0000-4000-8000-000000000002"
DEV_B = "b2b2b2b2-0000-4000-8000-000000000003"
TEAM_A = "7ea70000-0000-4000-8000-00000000000a"
TEAM_B = "7ea70000-0000-4000-8000-00000000000b"


@pytest.fixture(scope="module")
def profiles(supamigrate_server: Server) -> Iterator[str]:
    with built(supamigrate_server, "profiles") as name:
        yield name


@pytest.fixture(scope="module")
def storage_files(supamigrate_server: Server) -> Iterator[str]:
    with built(supamigrate_server, "storage_files") as name:
        yield name


@pytest.fixture(scope="module")
def team_claims(supamigrate_server: Server) -> Iterator[str]:
    with built(supamigrate_server, "team_claims") as name:
        yield name


# -- profiles: trigger on auth.users, security definer, moddatetime, seed -------------------------


def test_seeded_users_got_profiles_from_the_trigger(supamigrate_server: Server, profiles: str) -> None:
    with session(supamigrate_server, profiles) as conn:
        rows = conn.execute(
            "select id::text, full_name, avatar_url from public.profiles order by full_name"
        ).fetchall()
    assert rows == [
        (ADA, "Ada Lovelace", "https://example.com/ada.png"),
        (GRACE, "Grace Hopper", None),
    ]


def test_seeded_passwords_are_bcrypt_and_identities_carry_the_email(
    supamigrate_server: Server, profiles: str
) -> None:
    with session(supamigrate_server, profiles) as conn:
        row = conn.execute(
            "select u.encrypted_password = extensions.crypt('password123', u.encrypted_password),"
            " left(u.encrypted_password, 4) = '$2a$', i.email, u.confirmed_at is not null"
            " from auth.users u join auth.identities i on i.user_id = u.id where u.id = %s",
            (ADA,),
        ).fetchone()
    assert row == (True, True, "ada@example.com", True)


def test_a_sign_up_by_gotrue_creates_a_profile(supamigrate_server: Server, profiles: str) -> None:
    """GoTrue inserts as supabase_auth_admin, which has no rights on public: the definer function does."""
    with session(supamigrate_server, profiles) as conn:
        conn.execute("set local role supabase_auth_admin")
        conn.execute(
            "insert into auth.users (instance_id, id, aud, role, email, raw_user_meta_data)"
            " values ('00000000-0000-0000-0000-000000000000', 'a1a1a1a1-0000-4000-8000-0000000000ff',"
            " 'authenticated', 'authenticated', 'alan@example.com', '{\"full_name\": \"Alan Turing\"}')"
        )
        conn.execute("reset role")
        row = conn.execute(
            "select full_name from public.profiles where id = 'a1a1a1a1-0000-4000-8000-0000000000ff'"
        ).fetchone()
    assert row == ("Alan Turing",)


def test_users_update_only_their_own_profile(supamigrate_server: Server, profiles: str) -> None:
    with session(supamigrate_server, profiles) as conn:
        act_as(conn, "authenticated", user_claims(ADA, "ada@example.com"))
        mine = conn.execute(
            "update public.profiles set website = 'https://ada.dev' returning id::text"
        ).fetchall()
        everyone = conn.execute("select count(*) from public.profiles").fetchone()
    assert mine == [(ADA,)]  # Grace's row is invisible to the update, yet readable by everyone
    assert everyone == (2,)


def test_moddatetime_moves_updated_at(supamigrate_server: Server, profiles: str) -> None:
    with session(supamigrate_server, profiles) as conn:
        conn.execute("update public.profiles set updated_at = '2000-01-01' where id = %s", (ADA,))
        row = conn.execute(
            "select updated_at > '2020-01-01' from public.profiles where id = %s", (ADA,)
        ).fetchone()
    assert row == (True,)


def test_anon_cannot_insert_a_profile(supamigrate_server: Server, profiles: str) -> None:
    with session(supamigrate_server, profiles) as conn, pytest.raises(errors.InsufficientPrivilege):
        act_as(conn, "anon")
        conn.execute("insert into public.profiles (id, username) values (%s, 'ghost')", (ADA,))


def test_api_keys_use_extensions_and_default_to_the_caller(supamigrate_server: Server, profiles: str) -> None:
    with session(supamigrate_server, profiles) as conn:
        act_as(conn, "authenticated", user_claims(GRACE))
        key_id = conn.execute("select public.create_api_key('s3cret')").fetchone()
        row = conn.execute(
            "select user_id::text, key_hash = extensions.crypt('s3cret', key_hash) from public.api_keys"
        ).fetchone()
        act_as(conn, "authenticated", user_claims(ADA))
        seen_by_ada = conn.execute("select count(*) from public.api_keys").fetchone()
    assert key_id is not None and row == (GRACE, True)
    assert seen_by_ada == (0,)


def test_deleting_a_user_cascades_to_profile_and_identities(
    supamigrate_server: Server, profiles: str
) -> None:
    with session(supamigrate_server, profiles) as conn:
        conn.execute("delete from auth.users where id = %s", (GRACE,))
        row = conn.execute(
            "select (select count(*) from public.profiles where id = %s),"
            " (select count(*) from auth.identities where user_id = %s)",
            (GRACE, GRACE),
        ).fetchone()
    assert row == (0, 0)


def test_profiles_stream_over_realtime(supamigrate_server: Server, profiles: str) -> None:
    with session(supamigrate_server, profiles) as conn:
        rows = conn.execute(
            "select schemaname || '.' || tablename from pg_publication_tables"
            " where pubname = 'supabase_realtime'"
        ).fetchall()
    assert rows == [("public.profiles",)]


# -- storage: buckets, storage.objects policies with foldername / extension ---------------------


def upload(conn: psycopg.Connection, bucket: str, name: str, owner: str) -> None:
    conn.execute(
        "insert into storage.objects (bucket_id, name, owner, owner_id) values (%s, %s, %s, %s)",
        (bucket, name, owner, owner),
    )


def test_buckets_were_inserted_with_their_limits(supamigrate_server: Server, storage_files: str) -> None:
    with session(supamigrate_server, storage_files) as conn:
        rows = conn.execute(
            "select id, public, file_size_limit, allowed_mime_types, type::text"
            " from storage.buckets order by id"
        ).fetchall()
    assert rows == [
        ("avatars", True, None, None, "STANDARD"),
        ("documents", False, 10485760, ["application/pdf", "text/plain"], "STANDARD"),
    ]


def test_users_upload_only_into_their_own_folder(supamigrate_server: Server, storage_files: str) -> None:
    with session(supamigrate_server, storage_files) as conn:
        act_as(conn, "authenticated", user_claims(ADA))
        upload(conn, "avatars", f"{ADA}/me.png", ADA)
        upload(conn, "documents", f"{ADA}/cv.pdf", ADA)
        with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
            upload(conn, "avatars", f"{GRACE}/not-mine.png", ADA)
        with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
            upload(conn, "documents", f"{ADA}/virus.exe", ADA)  # storage.extension(name) is 'exe'


def test_documents_are_private_but_avatars_public(supamigrate_server: Server, storage_files: str) -> None:
    with session(supamigrate_server, storage_files) as conn:
        upload(conn, "avatars", f"{ADA}/me.png", ADA)  # as postgres, which bypasses RLS
        upload(conn, "documents", f"{ADA}/cv.pdf", ADA)
        upload(conn, "documents", f"{GRACE}/notes.txt", GRACE)
        act_as(conn, "anon")
        anon = conn.execute("select bucket_id, name from storage.objects order by name").fetchall()
        act_as(conn, "authenticated", user_claims(GRACE))
        grace = conn.execute("select name from storage.objects where bucket_id = 'documents'").fetchall()
        act_as(conn, "authenticated", user_claims(ADA, role="support"))
        support = conn.execute(
            "select count(*) from storage.objects where bucket_id = 'documents'"
        ).fetchone()
    assert anon == [("avatars", f"{ADA}/me.png")]
    assert grace == [(f"{GRACE}/notes.txt",)]
    assert support == (2,)  # app_metadata.role = support reads every document


def test_a_trigger_on_storage_objects_logs_uploads(supamigrate_server: Server, storage_files: str) -> None:
    with session(supamigrate_server, storage_files) as conn:
        act_as(conn, "authenticated", user_claims(ADA))
        upload(conn, "documents", f"{ADA}/reports/q1.pdf", ADA)
        row = conn.execute("select bucket_id, file_name, owner::text from public.uploads").fetchone()
    assert row == ("documents", "q1.pdf", ADA)


# -- team claims: policies on auth.jwt() -> 'app_metadata', a trigger on auth.users updates ------


def test_notes_follow_the_team_in_app_metadata(supamigrate_server: Server, team_claims: str) -> None:
    with session(supamigrate_server, team_claims) as conn:
        act_as(conn, "authenticated", user_claims(DEV_A, team_id=TEAM_A))
        team_a = conn.execute("select body from public.notes").fetchall()
        conn.execute("insert into public.notes (team_id, body) values (%s, 'standup')", (TEAM_A,))
        with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
            conn.execute("insert into public.notes (team_id, body) values (%s, 'sneaky')", (TEAM_B,))
        deleted_by_dev = conn.execute("delete from public.notes returning body").fetchall()
        act_as(conn, "authenticated", user_claims(LEAD_A, team_id=TEAM_A, team_admin=True))
        deleted_by_lead = conn.execute("delete from public.notes returning body").fetchall()
    assert team_a == [("Team A kickoff",)]
    assert deleted_by_dev == []  # only team admins delete
    assert sorted(deleted_by_lead) == [("Team A kickoff",), ("standup",)]


def test_user_metadata_cannot_stand_in_for_app_metadata(supamigrate_server: Server, team_claims: str) -> None:
    with session(supamigrate_server, team_claims) as conn:
        claims = user_claims(DEV_B)
        claims["user_metadata"] = {"team_id": TEAM_A}  # users can write user_metadata themselves
        act_as(conn, "authenticated", claims)
        rows = conn.execute("select body from public.notes").fetchall()
    assert rows == []


def test_moving_a_user_to_another_team_is_recorded(supamigrate_server: Server, team_claims: str) -> None:
    with session(supamigrate_server, team_claims) as conn:
        conn.execute("set local role supabase_auth_admin")
        conn.execute(
            "update auth.users"
            " set raw_app_meta_data = raw_app_meta_data || jsonb_build_object('team_id', %s::text)"
            " where id = %s",
            (TEAM_B, DEV_A),
        )
        conn.execute("reset role")
        row = conn.execute(
            "select user_id::text, old_team::text, new_team::text from public.team_changes"
        ).fetchone()
    assert row == (DEV_A, TEAM_A, TEAM_B)


# -- what postgres may do on the platform ---------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "create policy p on storage.objects for select to authenticated using (owner_id = auth.uid()::text)",
        "create policy p on storage.buckets for select using (public)",
        "create trigger t after insert on auth.users for each row execute function public.handle_new_user()",
        "create index on auth.users (last_sign_in_at)",
        "alter publication supabase_realtime add table public.api_keys",
        "grant select on auth.users to service_role",
        "create schema private",
        "create role app_reader nologin",
        "comment on table storage.objects is 'files'",
    ],
)
def test_postgres_has_the_platform_rights(supamigrate_server: Server, profiles: str, statement: str) -> None:
    with session(supamigrate_server, profiles) as conn:
        assert conn.execute(
            "select current_user, rolsuper from pg_roles where rolname = current_user"
        ).fetchone() == (
            "postgres",
            False,
        )
        conn.execute(statement)


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        ("alter role supabase_admin nosuperuser", errors.InsufficientPrivilege),
        ("create publication everything for all tables", errors.InsufficientPrivilege),
        ("alter role postgres superuser", errors.InsufficientPrivilege),
        ("copy public.profiles to program 'cat'", errors.InsufficientPrivilege),
    ],
)
def test_postgres_is_no_superuser(
    supamigrate_server: Server, profiles: str, statement: str, error: type[Exception]
) -> None:
    with session(supamigrate_server, profiles) as conn, pytest.raises(error):
        conn.execute(statement)


def test_migrations_ran_as_postgres(supamigrate_server: Server, profiles: str) -> None:
    with session(supamigrate_server, profiles) as conn:
        rows = conn.execute(
            "select c.relname, pg_get_userbyid(c.relowner) from pg_class c"
            " where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' order by 1"
        ).fetchall()
        fn = conn.execute(
            "select pg_get_userbyid(proowner) from pg_proc where proname = 'handle_new_user'"
        ).fetchone()
        ext = conn.execute(
            "select extname, extnamespace::regnamespace::text from pg_extension where extname = 'moddatetime'"
        ).fetchone()
    assert rows == [("api_keys", "postgres"), ("profiles", "postgres")]
    assert fn == ("postgres",)
    assert ext == ("moddatetime", "extensions")
