"""The research app's schema, as the team's original suite checked it, with nothing skipped."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from psycopg import errors

from supamigrate.auth import AuthUser
from supamigrate.inspect import Catalog

MakeUser = Callable[..., AuthUser]  # the plugin's make_user fixture


def new_session(db: psycopg.Connection, user_id: object, title: str = "Topic") -> object:
    row = db.execute(
        "insert into public.research_sessions (user_id, title) values (%s, %s) returning id", (user_id, title)
    ).fetchone()
    assert row is not None
    return row[0]


def test_auth_users_has_the_columns_the_app_relies_on(catalog: Catalog) -> None:
    columns = {c.name: c for c in catalog.columns("auth.users")}
    for name in ("id", "email", "raw_user_meta_data", "raw_app_meta_data", "created_at", "is_anonymous"):
        assert name in columns, name
    assert columns["is_anonymous"].not_null and columns["is_anonymous"].default == "false"
    assert columns["confirmed_at"].generated == "LEAST(email_confirmed_at, phone_confirmed_at)"


def test_create_a_session_with_defaults(db: psycopg.Connection, make_user: MakeUser) -> None:
    user = make_user("ada@research.test")
    session_id = new_session(db, user.id, "Origins of the analytical engine")
    row = db.execute(
        "select user_id, title, status::text, current_stage::text, created_at = updated_at"
        " from public.research_sessions where id = %s",
        (session_id,),
    ).fetchone()
    assert row == (user.id, "Origins of the analytical engine", "in_progress", "1_initial_research", True)


def test_update_session_status(db: psycopg.Connection, make_user: MakeUser) -> None:
    session_id = new_session(db, make_user().id)
    db.execute(
        "update public.research_sessions set status = 'completed', current_stage = '4_writing',"
        " completed_at = now() where id = %s",
        (session_id,),
    )
    row = db.execute(
        "select status::text, current_stage::text from public.research_sessions where id = %s", (session_id,)
    ).fetchone()
    assert row == ("completed", "4_writing")
    with pytest.raises(errors.InvalidTextRepresentation), db.transaction():
        db.execute("update public.research_sessions set status = 'paused' where id = %s", (session_id,))


def test_enums_have_the_labels_in_order(catalog: Catalog) -> None:
    assert catalog.enum_labels("public.session_status") == ["in_progress", "completed", "failed"]
    assert catalog.enum_labels("public.research_stage") == [
        "1_initial_research",
        "2_planning",
        "3_parallel_research",
        "4_writing",
    ]


def test_draft_files_table_exists_with_its_columns(catalog: Catalog) -> None:
    assert catalog.table_exists("public.draft_files")
    names = [c.name for c in catalog.columns("public.draft_files")]
    assert names[:5] == ["id", "session_id", "file_name", "content", "stage"]


def test_the_three_indexes_exist(catalog: Catalog) -> None:
    user_idx = catalog.index("idx_research_sessions_user_id")
    created_idx = catalog.index("idx_research_sessions_created_at")
    draft_idx = catalog.index("idx_draft_files_session_id")
    assert user_idx is not None and user_idx.table == "public.research_sessions" and user_idx.columns == ("user_id",)
    assert created_idx is not None and created_idx.columns == ("created_at DESC",)
    assert draft_idx is not None and draft_idx.table == "public.draft_files" and draft_idx.columns == ("session_id",)


def test_updated_at_trigger_moves_the_timestamp(db: psycopg.Connection, make_user: MakeUser, catalog: Catalog) -> None:
    session_id = new_session(db, make_user().id)
    # now() is the transaction's start time; push created/updated back so a change is visible.
    db.execute(
        "update public.research_sessions set updated_at = now() - interval '1 hour' where id = %s", (session_id,)
    )
    before = db.execute("select now() - interval '1 hour'").fetchone()
    db.execute("update public.research_sessions set title = 'Renamed' where id = %s", (session_id,))
    after = db.execute("select updated_at from public.research_sessions where id = %s", (session_id,)).fetchone()
    assert before is not None and after is not None and after[0] > before[0]
    triggers = {t.name: t for t in catalog.triggers("public.research_sessions")}
    trig = triggers["update_research_sessions_updated_at"]
    assert (trig.timing, trig.events, trig.for_each_row) == ("BEFORE", ("UPDATE",), True)
    assert {t.name for t in catalog.triggers("public.draft_files")} == {"update_draft_files_updated_at"}


def test_session_with_drafts_saved_and_read_back_whole(db: psycopg.Connection, make_user: MakeUser) -> None:
    session_id = new_session(db, make_user().id)
    drafts = [("notes.md", "# Notes\nÜber", "1_initial_research"), ("plan.md", "1. a\n2. b", "2_planning")]
    for name, content, stage in drafts:
        db.execute(
            "insert into public.draft_files (session_id, file_name, content, stage) values (%s, %s, %s, %s)",
            (session_id, name, content, stage),
        )
    rows = db.execute(
        "select file_name, content, stage::text from public.draft_files where session_id = %s order by file_name",
        (session_id,),
    ).fetchall()
    assert rows == drafts


def test_a_session_cannot_hold_two_drafts_with_the_same_name(db: psycopg.Connection, make_user: MakeUser) -> None:
    session_id = new_session(db, make_user().id)
    insert = "insert into public.draft_files (session_id, file_name, stage) values (%s, 'a.md', '2_planning')"
    db.execute(insert, (session_id,))
    with pytest.raises(errors.UniqueViolation), db.transaction():
        db.execute(insert, (session_id,))


def test_deleting_a_session_deletes_its_drafts(db: psycopg.Connection, make_user: MakeUser) -> None:
    session_id = new_session(db, make_user().id)
    db.execute(
        "insert into public.draft_files (session_id, file_name, stage) values (%s, 'a.md', '2_planning')",
        (session_id,),
    )
    db.execute("delete from public.research_sessions where id = %s", (session_id,))
    left = db.execute("select count(*) from public.draft_files where session_id = %s", (session_id,)).fetchone()
    assert left == (0,)


def test_deleting_a_user_deletes_their_sessions_and_drafts(db: psycopg.Connection, make_user: MakeUser) -> None:
    doomed, kept = make_user(), make_user()
    doomed_session = new_session(db, doomed.id)
    kept_session = new_session(db, kept.id)
    for sid in (doomed_session, kept_session):
        db.execute(
            "insert into public.draft_files (session_id, file_name, stage) values (%s, 'a.md', '4_writing')", (sid,)
        )
    db.execute("delete from auth.users where id = %s", (doomed.id,))
    counts = db.execute(
        "select (select count(*) from public.research_sessions where user_id = %(d)s),"
        " (select count(*) from public.draft_files where session_id = %(ds)s),"
        " (select count(*) from public.research_sessions where user_id = %(k)s),"
        " (select count(*) from public.draft_files where session_id = %(ks)s),"
        " (select count(*) from auth.identities where user_id = %(d)s)",
        {"d": doomed.id, "ds": doomed_session, "k": kept.id, "ks": kept_session},
    ).fetchone()
    assert counts == (0, 0, 1, 1, 0)


def test_a_session_for_an_unknown_user_is_a_foreign_key_violation(db: psycopg.Connection) -> None:
    with pytest.raises(errors.ForeignKeyViolation) as exc:
        db.execute("insert into public.research_sessions (user_id, title) values (gen_random_uuid(), 'orphan')")
    assert exc.value.diag.constraint_name == "research_sessions_user_id_fkey"


def test_user_id_references_auth_users_even_when_public_users_exists(db: psycopg.Connection, catalog: Catalog) -> None:
    # The shared instance had a public.users table of another project; the FK must not care.
    db.execute("create table public.users (id uuid primary key, name text)")
    db.execute("insert into public.users select gen_random_uuid(), 'x' from generate_series(1, 153)")
    fks = catalog.foreign_keys("public.research_sessions")
    assert [(fk.columns, fk.target, fk.target_columns, fk.on_delete) for fk in fks] == [
        (("user_id",), "auth.users", ("id",), "CASCADE")
    ]
    (draft_fk,) = catalog.foreign_keys("public.draft_files")
    assert (draft_fk.target, draft_fk.on_delete) == ("public.research_sessions", "CASCADE")


def test_seed_users_have_sessions_and_identities(db: psycopg.Connection) -> None:
    rows = db.execute(
        "select u.email, count(distinct s.id), count(distinct i.id)"
        " from auth.users u left join public.research_sessions s on s.user_id = u.id"
        " left join auth.identities i on i.user_id = u.id"
        " where u.email like '%%@example.com' group by u.email order by u.email"
    ).fetchall()
    assert rows == [("ada@example.com", 2, 1), ("alan@example.com", 1, 1), ("grace@example.com", 1, 1)]
    ok = db.execute(
        "select encrypted_password = extensions.crypt('password123', encrypted_password)"
        " from auth.users where email = 'ada@example.com'"
    ).fetchone()
    assert ok == (True,)
