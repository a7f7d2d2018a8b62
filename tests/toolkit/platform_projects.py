"""Helpers for the platform tests: build an example project, act as an API role with claims.

Plain SQL on purpose: a request is ``SET LOCAL ROLE`` plus the ``request.jwt.claims`` setting,
exactly what PostgREST does before running a query for a signed-in user.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from supamigrate.build import build_database
from supamigrate.database import Server, connect, drop_database, unique_name
from supamigrate.project import Project
from supamigrate.server import EphemeralServer

PROJECTS = Path(__file__).parent / "fixtures" / "projects"


def app_conninfo(server: Server, dbname: str) -> str:
    """Connect as the dashboard's ``postgres`` on the ephemeral server (the URL's user elsewhere)."""
    return server.conninfo(dbname, "postgres" if isinstance(server, EphemeralServer) else None)


@contextmanager
def built(server: Server, project: str | Path) -> Iterator[str]:
    """Build an example project (a name under fixtures/projects, or a directory) and drop it after."""
    root = project if isinstance(project, Path) else PROJECTS / project
    name = unique_name(f"platform_{root.name}")
    build_database(server, name, Project.load(root))
    try:
        yield name
    finally:
        drop_database(server, name)


@contextmanager
def session(server: Server, dbname: str) -> Iterator[psycopg.Connection]:
    """A connection as postgres inside a transaction that is rolled back at the end."""
    with connect(app_conninfo(server, dbname)) as conn, conn.transaction(force_rollback=True):
        yield conn


def act_as(conn: psycopg.Connection, role: str, claims: dict[str, Any] | None = None) -> None:
    """Make the rest of the transaction run as PostgREST runs a request for ``role`` with ``claims``."""
    conn.execute(psycopg.sql.SQL("SET LOCAL ROLE {}").format(psycopg.sql.Identifier(role)))
    conn.execute("SELECT set_config('request.jwt.claims', %s, true)", (json.dumps(claims or {"role": role}),))


def user_claims(user_id: str, email: str = "", **app_metadata: Any) -> dict[str, Any]:
    """The claims of an access token Supabase Auth would issue to this user."""
    return {
        "sub": user_id,
        "role": "authenticated",
        "aud": "authenticated",
        "email": email,
        "app_metadata": {"provider": "email", "providers": ["email"], **app_metadata},
        "user_metadata": {},
    }


def copy_project(name: str, dest: Path, *, toml: str | None = None) -> Path:
    """A copy of an example project in ``dest``, with ``supamigrate.toml`` replaced when given.

    The examples live in this repository and are linted under its ``.sqlfluff``: the copy keeps it.
    """
    root = dest / name
    shutil.copytree(PROJECTS / name, root)
    shutil.copy(PROJECTS.parents[3] / ".sqlfluff", root / ".sqlfluff")
    if toml is not None:
        (root / "supamigrate.toml").write_text(toml)
    return root
