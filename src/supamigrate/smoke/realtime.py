"""Realtime Authorization: a signed-in user joining a private channel, as Realtime checks it.

When a client joins a private channel (``supabase.channel(topic, {config: {private: true}})``),
Realtime (supabase/realtime, ``Realtime.Tenants.Authorization``) opens a transaction on its own
connection (a superuser, so RLS does not apply to it), inserts one probe row
per extension (``broadcast``, ``presence``) for the topic, then scopes the transaction to the user
with one ``set_config`` statement (``role``, ``realtime.topic``, ``request.jwt.claims``,
``request.jwt.claim.sub``, ``request.jwt.claim.role``, ``request.headers``), selects the probe rows
back under RLS and rolls everything back. The user may read the channel when a select policy on
``realtime.messages`` shows either row; otherwise, or when a policy raises an error, the join is
refused with "You do not have permissions to read from this Channel topic: <topic>".

A broadcast the user sends on the channel is checked the other way round: scoped to the user
first, one message per extension is inserted (each in a savepoint) and everything rolled back;
a refused insert (42501, an insert policy's with check) means no write, and Realtime then drops
the message without telling the client.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from supamigrate.auth import AuthUser
from supamigrate.errors import SupamigrateError
from supamigrate.smoke.diagnose import function_at_fault
from supamigrate.smoke.requests import SmokeContext, SmokeError, SmokeFailure, SmokeRequest

# Realtime's tenant connection is supabase_admin (its DB_USER default), a superuser that RLS does
# not apply to; the probe rows are written here as the owner of realtime.messages, which RLS does
# not apply to either and which postgres (the dashboard's role, the tests' connection) may become.
REALTIME_ROLE = "supabase_realtime_admin"
EXTENSIONS = ("broadcast", "presence")
DEFAULT_TOPIC = "user:{user_id}"


class ChannelRefused(SupamigrateError):
    """Realtime refused the join: ``topic``, and the SQL error when a policy raised one."""

    def __init__(self, topic: str, *, pg_error: psycopg.Error | None = None) -> None:
        super().__init__(f"You do not have permissions to read from this Channel topic: {topic}", pg_error=pg_error)
        self.topic = topic


@dataclass(frozen=True)
class ChannelPolicies:
    """What the read check found: may the user receive broadcast and presence on the topic."""

    broadcast_read: bool
    presence_read: bool

    @property
    def can_join(self) -> bool:
        return self.broadcast_read or self.presence_read


def _set_conn_config(conn: psycopg.Connection, user: AuthUser, topic: str) -> None:
    """Realtime's ``set_conn_config``: the user's role and claims, and the topic, for this transaction."""
    claims = user.claims()
    conn.execute(
        """
        SELECT
          set_config('role', %s, true),
          set_config('realtime.topic', %s, true),
          set_config('request.jwt.claims', %s, true),
          set_config('request.jwt.claim.sub', %s, true),
          set_config('request.jwt.claim.role', %s, true),
          set_config('request.headers', %s, true)
        """,
        (claims["role"], topic, json.dumps(claims), claims["sub"], claims["role"], "{}"),
    )


def read_policies(conn: psycopg.Connection, user: AuthUser, topic: str, *, presence: bool = True) -> ChannelPolicies:
    """Run Realtime's read authorization for ``user`` on ``topic``; leaves nothing behind.

    Raises the psycopg error a policy raised (Realtime's ``rls_policy_error``).
    """
    extensions = EXTENSIONS if presence else EXTENSIONS[:1]
    probes = {ext: uuid.uuid4() for ext in extensions}
    now = datetime.now(UTC).replace(tzinfo=None)
    with conn.transaction(force_rollback=True):
        conn.execute(psycopg.sql.SQL("SET LOCAL ROLE {}").format(psycopg.sql.Identifier(REALTIME_ROLE)))
        rows = ", ".join("(%s, %s, %s, %s, %s)" for _ in probes)
        conn.execute(
            'INSERT INTO "realtime"."messages" ("id", "extension", "topic", "inserted_at", "updated_at")'
            f" VALUES {rows}",
            [x for ext, probe in probes.items() for x in (probe, ext, topic, now, now)],
        )
        _set_conn_config(conn, user, topic)
        seen = {
            row[0]
            for row in conn.execute(
                'SELECT m0."id" FROM "realtime"."messages" AS m0 WHERE (m0."id" = ANY(%s))', (list(probes.values()),)
            )
        }
    return ChannelPolicies(probes["broadcast"] in seen, "presence" in probes and probes["presence"] in seen)


def write_policies(conn: psycopg.Connection, user: AuthUser, topic: str, *, presence: bool = True) -> ChannelPolicies:
    """Run Realtime's write authorization (may ``user`` broadcast or track presence on ``topic``).

    As the user, one message per extension is inserted in a savepoint; a refusal (42501, a
    policy's with check) is "may not write"; any other error is raised (``rls_policy_error``).
    Everything is rolled back. ``broadcast_read``/``presence_read`` of the result hold the writes.
    """
    allowed: dict[str, bool] = {}
    now = datetime.now(UTC).replace(tzinfo=None)
    with conn.transaction(force_rollback=True):
        _set_conn_config(conn, user, topic)
        for ext in EXTENSIONS if presence else EXTENSIONS[:1]:
            try:
                with conn.transaction():
                    conn.execute(
                        'INSERT INTO "realtime"."messages" ("topic", "extension", "inserted_at", "updated_at", "id")'
                        " VALUES (%s, %s, %s, %s, %s)",
                        (topic, ext, now, now, uuid.uuid4()),
                    )
                allowed[ext] = True
            except psycopg.errors.InsufficientPrivilege:
                allowed[ext] = False
    return ChannelPolicies(allowed["broadcast"], allowed.get("presence", False))


def join_private_channel(conn: psycopg.Connection, user: AuthUser, topic: str) -> ChannelPolicies:
    """Join ``topic`` as a private channel as ``user``; raises ``ChannelRefused`` as Realtime refuses."""
    try:
        policies = read_policies(conn, user, topic)
    except psycopg.Error as exc:
        raise ChannelRefused(topic, pg_error=exc) from exc
    if not policies.can_join:
        raise ChannelRefused(topic)
    return policies


# --- The smoke request -------------------------------------------------------------------------


def message_policies(conn: psycopg.Connection, command: str = "SELECT") -> list[str]:
    """The ``command`` (SELECT or INSERT) policies on ``realtime.messages`` a signed-in user meets."""
    rows = conn.execute(
        "SELECT p.polname FROM pg_policy p WHERE p.polrelid = 'realtime.messages'::regclass"
        " AND p.polcmd IN (%s, '*')"
        " AND (p.polroles = '{0}' OR 'authenticated'::regrole = ANY(p.polroles)) ORDER BY p.polname",
        ({"SELECT": "r", "INSERT": "a"}[command],),
    ).fetchall()
    return [name for (name,) in rows]


class BroadcastDropped(SupamigrateError):
    """Realtime dropped a broadcast the user sent on a private channel: no policy let them write."""

    def __init__(self, topic: str, *, pg_error: psycopg.Error | None = None) -> None:
        super().__init__(
            f"Broadcast to {topic} dropped: the user may not write to this Channel topic"
            " (Realtime sends no error; send() times out)",
            pg_error=pg_error,
        )
        self.topic = topic


def broadcast(conn: psycopg.Connection, user: AuthUser, topic: str) -> None:
    """Send a broadcast on private channel ``topic`` as ``user``; ``BroadcastDropped`` if refused.

    Realtime drops the message both when no policy lets the user write and when a policy raises
    an error (it only logs ``RlsPolicyError``); the error is the exception's ``pg_error``.
    """
    try:
        allowed = write_policies(conn, user, topic, presence=False).broadcast_read
    except psycopg.Error as exc:
        raise BroadcastDropped(topic, pg_error=exc) from exc
    if not allowed:
        raise BroadcastDropped(topic)


JOIN_FIX = (
    "make a select policy on realtime.messages for authenticated true for this user and topic, "
    "e.g. using ((select realtime.topic()) = 'user:' || (select auth.uid())::text), or set "
    "[smoke] realtime_topic to a channel the user may join"
)
SEND_FIX = (
    "make an insert policy on realtime.messages for authenticated true for this user and topic, "
    "e.g. with check ((select realtime.topic()) = 'user:' || (select auth.uid())::text), or set "
    "[smoke] realtime_topic to a channel the user may send on"
)


def realtime_failure(conn: psycopg.Connection, request: str, exc: SupamigrateError) -> SmokeFailure:
    """The smoke failure of a Realtime request refused with ``exc`` (``ChannelRefused``, ``BroadcastDropped``)."""
    command = "SELECT" if request == "realtime_join" else "INSERT"
    policies = ", ".join(f"policy realtime.messages: {name}" for name in message_policies(conn, command))
    return SmokeFailure(
        request=request,
        service_error=exc.message,
        error=exc.pg_error if exc.pg_error is not None else exc,
        culprit=function_at_fault(conn, exc.diagnostics.get("context")) or policies or None,
        fix=JOIN_FIX if request == "realtime_join" else SEND_FIX,
    )


def _topic(ctx: SmokeContext, user: AuthUser) -> str:
    return str(ctx.options.get("realtime_topic", DEFAULT_TOPIC)).format(user_id=user.id)


def _join(ctx: SmokeContext) -> None:
    """A signed-in user joins their private channel (``[smoke] realtime_topic``, ``user:{user_id}``)."""
    conn, user = ctx.conn, ctx.user
    if user is None:
        return  # no signed-in user: the sign-up failed, and that is reported already
    with conn.transaction(force_rollback=True):
        try:
            join_private_channel(conn, user, _topic(ctx, user))
        except ChannelRefused as exc:
            raise SmokeError(realtime_failure(conn, "realtime_join", exc)) from exc


def _send(ctx: SmokeContext) -> None:
    """A signed-in user broadcasts on their private channel."""
    conn, user = ctx.conn, ctx.user
    if user is None:
        return  # no signed-in user: the sign-up failed, and that is reported already
    with conn.transaction(force_rollback=True):
        topic = _topic(ctx, user)
        try:
            broadcast(conn, user, topic)
        except BroadcastDropped as exc:
            raise SmokeError(realtime_failure(conn, "realtime_broadcast", exc)) from exc


def _applies_join(conn: psycopg.Connection) -> bool:
    """Whether the project lets signed-in users read private channels (select policies on realtime.messages)."""
    return bool(message_policies(conn, "SELECT"))


def _applies_send(conn: psycopg.Connection) -> bool:
    """Whether the project lets signed-in users send on private channels (insert policies on realtime.messages)."""
    return bool(message_policies(conn, "INSERT"))


REALTIME_REQUESTS: list[SmokeRequest] = [
    SmokeRequest("realtime_join", "realtime", _applies_join, _join),
    SmokeRequest("realtime_broadcast", "realtime", _applies_send, _send),
]
