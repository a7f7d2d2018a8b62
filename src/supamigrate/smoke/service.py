"""A service's database session: the role it logs in (or switches) as, with that role's settings.

Supabase Auth logs in as ``supabase_auth_admin``, whose ``ALTER ROLE ... SET search_path = auth``
is why it names its tables unqualified (``users``, ``identities``) and why a trigger function
without a ``search_path`` of its own looks names up in ``auth`` only. PostgREST switches to the
JWT's role and applies that role's settings the same way. ``service_session`` runs a block so:
in a savepoint, as the role, with the role's settings, then ``settings`` (JWT claims, request
headers; none by default, as on a service's own connection), all put back when the block ends.
It behaves as ``callers.acting_as`` does, but in one round trip instead of six, because a smoke
run makes dozens of these sessions and its budget is a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress

import psycopg

from ..callers import CLAIMS_SETTING

AUTH_ROLE = "supabase_auth_admin"

# The role's user-level settings, overridden by the ones asked for. Each setting's value before
# is read (the MATERIALIZED CTE) before it is set (names are distinct, so the order rows are set
# in is moot) and kept in BEFORE, which _RESTORE reads: no result travels back to the client,
# so the whole session goes to the server in one pipeline.
BEFORE = "supamigrate.service_before"
_ENTER = """
WITH asked AS (
  SELECT split_part(kv, '=', 1) AS name, substr(kv, strpos(kv, '=') + 1) AS value, 0 AS rank
  FROM pg_roles r, unnest(r.rolconfig) AS kv
  WHERE r.rolname = %(role)s AND split_part(kv, '=', 1) = ANY(%(settable)s::text[])
  UNION ALL
  SELECT name, value, 1 FROM unnest(%(names)s::text[], %(values)s::text[]) AS extra(name, value)
), wanted AS (
  SELECT DISTINCT ON (name) name, value FROM asked ORDER BY name, rank DESC
), before AS MATERIALIZED (
  SELECT name, coalesce(current_setting(name, true), '') AS value FROM wanted
)
SELECT set_config(%(before)s, (SELECT json_object_agg(name, value) FROM before)::text, true),
       (SELECT count(set_config(w.name, w.value, true)) FROM before b JOIN wanted w USING (name))
"""
_SAVEPOINT = "supamigrate_service"
_RESTORE = "SELECT set_config(key, value, true) FROM json_each_text(current_setting(%s)::json)"

# The settings any role may change inside a transaction (pg_settings.context = 'user'): a
# property of the server version, and pg_settings costs a millisecond a read.
_SETTABLE: dict[int, list[str]] = {}


def _settable(conn: psycopg.Connection) -> list[str]:
    version = conn.info.server_version
    if version not in _SETTABLE:
        rows = conn.execute("SELECT name FROM pg_settings WHERE context = 'user'").fetchall()
        _SETTABLE[version] = [str(r[0]) for r in rows]
    return _SETTABLE[version]


@contextmanager
def service_session(
    conn: psycopg.Connection, role: str, *, settings: Mapping[str, str] | None = None, pipelined: bool = True
) -> Iterator[psycopg.Connection]:
    """Run the block on ``conn`` as ``role`` with its settings and ``settings``; an error rolls
    the block back (role and settings with it) and propagates. ``pipelined``: the statements
    reach the server together and their errors are raised when the block ends; otherwise each
    statement raises its own. Sessions do not nest."""
    extra = {"role": role, CLAIMS_SETTING: "", **(settings or {})}
    params = {"role": role, "settable": _settable(conn), "names": list(extra), "values": list(extra.values()),
              "before": BEFORE}
    if not pipelined:
        with conn.transaction():
            conn.execute(_ENTER, params)
            yield conn
            conn.execute(_RESTORE, (BEFORE,))
        return
    # A savepoint of our own; an error the body raised (a result fetched early) is cleared with a
    # sync inside the pipeline: a pipeline left by an exception logs a spurious "pipeline
    # aborted" warning. Otherwise the pipeline's exit is the one round trip, and raises.
    failed: BaseException | None = None
    try:
        with conn.pipeline() as pipeline:
            conn.execute(f"SAVEPOINT {_SAVEPOINT}")
            conn.execute(_ENTER, params)
            try:
                yield conn
            except BaseException as exc:
                failed = exc
                with suppress(psycopg.Error):
                    pipeline.sync()
            else:
                conn.execute(_RESTORE, (BEFORE,))
                conn.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
    except psycopg.Error as exc:
        failed = exc
    if failed is not None:
        conn.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
        conn.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        raise failed
