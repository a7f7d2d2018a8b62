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
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg

from supamigrate.auth import AuthUser, create_user
from supamigrate.errors import SupamigrateError
from supamigrate.smoke.culprits import function_at_fault
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


def read_policies(conn: psycopg.Connection, user: AuthUser, topic: str, *, presence: bool = True) -> ChannelPolicies:
    """Run Realtime's read authorization for ``user`` on ``topic``; leaves nothing behind.

    Raises the psycopg error a policy raised (Realtime's ``rls_policy_error``).
    """
    extensions = EXTENSIONS if presence else EXTENSIONS[:1]
    probes = {ext: uuid.uuid4() for ext in extensions}
    claims = user.claims()
    now = datetime.now(UTC).replace(tzinfo=None)
    with conn.transaction(force_rollback=True):
        conn.execute(psycopg.sql.SQL("SET LOCAL ROLE {}").format(psycopg.sql.Identifier(REALTIME_ROLE)))
        rows = ", ".join("(%s, %s, %s, %s, %s)" for _ in probes)
        conn.execute(
            'INSERT INTO "realtime"."messages" ("id", "extension", "topic", "inserted_at", "updated_at")'
            f" VALUES {rows}",
            [x for ext, probe in probes.items() for x in (probe, ext, topic, now, now)],
        )
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
        seen = {
            row[0]
            for row in conn.execute(
                'SELECT m0."id" FROM "realtime"."messages" AS m0 WHERE (m0."id" = ANY(%s))', (list(probes.values()),)
            )
        }
    return ChannelPolicies(probes["broadcast"] in seen, "presence" in probes and probes["presence"] in seen)


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


def message_policies(conn: psycopg.Connection) -> list[str]:
    """The select policies on ``realtime.messages`` a signed-in user meets, by name."""
    rows = conn.execute(
        "SELECT policyname FROM pg_policies WHERE schemaname = 'realtime' AND tablename = 'messages'"
        " AND cmd IN ('SELECT', 'ALL') AND roles && '{authenticated,public}'::name[] ORDER BY policyname"
    ).fetchall()
    return [name for (name,) in rows]


def _applies(conn: psycopg.Connection) -> bool:
    """Whether the project lets signed-in users read private channels (policies on realtime.messages)."""
    return bool(message_policies(conn))


FIX = (
    "make a select policy on realtime.messages for authenticated true for this user and topic, "
    "e.g. using ((select realtime.topic()) = 'user:' || (select auth.uid())::text), or set "
    "[smoke] realtime_topic to a channel the user may join"
)


def realtime_failure(conn: psycopg.Connection, exc: ChannelRefused) -> SmokeFailure:
    """The smoke failure of a private-channel join Realtime refused with ``exc``."""
    culprit = (
        function_at_fault(conn, exc.diagnostics.get("context"))
        or ", ".join(f'policy "{name}" on realtime.messages' for name in message_policies(conn))
        or None
    )
    return SmokeFailure(
        request="realtime.join",
        service_error=exc.message,
        error=exc.pg_error if exc.pg_error is not None else exc,
        culprit=culprit,
        fix=FIX,
    )


def _run(ctx: SmokeContext) -> None:
    """A signed-in user joins their private channel (``[smoke] realtime_topic``, ``user:{user_id}``)."""
    conn = ctx.conn
    with conn.transaction(force_rollback=True):
        user = ctx.user or create_user(conn)
        topic = str(ctx.options.get("realtime_topic", DEFAULT_TOPIC)).format(user_id=user.id)
        try:
            join_private_channel(conn, user, topic)
        except ChannelRefused as exc:
            raise SmokeError(realtime_failure(conn, exc)) from exc


REALTIME_REQUESTS: list[SmokeRequest] = [SmokeRequest("realtime.join", "realtime", _applies, _run)]
