"""The caller fixtures on a schema of another project: a tiny notes app made inside each test.

Nothing here knows the research app: the notes schema has its own grants and policies, read the
claims beyond ``sub`` (``app_metadata``, ``is_anonymous``), and give ``anon`` a policy of its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import psycopg
import pytest
from psycopg import errors

from supamigrate import plugin
from supamigrate.auth import AuthUser
from supamigrate.callers import ActAs, Caller, acting_as
from supamigrate.errors import SupamigrateError

MakeUser = Callable[..., AuthUser]

NOTES_SCHEMA = """
create schema notebook;
grant usage on schema notebook to anon, authenticated, service_role;
create table notebook.notes (
  id uuid primary key default gen_random_uuid(),
  author uuid not null default auth.uid() references auth.users (id),
  team text,
  published boolean not null default false,
  body text not null
);
create index on notebook.notes (author);
create index on notebook.notes (team);
grant select, insert, update, delete on notebook.notes to anon, authenticated, service_role;
alter table notebook.notes enable row level security;
create policy "Authors and their team read notes" on notebook.notes for select to authenticated
  using (author = (select auth.uid()) or team = (select auth.jwt() -> 'app_metadata' ->> 'team'));
create policy "Signed-up users write their own notes" on notebook.notes for insert to authenticated
  with check (author = (select auth.uid()) and not (select (auth.jwt() ->> 'is_anonymous')::boolean));
create policy "Anyone reads published notes" on notebook.notes for select to anon using (published);
"""


@pytest.fixture
def notes(db: psycopg.Connection) -> None:
    """The notes schema, made as ``postgres`` in the test's transaction (rolled back after)."""
    db.execute(NOTES_SCHEMA)


def state(db: psycopg.Connection) -> tuple[object, ...]:
    """Who the connection acts as right now, and the settings a caller changes."""
    # Once set, a custom setting stays defined ('' after a rollback); to auth.uid() '' and
    # undefined both mean no claims, so both read as ''.
    row = db.execute(
        "select current_user, coalesce(current_setting('request.jwt.claims', true), ''),"
        " current_setting('statement_timeout')"
    ).fetchone()
    assert row is not None
    return row


def note_bodies(db: psycopg.Connection) -> list[str]:
    return [str(r[0]) for r in db.execute("select body from notebook.notes order by body")]


def test_fixtures_enforce_another_projects_policies(
    db: psycopg.Connection,
    notes: None,
    make_user: MakeUser,
    as_user: ActAs,
    as_anon: ActAs,
    as_service_role: ActAs,
) -> None:
    alice = make_user(app_metadata={"team": "red"})
    bob = make_user(app_metadata={"team": "red"})
    carol = make_user(app_metadata={"team": "blue"})
    guest = make_user(is_anonymous=True)
    for user, body, published in ((alice, "alice", False), (bob, "bob", True), (carol, "carol", False)):
        with as_user(user):
            db.execute(
                "insert into notebook.notes (team, body, published) values (%s, %s, %s)",
                (user.app_metadata["team"], body, published),
            )
    with as_user(alice):
        assert note_bodies(db) == ["alice", "bob"]  # her own, and her team's through app_metadata
    with as_user(carol):
        assert note_bodies(db) == ["carol"]
    with as_anon():
        assert note_bodies(db) == ["bob"]  # published only
    with as_service_role():
        assert note_bodies(db) == ["alice", "bob", "carol"]
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"), as_user(guest):
        db.execute("insert into notebook.notes (body) values ('guest')")
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"), as_user(alice):
        db.execute("insert into notebook.notes (author, body) values (%s, 'forged')", (bob.id,))
    assert note_bodies(db) == ["alice", "bob", "carol"]


def test_user_claims_are_a_realistic_access_token(
    db: psycopg.Connection, make_user: MakeUser, as_user: ActAs
) -> None:
    user: AuthUser = make_user("ada@example.org", user_metadata={"name": "Ada"})
    guest: AuthUser = make_user(is_anonymous=True)
    with as_user(user, aal="aal2"):
        claims = db.execute("select auth.jwt()").fetchone()[0]  # type: ignore[index]
    assert claims["sub"] == str(user.id) and claims["role"] == claims["aud"] == "authenticated"
    assert claims["email"] == "ada@example.org" and claims["is_anonymous"] is False
    assert claims["app_metadata"] == {"provider": "email", "providers": ["email"]}
    assert claims["user_metadata"]["name"] == "Ada" and claims["aal"] == "aal2"
    assert claims["iat"] <= time.time() < claims["exp"]
    with as_user(guest):
        claims = db.execute("select auth.jwt()").fetchone()[0]  # type: ignore[index]
    assert (claims["is_anonymous"], claims["email"], claims["role"]) == (True, "", "authenticated")
    assert claims["amr"][0]["method"] == "anonymous"


def test_anon_and_service_role_carry_an_api_key_payload(
    db: psycopg.Connection, as_anon: ActAs, as_service_role: ActAs
) -> None:
    for enter, role in ((as_anon, "anon"), (as_service_role, "service_role")):
        with enter():
            seen = db.execute("select auth.jwt(), auth.uid(), auth.role(), current_user").fetchone()
        assert seen is not None
        claims, uid, claimed_role, current = seen
        assert (uid, claimed_role, current, claims["role"]) == (None, role, role, role)
        assert "sub" not in claims and claims["exp"] > time.time()


def test_role_settings_apply_inside_and_everything_is_restored_after(
    db: psycopg.Connection,
    make_user: MakeUser,
    as_user: ActAs,
    as_anon: ActAs,
) -> None:
    db.execute("select set_config('request.jwt.claims', '{\"note\": \"before\"}', true)")
    db.execute("set local statement_timeout = '1234ms'")
    before = state(db)
    assert before == ("postgres", '{"note": "before"}', "1234ms")
    with as_user(make_user()):
        assert state(db)[0::2] == ("authenticated", "8s")  # ALTER ROLE authenticated SET statement_timeout
    assert state(db) == before
    with as_anon():
        assert state(db)[0::2] == ("anon", "3s")
    assert state(db) == before


def test_an_error_inside_rolls_back_the_block_and_restores_the_caller(
    db: psycopg.Connection,
    notes: None,
    make_user: MakeUser,
    as_user: ActAs,
) -> None:
    user = make_user()
    with as_user(user):
        db.execute("insert into notebook.notes (body) values ('kept')")
    before = state(db)
    with pytest.raises(errors.InsufficientPrivilege), as_user(user):
        db.execute("insert into notebook.notes (body) values ('undone')")
        db.execute("delete from auth.users")  # authenticated holds no privilege on auth.users
    assert state(db) == before
    assert note_bodies(db) == ["kept"]  # the connection is usable and the failed block left nothing
    with pytest.raises(ValueError, match="not a database error"), as_user(user):
        raise ValueError("not a database error")
    assert state(db) == before


def test_an_error_caught_inside_the_block_undoes_the_block(
    db: psycopg.Connection, notes: None, make_user: MakeUser, as_user: ActAs
) -> None:
    user = make_user()
    before = state(db)
    with as_user(user):
        db.execute("insert into notebook.notes (body) values ('lost')")
        with pytest.raises(errors.InsufficientPrivilege), db.transaction():
            db.execute("delete from auth.users")  # in a savepoint of its own: the block goes on
        db.execute("insert into notebook.notes (body) values ('kept')")
        with pytest.raises(errors.InsufficientPrivilege):
            db.execute("delete from auth.users")  # caught here: the transaction is aborted
    assert state(db) == before
    assert note_bodies(db) == []
    with as_user(user):
        db.execute("insert into notebook.notes (body) values ('kept')")
        with pytest.raises(errors.InsufficientPrivilege), db.transaction():
            db.execute("delete from auth.users")
    assert note_bodies(db) == ["kept"]


def test_blocks_nest_and_each_restores_the_caller_it_interrupted(
    db: psycopg.Connection,
    make_user: MakeUser,
    as_user: ActAs,
    as_anon: ActAs,
    as_service_role: ActAs,
) -> None:
    outer, inner = make_user(), make_user()

    def who() -> tuple[object, ...]:
        row = db.execute("select current_user, auth.uid()").fetchone()
        assert row is not None
        return row

    with as_user(outer):
        assert who() == ("authenticated", outer.id)
        with as_user(inner):
            assert who() == ("authenticated", inner.id)
            with as_service_role():
                assert who() == ("service_role", None)
            assert who() == ("authenticated", inner.id)
        assert who() == ("authenticated", outer.id)
        with pytest.raises(errors.InsufficientPrivilege), as_anon():
            db.execute("insert into public.research_sessions (user_id, title) values (%s, 'x')", (outer.id,))
        assert who() == ("authenticated", outer.id)
    assert who() == ("postgres", None)


def test_extra_request_settings_are_scoped_to_the_block(db: psycopg.Connection) -> None:
    headers = json.dumps({"x-client-info": "supabase-js/2"})
    with acting_as(db, Caller.anon(), settings={"request.method": "GET", "request.headers": headers}):
        seen = db.execute(
            "select current_setting('request.method'), current_setting('request.headers')::json"
        ).fetchone()
    assert seen == ("GET", {"x-client-info": "supabase-js/2"})
    after = db.execute("select coalesce(current_setting('request.method', true), '')").fetchone()
    assert after == ("",)


def transaction_status(conn: psycopg.Connection) -> psycopg.pq.TransactionStatus:
    """Read afresh each time (mypy would narrow ``conn.info.transaction_status`` across statements)."""
    return conn.info.transaction_status


def test_acting_as_on_a_connection_outside_a_transaction(supamigrate_database: plugin.TestDatabase) -> None:
    with supamigrate_database.connect(autocommit=True) as conn:
        with acting_as(conn, Caller.service_role()):
            assert transaction_status(conn) == psycopg.pq.TransactionStatus.INTRANS
            assert conn.execute("select current_user").fetchone() == ("service_role",)
        assert transaction_status(conn) == psycopg.pq.TransactionStatus.IDLE
        assert conn.execute("select current_user").fetchone() == ("postgres",)


def test_an_unknown_role_is_a_clear_error(db: psycopg.Connection) -> None:
    unknown = pytest.raises(SupamigrateError, match="role 'moderator' does not exist")
    with unknown as failure, acting_as(db, Caller("moderator")):
        pass
    assert failure.value.hint is not None and "anon, authenticated and service_role" in failure.value.hint
    assert state(db)[0] == "postgres"
