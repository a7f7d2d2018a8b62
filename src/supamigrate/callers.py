"""Run statements as a Data API caller, the way PostgREST runs a request.

PostgREST connects as ``authenticator`` and, inside each request's transaction, switches to the
role the JWT names (``SET LOCAL ROLE``), applies that role's ``ALTER ROLE ... SET`` settings (such
as ``statement_timeout``) and stores the JWT payload in ``request.jwt.claims``, where
``auth.uid()``, ``auth.role()`` and ``auth.jwt()`` read it. :func:`acting_as` does the same on any
connection whose session user may switch to the role (``postgres`` and superusers may).

The block runs in a savepoint (in a transaction of its own when none is open):

- when it ends normally, the previous role and settings are put back explicitly, because
  ``SET LOCAL`` would otherwise last until the end of the transaction; its writes are kept;
- when it raises, the savepoint is rolled back, which undoes its writes together with the role
  and settings (as a failed request's transaction is undone), and the error propagates with the
  connection still usable, so a test can assert on the error and carry on;
- when an error was caught inside the block (``pytest.raises`` within it), the transaction is
  aborted, so the savepoint is rolled back the same way, silently: the block's writes are lost.
  Wrap the failing statement in ``conn.transaction()`` to keep the others.

Blocks nest: an inner block restores the outer caller when it ends.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus

from .auth import AuthUser, api_key_claims
from .errors import SupamigrateError

CLAIMS_SETTING = "request.jwt.claims"

ActAs = Callable[..., AbstractContextManager[psycopg.Connection]]
"""The type of the ``as_user``, ``as_anon`` and ``as_service_role`` fixtures."""


@dataclass(frozen=True)
class Caller:
    """Who a request comes from: the role PostgREST switches to and the JWT payload it carries."""

    role: str
    claims: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def user(cls, user: AuthUser, **extra_claims: Any) -> Caller:
        """A signed-in user (anonymous sign-ins included) with the access token Supabase Auth issues."""
        return cls(user.role, user.claims(**extra_claims))

    @classmethod
    def anon(cls, **extra_claims: Any) -> Caller:
        """A caller holding only the anon key: role ``anon``, no ``sub``."""
        return cls("anon", api_key_claims("anon", **extra_claims))

    @classmethod
    def service_role(cls, **extra_claims: Any) -> Caller:
        """A server holding the service_role key: role ``service_role``, which bypasses RLS."""
        return cls("service_role", api_key_claims("service_role", **extra_claims))


def role_settings(conn: psycopg.Connection, role: str) -> dict[str, str]:
    """The ``ALTER ROLE role SET`` settings PostgREST applies when it impersonates ``role``.

    Only settings any role may change (``pg_settings.context = 'user'``) are returned: login-time
    ones such as ``session_preload_libraries`` cannot be set inside a transaction.
    """
    row = conn.execute(
        "SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = %(role)s),"
        " ARRAY(SELECT kv FROM pg_roles r, unnest(r.rolconfig) AS kv WHERE r.rolname = %(role)s"
        "   AND split_part(kv, '=', 1) IN (SELECT name FROM pg_settings WHERE context = 'user'))",
        {"role": role},
    ).fetchone()
    assert row is not None
    exists, config = row
    if not exists:
        raise SupamigrateError(
            f"role {role!r} does not exist in this database",
            hint="the Supabase platform stub creates anon, authenticated and service_role",
        )
    settings: dict[str, str] = {}
    for item in config:
        name, _, value = str(item).partition("=")
        settings[name] = value
    return settings


def _current(conn: psycopg.Connection, names: list[str]) -> dict[str, str]:
    rows = conn.execute(
        # An undefined custom setting (NULL) restores as '', which auth.uid() reads as no claims.
        "SELECT name, coalesce(current_setting(name, true), '') FROM unnest(%s::text[]) AS name",
        (names,),
    ).fetchall()
    return {str(name): str(value) for name, value in rows}


def _set_local(conn: psycopg.Connection, settings: Mapping[str, str]) -> None:
    names = list(settings)
    conn.execute(
        "SELECT set_config(name, value, true) FROM unnest(%s::text[], %s::text[]) AS s(name, value)",
        (names, [settings[n] for n in names]),
    )


@contextmanager
def acting_as(
    conn: psycopg.Connection, caller: Caller, *, settings: Mapping[str, str] | None = None
) -> Iterator[psycopg.Connection]:
    """Run the block's statements on ``conn`` as ``caller``, as PostgREST would run a request.

    ``settings`` adds transaction-scoped settings PostgREST also sets, such as
    ``request.headers`` or ``request.method``. See the module docstring for what happens to the
    role, the settings and the block's writes when the block ends or raises.
    """
    wanted = {
        "role": caller.role,
        **role_settings(conn, caller.role),
        CLAIMS_SETTING: json.dumps(dict(caller.claims)),
        **(settings or {}),
    }
    with conn.transaction():
        previous = _current(conn, list(wanted))
        _set_local(conn, wanted)
        yield conn
        if conn.info.transaction_status == TransactionStatus.INERROR:
            # An error caught inside the block aborted the transaction: undo the block as if it
            # had raised, which restores the caller too and leaves the connection usable.
            raise psycopg.Rollback()
        _set_local(conn, previous)
