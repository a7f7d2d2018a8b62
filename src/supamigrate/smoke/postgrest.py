"""The Data API (PostgREST) requests: the ``db_pre_request`` hook and an RPC call.

PostgREST runs each request in a transaction of its own after ``SET LOCAL ROLE`` to the JWT's role
(with that role's settings), ``request.jwt.claims``, ``request.method``, ``request.path``,
``request.headers`` and ``request.cookies``, and a ``search_path`` of the request's schema plus
its extra search path (``public, extensions`` on Supabase). The pre-request function, set with
``alter role authenticator set pgrst.db_pre_request = '...'``, is called first in every request:
when it raises, every Data API call fails.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg import sql

from ..callers import CLAIMS_SETTING, Caller
from .diagnose import diagnose
from .requests import SmokeContext, SmokeError, SmokeRequest, always
from .service import service_session

PRE_REQUEST_SETTING = "pgrst.db_pre_request"


def pre_request_function(conn: psycopg.Connection) -> str | None:
    """The function PostgREST calls before each request (``authenticator``'s setting), if any."""
    row = conn.execute(
        "SELECT substr(c, length(%(name)s) + 2) FROM pg_db_role_setting s"
        " JOIN pg_roles r ON r.oid = s.setrole, unnest(s.setconfig) AS c"
        " WHERE r.rolname = 'authenticator' AND c LIKE %(name)s || '=%%'"
        "   AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))"
        " ORDER BY s.setdatabase DESC LIMIT 1",
        {"name": PRE_REQUEST_SETTING},
    ).fetchone()
    return None if row is None or not row[0] else str(row[0])


def request_settings(method: str, path: str, *, schema: str = "public") -> dict[str, str]:
    """The transaction settings PostgREST sets for a request, besides the role and the claims."""
    headers = {"accept": "application/json", "user-agent": "supamigrate-smoke", "host": "127.0.0.1:54321"}
    return {
        "search_path": f'"{schema}", public, extensions',
        "request.method": method,
        "request.path": path,
        "request.headers": json.dumps(headers),
        "request.cookies": "{}",
    }


def _status(error: psycopg.Error, *, signed_in: bool) -> int:
    """The HTTP status PostgREST answers an error with (its SQLSTATE mapping, the common cases)."""
    state = error.sqlstate or ""
    if state == "42501":
        return 403 if signed_in else 401
    if state in ("42883", "42P01"):
        return 404
    if state.startswith("23"):
        return 409
    if state == "P0001" or state.startswith("22"):
        return 400
    return 500


def _call(ctx: SmokeContext, request: str, caller: Caller, method: str, path: str, query: sql.Composed | sql.SQL,
          params: Mapping[str, Any], *, what: str) -> None:
    role = caller.role
    pre = pre_request_function(ctx.conn)
    try:
        settings = {CLAIMS_SETTING: json.dumps(dict(caller.claims)), **request_settings(method, path)}
        with service_session(ctx.conn, role, settings=settings):
            if pre is not None:
                ctx.conn.execute(sql.SQL("SELECT {}()").format(sql.Identifier(*pre.split("."))))
            ctx.conn.execute(query, params)
    except psycopg.Error as exc:
        status = _status(exc, signed_in=role == "authenticated")
        raise SmokeError(diagnose(ctx.conn, request, f"HTTP {status} to {what}", exc, role=role)) from exc


def _pre_request(ctx: SmokeContext) -> None:
    """A signed-in user's and an anon caller's ``GET /rest/v1/`` run the pre-request function."""
    callers = [Caller.anon()] + ([Caller.user(ctx.user)] if ctx.user is not None else [])
    for caller in callers:
        _call(ctx, "postgrest_pre_request", caller, "GET", "/", sql.SQL("SELECT 1"), {},
              what=f"every request of {caller.role}")


def _rpc(ctx: SmokeContext) -> None:
    """``POST /rest/v1/rpc/<fn>`` as the signed-in user for each function ``[smoke] rpc`` names,
    with its arguments as named arguments (PostgREST's call shape)."""
    calls: Mapping[str, Mapping[str, Any]] = ctx.options.get("rpc") or {}
    if ctx.user is None:
        return
    for name, args in calls.items():
        schema, _, fn = name.rpartition(".")
        target = sql.SQL("{}.{}").format(sql.Identifier(schema or "public"), sql.Identifier(fn))
        named = sql.SQL(", ").join(
            sql.SQL("{} := {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in args
        )
        values = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in args.items()}
        query = sql.SQL("SELECT to_json(r) FROM {}({}) AS r").format(target, named)
        _call(ctx, "postgrest_rpc", Caller.user(ctx.user), "POST", f"/rpc/{fn}", query, values,
              what=f"POST /rpc/{fn}")


def _has_pre_request(conn: psycopg.Connection) -> bool:
    return pre_request_function(conn) is not None


POSTGREST_REQUESTS: list[SmokeRequest] = [
    SmokeRequest("postgrest_pre_request", "postgrest", _has_pre_request, _pre_request),
    SmokeRequest("postgrest_rpc", "postgrest", always, _rpc),
]
