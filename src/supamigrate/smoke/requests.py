"""What a platform smoke request is: a service's own statements, run against the project's schema.

A request (``SmokeRequest``) names its service and runs exactly what that service runs in the
database, as its role and with its settings and JWT claims. It ``applies`` only to projects that
use the feature (buckets for storage, policies on ``realtime.messages`` for Realtime). When the
database refuses, ``run`` raises ``SmokeError`` carrying a ``SmokeFailure``: the error the service
would return, the SQL error underneath, the object at fault and the fix.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg

from supamigrate.auth import AuthUser
from supamigrate.errors import SupamigrateError


@dataclass(frozen=True)
class SmokeContext:
    """What a request runs with: the connection (in a transaction), the signed-in user, options.

    ``options`` is the ``[smoke]`` section of supamigrate.toml (a bucket, a topic, ...).
    """

    conn: psycopg.Connection
    user: AuthUser | None
    options: Mapping[str, Any]


@dataclass(frozen=True)
class SmokeFailure:
    """A refused request: the service's error, the SQL error under it, the object at fault, the fix."""

    request: str
    service_error: str
    error: SupamigrateError | psycopg.Error | None
    culprit: str | None
    fix: str


@dataclass(frozen=True)
class SmokeRequest:
    """One request a platform service makes (``service``: auth, storage, realtime or postgrest)."""

    name: str
    service: str
    applies: Callable[[psycopg.Connection], bool]
    run: Callable[[SmokeContext], None]


class SmokeError(SupamigrateError):
    """A smoke request failed; ``failure`` says how, as the service would have answered."""

    def __init__(self, failure: SmokeFailure) -> None:
        pg_error = failure.error if isinstance(failure.error, psycopg.Error) else None
        super().__init__(f"{failure.request}: {failure.service_error}", hint=failure.fix, pg_error=pg_error)
        self.failure = failure
