"""Storage and Realtime smoke requests on small projects: a correct one and one trap of each."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from supamigrate.auth import AuthUser, create_user
from supamigrate.database import Server
from supamigrate.project import Project
from supamigrate.smoke import REQUESTS, run_smoke
from supamigrate.smoke.locate import Locator
from supamigrate.smoke.realtime import REALTIME_REQUESTS, ChannelRefused, join_private_channel
from supamigrate.smoke.requests import SmokeContext, SmokeError, SmokeFailure, SmokeRequest
from supamigrate.smoke.storage import (
    STORAGE_REQUESTS,
    StorageApiError,
    download,
    list_objects,
    move,
    put_object,
    remove,
    upload,
)

from .platform_projects import built, session

SMOKE = Path(__file__).parent / "fixtures" / "smoke"
ADA = uuid.UUID("6f1c3a52-0000-4000-8000-00000000ada0")


@pytest.fixture(scope="module")
def storage_ok(supamigrate_server: Server) -> Iterator[str]:
    with built(supamigrate_server, SMOKE / "storage_ok") as name:
        yield name


@pytest.fixture(scope="module")
def folder_inverted(supamigrate_server: Server) -> Iterator[str]:
    with built(supamigrate_server, SMOKE / "storage_folder_inverted") as name:
        yield name


@pytest.fixture(scope="module")
def wrong_claim(supamigrate_server: Server) -> Iterator[str]:
    with built(supamigrate_server, SMOKE / "realtime_wrong_claim") as name:
        yield name


def ada(conn: psycopg.Connection) -> AuthUser:
    return create_user(conn, "ada@example.com", user_id=ADA)


def failure(request: SmokeRequest, conn: psycopg.Connection, user: AuthUser | None = None) -> SmokeFailure:
    with pytest.raises(SmokeError) as raised:
        request.run(SmokeContext(conn, user, {}))
    return raised.value.failure


def by_name(name: str) -> SmokeRequest:
    return next(r for r in REQUESTS if r.name == name)


def test_the_registry_holds_storage_and_realtime_requests() -> None:
    assert [(r.name, r.service) for r in STORAGE_REQUESTS + REALTIME_REQUESTS] == [
        ("storage_upload", "storage"),
        ("storage_upsert", "storage"),
        ("storage_download", "storage"),
        ("storage_list", "storage"),
        ("storage_move", "storage"),
        ("storage_delete", "storage"),
        ("realtime_join", "realtime"),
        ("realtime_broadcast", "realtime"),
    ]
    assert all(r in REQUESTS for r in STORAGE_REQUESTS + REALTIME_REQUESTS)


def test_every_request_passes_on_a_correct_project(supamigrate_server: Server, storage_ok: str) -> None:
    with session(supamigrate_server, storage_ok) as conn:
        user = ada(conn)
        settings = (
            "SELECT current_user, coalesce(current_setting('request.jwt.claims', true), ''),"
            " current_setting('search_path'), coalesce(current_setting('storage.operation', true), '')"
        )
        before = conn.execute(settings).fetchone()
        for request in STORAGE_REQUESTS + REALTIME_REQUESTS:
            assert request.applies(conn), request.name
            request.run(SmokeContext(conn, user, {}))
            request.run(SmokeContext(conn, None, {}))  # no user (the sign-up failed, and said so): nothing to do
        # Nothing stays behind: no object, no message, and the caller's role and claims are back.
        assert conn.execute("SELECT count(*) FROM storage.objects").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM realtime.messages").fetchone() == (0,)
        assert conn.execute(settings).fetchone() == before
        assert before is not None and before[0] == "postgres"


def test_an_inverted_folder_check_refuses_the_upload(supamigrate_server: Server, folder_inverted: str) -> None:
    with session(supamigrate_server, folder_inverted) as conn:
        user = ada(conn)
        found = failure(by_name("storage_upload"), conn, user)
        assert (found.request, found.service_error, found.culprit, found.fix) == (
            "storage_upload",
            f"avatars/{ADA}/supamigrate-smoke.txt: 403 AccessDenied: new row violates row-level security policy",
            "policy storage.objects: Users upload their own avatar",
            "make an insert policy on storage.objects for authenticated accept the object: with check "
            "(bucket_id = 'avatars' and (storage.foldername(name))[1] = (select auth.uid())::text)",
        )
        assert isinstance(found.error, psycopg.errors.InsufficientPrivilege)
        assert str(found.error) == 'new row violates row-level security policy for table "objects"'
        # Reading, listing and deleting are allowed, and upsert and move are never granted: they pass.
        for name in ("storage_download", "storage_list", "storage_delete"):
            by_name(name).run(SmokeContext(conn, user, {}))
        assert [r.name for r in STORAGE_REQUESTS if r.applies(conn)] == [
            "storage_upload",
            "storage_download",
            "storage_list",
            "storage_delete",
        ]


def test_a_policy_on_a_claim_auth_never_issues_refuses_the_channel(
    supamigrate_server: Server, wrong_claim: str
) -> None:
    with session(supamigrate_server, wrong_claim) as conn:
        user = ada(conn)
        assert [r.name for r in REALTIME_REQUESTS if r.applies(conn)] == ["realtime_join", "realtime_broadcast"]
        found = failure(by_name("realtime_join"), conn, user)
        assert (found.request, found.service_error, found.culprit, found.fix) == (
            "realtime_join",
            f"You do not have permissions to read from this Channel topic: user:{ADA}",
            "policy realtime.messages: Users receive their own channel",
            "make a select policy on realtime.messages for authenticated true for this user and topic, "
            "e.g. using ((select realtime.topic()) = 'user:' || (select auth.uid())::text), or set "
            "[smoke] realtime_topic to a channel the user may join",
        )
        assert isinstance(found.error, ChannelRefused) and found.error.pg_error is None
        found = failure(by_name("realtime_broadcast"), conn, user)
        assert (found.request, found.service_error, found.culprit, found.fix) == (
            "realtime_broadcast",
            f"Broadcast to user:{ADA} dropped: the user may not write to this Channel topic"
            " (Realtime sends no error; send() times out)",
            "policy realtime.messages: Users send on their own channel",
            "make an insert policy on realtime.messages for authenticated true for this user and topic, "
            "e.g. with check ((select realtime.topic()) = 'user:' || (select auth.uid())::text), or set "
            "[smoke] realtime_topic to a channel the user may send on",
        )
        assert conn.execute("SELECT count(*) FROM realtime.messages").fetchone() == (0,)


def test_a_topic_of_the_options_is_the_one_joined(supamigrate_server: Server, storage_ok: str) -> None:
    with session(supamigrate_server, storage_ok) as conn:
        user = ada(conn)
        with pytest.raises(SmokeError) as raised:
            by_name("realtime_join").run(SmokeContext(conn, user, {"realtime_topic": "room:lobby"}))
        assert raised.value.failure.service_error == (
            "You do not have permissions to read from this Channel topic: room:lobby"
        )


def test_a_policy_that_raises_refuses_the_channel_with_the_sql_error(
    supamigrate_server: Server, storage_ok: str
) -> None:
    with session(supamigrate_server, storage_ok) as conn:
        user = ada(conn)
        conn.execute(
            "create policy broken on realtime.messages for select to authenticated"
            " using ((select realtime.topic())::uuid is not null)"
        )
        with pytest.raises(ChannelRefused) as raised:
            join_private_channel(conn, user, f"user:{ADA}")
        assert raised.value.message == f"You do not have permissions to read from this Channel topic: user:{ADA}"
        assert str(raised.value.pg_error) == f'invalid input syntax for type uuid: "user:{ADA}"'


def test_storage_calls_answer_as_storage_api(supamigrate_server: Server, storage_ok: str) -> None:
    with session(supamigrate_server, storage_ok) as conn:
        user = ada(conn)
        grace = create_user(conn, "grace@example.com")
        stored = upload(conn, user, "avatars", f"{ADA}/me.png", b"\x89PNG", content_type="image/png")
        assert (stored.bucket_id, stored.name, stored.owner_id) == ("avatars", f"{ADA}/me.png", str(ADA))
        assert (stored.metadata["size"], stored.metadata["mimetype"]) == (4, "image/png")
        with pytest.raises(StorageApiError) as raised:
            upload(conn, user, "avatars", f"{ADA}/me.png", b"again", content_type="image/png")
        assert raised.value.message == "409 KeyAlreadyExists: The resource already exists"
        replaced = upload(conn, user, "avatars", f"{ADA}/me.png", b"again", upsert=True, content_type="image/png")
        assert (replaced.id, replaced.metadata["size"]) == (stored.id, 5)
        with pytest.raises(StorageApiError) as raised:
            upload(conn, user, "avatars", f"{ADA}/me.gif", b"GIF", content_type="image/gif")
        assert raised.value.message == "415 InvalidMimeType: mime type image/gif is not supported"
        with pytest.raises(StorageApiError) as raised:
            upload(conn, user, "pictures", f"{ADA}/me.png", b"")
        assert raised.value.message == "404 NoSuchBucket: Bucket not found"
        with pytest.raises(StorageApiError) as raised:
            upload(conn, grace, "avatars", f"{ADA}/not-mine.png", b"", content_type="image/png")
        assert raised.value.message == "403 AccessDenied: new row violates row-level security policy"

        assert download(conn, user, "avatars", f"{ADA}/me.png").id == stored.id
        with pytest.raises(StorageApiError) as raised:
            download(conn, grace, "avatars", f"{ADA}/me.png")
        assert raised.value.message == "404 NoSuchKey: Object not found"

        put_object(conn, user, "avatars", f"{ADA}/2025/trip.png")
        entries = [(e["name"], e["id"] is None) for e in list_objects(conn, user, "avatars", str(ADA))]
        assert entries == [("2025", True), ("me.png", False)]
        assert list_objects(conn, grace, "avatars", str(ADA)) == []

        with pytest.raises(StorageApiError) as raised:
            move(conn, user, "avatars", f"{ADA}/me.png", f"{grace.id}/me.png")
        assert raised.value.message == "403 AccessDenied: new row violates row-level security policy"
        moved = move(conn, user, "avatars", f"{ADA}/me.png", f"{ADA}/old.png")
        assert (moved.id, moved.name) == (stored.id, f"{ADA}/old.png")

        with pytest.raises(StorageApiError) as raised:
            remove(conn, grace, "avatars", f"{ADA}/old.png")
        assert raised.value.message == "403 AccessDenied: Access denied"
        assert remove(conn, user, "avatars", f"{ADA}/old.png").id == stored.id
        with pytest.raises(StorageApiError) as raised:
            remove(conn, user, "avatars", f"{ADA}/old.png")
        assert raised.value.message == "404 NoSuchKey: Object not found"


def test_a_trigger_failing_on_upload_names_its_function(supamigrate_server: Server, storage_ok: str) -> None:
    with session(supamigrate_server, storage_ok) as conn:
        user = ada(conn)
        # A log written by a trigger that is not security definer: the user cannot write the log.
        conn.execute(
            """
            create table public.upload_log (name text);
            revoke all on public.upload_log from anon, authenticated;
            create function public.log_upload() returns trigger language plpgsql as $$
            begin
              insert into public.upload_log values (new.name);
              return new;
            end $$;
            create trigger log_upload after insert on storage.objects
              for each row execute function public.log_upload();
            """
        )
        found = failure(by_name("storage_upload"), conn, user)
        assert (found.service_error, found.culprit) == (
            f"avatars/{ADA}/supamigrate-smoke.txt: 403 AccessDenied: permission denied for table upload_log",
            "function public.log_upload",
        )


def test_the_readme_example_of_storage_upload_passes(pytester: pytest.Pytester) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Storage uploads and Realtime channels as the services make them", 1)[1]
    example = section.split("```python\n", 1)[1].split("```", 1)[0]
    project = pytester.path / "app"
    shutil.copytree(SMOKE / "storage_ok", project)
    pytester.makepyfile(test_storage=example)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-o", f"supamigrate_project_dir={project}")
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(
    ("project", "culprit", "where"),
    [
        (
            "storage_folder_inverted",
            "policy storage.objects: Users upload their own avatar",
            "supabase/migrations/20250301000000_avatars.sql:9:1",
        ),
        (
            "realtime_wrong_claim",
            "policy realtime.messages: Users receive their own channel",
            "supabase/migrations/20250301000000_private_channels.sql:3:1",
        ),
        (
            "storage_ok",
            "policy storage.objects: Users read their own avatars, function public.broadcast_notification",
            "supabase/migrations/20250302000000_notifications.sql:22:1",
        ),
        ("storage_ok", "function public.log_upload", "function public.log_upload"),  # not made by them: named
    ],
)
def test_a_culprit_is_located_at_the_statement_creating_it(project: str, culprit: str, where: str) -> None:
    found = Locator(Project.load(SMOKE / project)).locate(culprit)
    assert str(found) == where


def test_an_upsert_without_a_select_policy_is_refused(supamigrate_server: Server, storage_ok: str) -> None:
    with session(supamigrate_server, storage_ok) as conn:
        user = ada(conn)
        conn.execute('drop policy "Users read their own avatars" on storage.objects')
        found = failure(by_name("storage_upsert"), conn, user)
        assert (found.service_error, found.culprit) == (
            f"avatars/{ADA}/supamigrate-smoke.txt: 403 AccessDenied: new row violates row-level security policy",
            "policy storage.objects: Users replace their own avatars, "
            "policy storage.objects: Users upload their own avatars",
        )
        assert str(found.error) == 'new row violates row-level security policy for table "objects"'
        # A plain upload needs no select policy: storage-api's insert returns nothing.
        by_name("storage_upload").run(SmokeContext(conn, user, {}))


def test_a_broadcast_policy_that_raises_is_a_refusal_with_the_sql_error(
    supamigrate_server: Server, storage_ok: str
) -> None:
    with session(supamigrate_server, storage_ok) as conn:
        user = ada(conn)
        conn.execute(
            "create policy broken on realtime.messages for insert to authenticated"
            " with check ((select realtime.topic())::uuid is not null)"
        )
        found = failure(by_name("realtime_broadcast"), conn, user)
        assert found.service_error == (
            f"Broadcast to user:{ADA} dropped: the user may not write to this Channel topic"
            " (Realtime sends no error; send() times out)"
        )
        assert str(found.error) == f'invalid input syntax for type uuid: "user:{ADA}"'


def test_a_name_s3_would_not_take_is_an_invalid_key(supamigrate_server: Server, storage_ok: str) -> None:
    with session(supamigrate_server, storage_ok) as conn:
        user = ada(conn)
        with pytest.raises(StorageApiError) as raised:
            upload(conn, user, "avatars", f"{ADA}/café.txt", b"")
        assert (raised.value.status, raised.value.message) == (400, f"400 InvalidKey: Invalid key: {ADA}/café.txt")


def test_a_trigger_with_an_empty_search_path_and_an_unqualified_table_is_a_schema_mismatch(
    supamigrate_server: Server, storage_ok: str
) -> None:
    with session(supamigrate_server, storage_ok) as conn:
        user = ada(conn)
        conn.execute(
            """
            create table public.upload_log (name text);
            create function public.log_upload() returns trigger
            language plpgsql security definer set search_path = '' as $$
            begin
              insert into upload_log values (new.name);
              return new;
            end $$;
            create trigger log_upload after insert on storage.objects
              for each row execute function public.log_upload();
            """
        )
        found = failure(by_name("storage_upload"), conn, user)
        assert (found.service_error, found.culprit) == (
            f"avatars/{ADA}/supamigrate-smoke.txt: 503 DatabaseSchemaMismatch: There is a database schema mismatch"
            " in a trigger or RLS policy: PL/pgSQL function public.log_upload() line 3 at SQL statement",
            "function public.log_upload",
        )
        assert isinstance(found.error, psycopg.errors.UndefinedTable)
        assert str(found.error).splitlines()[0] == 'relation "upload_log" does not exist'


def test_the_storage_files_example_passes_the_requests_its_policies_grant(supamigrate_server: Server) -> None:
    with built(supamigrate_server, "storage_files") as name, session(supamigrate_server, name) as conn:
        user = ada(conn)
        granted = [r for r in STORAGE_REQUESTS if r.applies(conn)]
        # Its buckets take uploads and reads; nothing lets a user replace, move or delete a file.
        assert [r.name for r in granted] == ["storage_upload", "storage_download", "storage_list"]
        for request in granted:
            request.run(SmokeContext(conn, user, {}))
        # Its trigger logged each upload, and the requests rolled that back with the objects.
        assert conn.execute("SELECT count(*) FROM public.uploads").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM storage.objects").fetchone() == (0,)


def test_smoke_section_says_where_storage_requests_go(supamigrate_server: Server, folder_inverted: str) -> None:
    from supamigrate.toolconfig import SmokeSection

    project = Project.load(SMOKE / "storage_folder_inverted")

    def refused(section: SmokeSection) -> list[str]:
        with session(supamigrate_server, folder_inverted) as conn:
            return [f.message.partition(":")[0] for f in run_smoke(conn, project, section)]

    assert refused(SmokeSection()) == ["storage_upload"]
    # Another bucket: nothing of avatars' is tried. Another folder: the inverted check lets it in.
    assert refused(SmokeSection(storage_buckets=("nope",))) == []
    assert refused(SmokeSection(storage_path="shared/{user_id}.txt")) == []


def test_check_fails_on_the_storage_and_realtime_traps_naming_each_policy_and_its_file_line(tmp_path: Path) -> None:
    import re

    from supamigrate import commands

    user = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    expected = {
        "storage_folder_inverted": [(
            'storage_upload: Storage answers "avatars/<user>/supamigrate-smoke.txt: 403 AccessDenied: new row'
            ' violates row-level security policy": 42501 new row violates row-level security policy for table'
            ' "objects" (policy storage.objects: Users upload their own avatar)',
            "supabase/migrations/20250301000000_avatars.sql:9:1",
        )],
        "realtime_wrong_claim": [
            (
                'realtime_join: Realtime answers "You do not have permissions to read from this Channel topic:'
                ' user:<user>" (policy realtime.messages: Users receive their own channel)',
                "supabase/migrations/20250301000000_private_channels.sql:3:1",
            ),
            (
                'realtime_broadcast: Realtime answers "Broadcast to user:<user> dropped: the user may not write to'
                " this Channel topic (Realtime sends no error; send() times out)\" (policy realtime.messages: Users"
                " send on their own channel)",
                "supabase/migrations/20250301000000_private_channels.sql:7:1",
            ),
        ],
        "storage_ok": [],
    }
    for name, findings in expected.items():
        shutil.copytree(SMOKE / name, tmp_path / name)  # out of this repository's git: its migrations are new
        report = commands.check(Project.load(tmp_path / name))
        smoke = [(user.sub("<user>", f.message), str(f.where)) for f in report.findings if f.code == "smoke"]
        assert smoke == findings, name
        assert not findings or not report.ok
