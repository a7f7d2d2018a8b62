"""Databases on a server: reach it, create one (or a clone), drop it; connection strings made safe to print.

A ``Server`` is anything that can hand out connection strings: the ``EphemeralServer`` this
toolkit starts, or an ``ExternalServer`` named by a URL (a CI service container, a dev database).
Building a project's database on one is ``build.py``'s job. Only databases this toolkit created
are ever dropped.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any, Protocol

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from .errors import ConnectionFailed, RemoteRefused

CONNECT_TIMEOUT_S = 10


class Server(Protocol):
    """What the build and clone functions need of a server."""

    @property
    def superuser(self) -> str: ...

    def conninfo(self, dbname: str = "postgres", user: str | None = None) -> str: ...


def redact(conninfo: str) -> str:
    """A connection string or URL with its password replaced by ``***``, for messages and logs."""
    try:
        params = conninfo_to_dict(conninfo)
    except psycopg.ProgrammingError:
        return "<unparsable connection string>"
    if params.get("password"):
        params["password"] = "***"
    return make_conninfo("", **params)


def is_local(conninfo: str) -> bool:
    """Whether every host of a connection string is a unix socket or a loopback address."""
    params = conninfo_to_dict(conninfo)
    hosts = str(params.get("host") or "").split(",")
    for host in hosts:
        host = host.strip()
        if not host or host.startswith("/") or host.startswith("@") or host == "localhost":
            continue
        try:
            if not ip_address(host.strip("[]")).is_loopback:
                return False
        except ValueError:
            return False
    return True


def require_local(conninfo: str, *, allow_remote: bool) -> None:
    """Refuse to write to a non-loopback database unless ``allow_remote``."""
    if not allow_remote and not is_local(conninfo):
        raise RemoteRefused(
            f"refusing to write to a non-local database ({redact(conninfo)})",
            hint="pass --allow-remote if you mean it; `supamigrate preflight` checks a remote read-only",
        )


def connect(conninfo: str, **kwargs: Any) -> psycopg.Connection:
    """psycopg.connect with a bounded timeout and an error that never shows the password."""
    params = conninfo_to_dict(conninfo)
    params.setdefault("connect_timeout", CONNECT_TIMEOUT_S)
    try:
        return psycopg.connect(make_conninfo("", **params), **kwargs)
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        password = params.get("password")
        if password:
            reason = reason.replace(str(password), "***")
        raise ConnectionFailed(
            f"cannot connect to {redact(conninfo)}: {reason}",
            hint="check that the server is running and the URL (host, port, user, database) is right",
        ) from None


@dataclass(frozen=True)
class ExternalServer:
    """A server we did not start, reached through a URL whose user may create databases."""

    url: str

    @property
    def superuser(self) -> str:
        return str(conninfo_to_dict(self.url).get("user") or "postgres")

    def conninfo(self, dbname: str = "postgres", user: str | None = None) -> str:
        params = conninfo_to_dict(self.url)
        params["dbname"] = dbname
        if user is not None and user != params.get("user"):
            params["user"] = user
        return make_conninfo("", **params)

    @property
    def dbname(self) -> str:
        return str(conninfo_to_dict(self.url).get("dbname") or "postgres")


def _admin(server: Server) -> psycopg.Connection:
    return connect(server.conninfo("postgres"), autocommit=True)


def create_database(server: Server, name: str, *, template: str | None = None) -> None:
    """CREATE DATABASE ``name`` (a copy of ``template`` when given)."""
    query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
    with _admin(server) as admin:
        if template:
            # A clone keeps its template's owner, who owns public through pg_database_owner.
            row = admin.execute(
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", (template,)
            ).fetchone()
            query = sql.SQL("{} TEMPLATE {}").format(query, sql.Identifier(template))
            if row:
                query = sql.SQL("{} OWNER {}").format(query, sql.Identifier(str(row[0])))
        admin.execute(query)


def drop_database(server: Server, name: str) -> None:
    """DROP DATABASE ``name``, closing whatever is still connected to it."""
    with _admin(server) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"
