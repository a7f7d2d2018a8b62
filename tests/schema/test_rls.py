"""Row level security on research sessions and drafts, proven as each kind of Data API caller.

Each cell of the matrix runs one statement as one caller inside the test's transaction, the way
PostgREST would run the request, and checks the outcome: rows visible (select), rows affected
(insert, update, delete), or the exact refusal. A row the caller may not see is not an error:
PostgREST answers with an empty result, so those cells expect 0.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import psycopg
import pytest

from supamigrate.auth import AuthUser
from supamigrate.callers import ActAs
from supamigrate.inspect import Catalog

OWNER, OTHER, ANONYMOUS, ANON, SERVICE = "owner", "other_user", "anonymous_user", "anon", "service_role"
CALLERS = (OWNER, OTHER, ANONYMOUS, ANON, SERVICE)
API_ROLES = ("anon", "authenticated", "service_role")
TABLES = ("public.research_sessions", "public.draft_files")
COMMANDS = ("SELECT", "INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class Refused:
    """The statement fails with this SQLSTATE and a primary message starting with ``message``."""

    sqlstate: str
    message: str


RLS = Refused("42501", "new row violates row-level security policy")
NOT_NULL = Refused("23502", 'null value in column "user_id"')
ALL = "every row"  # as many rows as the table holds, counted as postgres

Outcome = int | str | Refused


@dataclass(frozen=True)
class World:
    """Users and rows every cell starts from, made as ``postgres`` in the test's transaction.

    The owner has ``session`` (holding ``draft``) and an empty ``spare`` session; the other user
    has ``others_session`` (holding ``others_draft``); the anonymous sign-in user has a session
    with one draft of their own.
    """

    users: dict[str, AuthUser]
    ids: dict[str, uuid.UUID]


@pytest.fixture
def world(db: psycopg.Connection, make_user: Callable[..., AuthUser]) -> World:
    users = {OWNER: make_user(), OTHER: make_user(), ANONYMOUS: make_user(is_anonymous=True)}

    def insert(query: str, *params: object) -> uuid.UUID:
        row = db.execute(query, params).fetchone()
        assert row is not None
        return uuid.UUID(str(row[0]))

    new_session = "insert into public.research_sessions (user_id, title) values (%s, %s) returning id"
    new_draft = (
        "insert into public.draft_files (session_id, file_name, stage)"
        " values (%s, %s, '2_planning') returning id"
    )
    ids = {
        "owner_id": users[OWNER].id,
        "other_id": users[OTHER].id,
        "session": insert(new_session, users[OWNER].id, "Analytical engine"),
        "spare": insert(new_session, users[OWNER].id, "Spare"),
        "others_session": insert(new_session, users[OTHER].id, "Compilers"),
        "anonymous_session": insert(new_session, users[ANONYMOUS].id, "Guest research"),
    }
    ids["draft"] = insert(new_draft, ids["session"], "draft.md")
    ids["others_draft"] = insert(new_draft, ids["others_session"], "others.md")
    ids["anonymous_draft"] = insert(new_draft, ids["anonymous_session"], "guest.md")
    return World(users, ids)


def row(
    owner: Outcome, other: Outcome, anonymous: Outcome, anon: Outcome, service: Outcome
) -> dict[str, Outcome]:
    return dict(zip(CALLERS, (owner, other, anonymous, anon, service), strict=True))


# (table, action) -> (statement, outcome per caller). %(name)s takes World.ids.
MATRIX: dict[tuple[str, str], tuple[str, dict[str, Outcome]]] = {
    ("research_sessions", "select_owners_session"): (
        "select * from public.research_sessions where id = %(session)s",
        row(1, 0, 0, 0, 1),
    ),
    ("research_sessions", "select_all"): (
        "select * from public.research_sessions",
        row(2, 1, 1, 0, ALL),
    ),
    ("research_sessions", "insert_for_oneself"): (
        "insert into public.research_sessions (user_id, title) values ((select auth.uid()), 'Mine')",
        row(1, 1, 1, RLS, NOT_NULL),  # service_role bypasses RLS but has no user: auth.uid() is NULL
    ),
    ("research_sessions", "insert_for_the_owner"): (
        "insert into public.research_sessions (user_id, title) values (%(owner_id)s, 'Planted')",
        row(1, RLS, RLS, RLS, 1),
    ),
    ("research_sessions", "update_owners_session"): (
        "update public.research_sessions set title = 'Renamed' where id = %(session)s",
        row(1, 0, 0, 0, 1),
    ),
    ("research_sessions", "hand_owners_session_to_other_user"): (
        "update public.research_sessions set user_id = %(other_id)s where id = %(session)s",
        row(RLS, 0, 0, 0, 1),
    ),
    ("research_sessions", "claim_other_users_session"): (
        "update public.research_sessions set user_id = (select auth.uid()) where id = %(others_session)s",
        row(0, 1, 0, 0, NOT_NULL),  # for the other user it is already theirs: a no-op that passes
    ),
    ("research_sessions", "delete_owners_session"): (
        "delete from public.research_sessions where id = %(session)s",
        row(1, 0, 0, 0, 1),
    ),
    ("draft_files", "select_owners_draft"): (
        "select * from public.draft_files where id = %(draft)s",
        row(1, 0, 0, 0, 1),
    ),
    ("draft_files", "select_all"): (
        "select * from public.draft_files",
        row(1, 1, 1, 0, ALL),
    ),
    ("draft_files", "insert_into_owners_session"): (
        "insert into public.draft_files (session_id, file_name, stage)"
        " values (%(session)s, 'new.md', '4_writing')",
        row(1, RLS, RLS, RLS, 1),
    ),
    ("draft_files", "update_owners_draft"): (
        "update public.draft_files set content = 'rewritten' where id = %(draft)s",
        row(1, 0, 0, 0, 1),
    ),
    ("draft_files", "move_owners_draft_to_owners_spare_session"): (
        "update public.draft_files set session_id = %(spare)s where id = %(draft)s",
        row(1, 0, 0, 0, 1),
    ),
    ("draft_files", "move_owners_draft_to_other_users_session"): (
        "update public.draft_files set session_id = %(others_session)s where id = %(draft)s",
        row(RLS, 0, 0, 0, 1),
    ),
    ("draft_files", "move_other_users_draft_to_owners_session"): (
        "update public.draft_files set session_id = %(session)s where id = %(others_draft)s",
        row(0, RLS, 0, 0, 1),
    ),
    ("draft_files", "delete_owners_draft"): (
        "delete from public.draft_files where id = %(draft)s",
        row(1, 0, 0, 0, 1),
    ),
}

CELLS = [
    pytest.param(table, statement, caller, expected, id=f"{table}-{action}-{caller}")
    for (table, action), (statement, outcomes) in MATRIX.items()
    for caller, expected in outcomes.items()
]


@pytest.fixture
def act_as(world: World, as_user: ActAs, as_anon: ActAs, as_service_role: ActAs) -> ActAs:
    """``act_as(caller_name)``: the context manager that makes ``db`` act as that caller."""

    def enter(caller: str) -> AbstractContextManager[psycopg.Connection]:
        if caller == ANON:
            return as_anon()
        if caller == SERVICE:
            return as_service_role()
        return as_user(world.users[caller])

    return enter


@pytest.mark.parametrize(("table", "statement", "caller", "expected"), CELLS)
def test_rls_matrix(
    db: psycopg.Connection,
    world: World,
    act_as: ActAs,
    table: str,
    statement: str,
    caller: str,
    expected: Outcome,
) -> None:
    if expected == ALL:
        counted = db.execute(f"select count(*) from public.{table}").fetchone()
        assert counted is not None
        expected = int(counted[0])
    if isinstance(expected, Refused):
        with pytest.raises(psycopg.Error) as failure, act_as(caller):
            db.execute(statement, world.ids)
        message = failure.value.diag.message_primary or ""
        assert failure.value.sqlstate == expected.sqlstate, message
        assert message.startswith(expected.message) and f'"{table}"' in message, message
        return
    with act_as(caller):
        cur = db.execute(statement, world.ids)
        outcome = len(cur.fetchall()) if statement.startswith("select") else cur.rowcount
    assert outcome == expected


@pytest.mark.parametrize("caller", CALLERS)
def test_auth_functions_see_the_caller(
    db: psycopg.Connection, world: World, act_as: ActAs, caller: str
) -> None:
    user = world.users.get(caller)
    role = {ANON: "anon", SERVICE: "service_role"}.get(caller, "authenticated")
    with act_as(caller):
        seen = db.execute(
            "select auth.uid(), auth.role(), current_user, auth.jwt() ->> 'is_anonymous'"
        ).fetchone()
    expected_anonymous = None if user is None else str(user.is_anonymous).lower()
    assert seen == (user.id if user else None, role, role, expected_anonymous)


COUNT_BOTH = (
    "select (select count(*) from public.research_sessions), (select count(*) from public.draft_files)"
)


def test_anon_sees_nothing_anywhere(db: psycopg.Connection, world: World, as_anon: ActAs) -> None:
    with as_anon():
        assert db.execute(COUNT_BOTH).fetchone() == (0, 0)


def test_service_role_sees_every_row(db: psycopg.Connection, world: World, as_service_role: ActAs) -> None:
    as_postgres = db.execute(COUNT_BOTH).fetchone()
    with as_service_role():
        assert db.execute(COUNT_BOTH).fetchone() == as_postgres
    assert as_postgres is not None and as_postgres[0] >= 4 and as_postgres[1] >= 3


def test_api_roles_hold_table_privileges_so_refusals_come_from_rls(db: psycopg.Connection) -> None:
    missing = db.execute(
        "select r, t, p from unnest(%s::text[]) r, unnest(%s::text[]) t, unnest(%s::text[]) p"
        " where not has_table_privilege(r, t, p)",
        (list(API_ROLES), list(TABLES), list(COMMANDS)),
    ).fetchall()
    assert missing == []


def test_every_public_table_has_rls_enabled_and_a_policy(catalog: Catalog) -> None:
    tables = catalog.tables("public")
    assert set(TABLES) <= set(tables)
    unprotected = [t for t in tables if not catalog.rls_enabled(t) or not catalog.policies(t)]
    assert unprotected == []


def test_one_permissive_policy_per_table_role_and_command(catalog: Catalog) -> None:
    seen: dict[tuple[str, str, str], list[str]] = {}
    for table in catalog.tables("public"):
        for policy in catalog.policies(table):
            assert policy.permissive, policy.name
            commands = COMMANDS if policy.command == "ALL" else (policy.command,)
            for role in policy.roles:
                for command in commands:
                    seen.setdefault((table, role, command), []).append(policy.name)
    assert {key: names for key, names in seen.items() if len(names) > 1} == {}
    assert sorted(seen) == sorted(
        (t, "authenticated", c) for t in TABLES for c in ("SELECT", "INSERT", "UPDATE", "DELETE")
    )


def test_policies_call_auth_functions_once_per_statement(catalog: Catalog) -> None:
    # PostgreSQL prints `(select auth.uid())` back as `( SELECT auth.uid() AS uid)`: an initplan.
    per_row = []
    for table in TABLES:
        for policy in catalog.policies(table):
            for expression in (policy.using, policy.with_check):
                for call in re.finditer(r"auth\.\w+\(\)", expression or ""):
                    if not (expression or "")[: call.start()].endswith("SELECT "):
                        per_row.append((policy.name, call.group()))
    assert per_row == []


def test_every_column_a_policy_filters_on_leads_an_index(catalog: Catalog) -> None:
    columns = {column for table in TABLES for column in catalog.policy_columns(table)}
    assert columns == {
        ("public.research_sessions", "user_id"),
        ("public.research_sessions", "id"),
        ("public.draft_files", "session_id"),
    }
    unindexed = [(t, c) for t, c in columns if not any(i.columns[0] == c for i in catalog.indexes(t))]
    assert unindexed == []
