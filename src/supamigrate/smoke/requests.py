"""What a smoke request is: the interface every service's requests share.

A request does in the database exactly what a Supabase service does for one API call (the same
statements, as the service's role, with its ``search_path``, settings and JWT claims). It runs in
a savepoint the runner rolls back afterwards; when the database refuses it, ``run`` raises
``SmokeError`` carrying a ``SmokeFailure``: the error the service would answer with, the SQL
error underneath, the object at fault and the fix.

``culprit`` names the object at fault so that the runner can point at the migration that made
it: ``"function public.handle_new_user"``, ``"constraint public.posts.posts_author_id_fkey"``,
``"policy storage.objects: Users upload to their folder"`` or ``"trigger auth.users.on_signup"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from ..auth import AuthUser
from ..errors import SupamigrateError


@dataclass(frozen=True)
class SmokeContext:
    """What a request runs with: the connection (postgres, inside the runner's transaction), the
    user the auth service signed up for the run (None when sign-up failed, which is reported
    already: requests that need a user then do nothing), and the ``[smoke]`` options."""

    conn: psycopg.Connection
    user: AuthUser | None
    options: Mapping[str, Any]


@dataclass(frozen=True)
class SmokeFailure:
    """A refused request: ``service_error`` is what the service answers (``"Database error saving
    new user"``), ``error`` the SQL error underneath, ``culprit`` the object at fault (see the
    module docstring), ``fix`` what to change. ``doubtful`` when the refusal may come from what
    the smoke request sent rather than from the project (metadata a trigger needs): a warning."""

    request: str
    service_error: str
    error: SupamigrateError | psycopg.Error | None
    culprit: str | None
    fix: str
    doubtful: bool = False


class SmokeError(Exception):
    """Raised by a request the database refused; ``failure`` says how."""

    def __init__(self, failure: SmokeFailure) -> None:
        super().__init__(failure)
        self.failure = failure

    def __str__(self) -> str:
        f = self.failure
        error = f.error
        below = ""
        if isinstance(error, psycopg.Error):
            below = f": {error.sqlstate} {error.diag.message_primary or str(error).strip()}"
        elif error is not None:
            below = f": {error.message}"
        culprit = f" ({f.culprit})" if f.culprit else ""
        return f"{f.request}: {f.service_error}{below}{culprit}\nfix: {f.fix}"


@dataclass(frozen=True)
class SmokeRequest:
    """One service request: its ``name`` (what ``[smoke] disable`` lists), the ``service``
    (``auth``, ``storage``, ``realtime`` or ``postgrest``), whether it ``applies`` to this
    database (e.g. only when the project has buckets), and ``run``."""

    name: str
    service: str
    applies: Callable[[psycopg.Connection], bool]
    run: Callable[[SmokeContext], None]


def always(conn: psycopg.Connection) -> bool:
    """``applies`` for requests every project gets."""
    return True
