"""Platform smoke: the requests Supabase's own services make, run against the project's schema.

``REQUESTS`` is the registry: every service's requests, in the order ``check`` runs them. Each
service's module appends its list (``STORAGE_REQUESTS``, ``REALTIME_REQUESTS``) here.
"""

from __future__ import annotations

from supamigrate.smoke.realtime import REALTIME_REQUESTS
from supamigrate.smoke.requests import SmokeContext, SmokeError, SmokeFailure, SmokeRequest
from supamigrate.smoke.storage import STORAGE_REQUESTS

REQUESTS: list[SmokeRequest] = []
REQUESTS.extend(STORAGE_REQUESTS)
REQUESTS.extend(REALTIME_REQUESTS)

__all__ = ["REQUESTS", "SmokeContext", "SmokeError", "SmokeFailure", "SmokeRequest"]
