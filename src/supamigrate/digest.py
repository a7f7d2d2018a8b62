"""A short stable hash of many parts: the keys of the cluster cache and of lint's sqlfluff cache."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def digest(parts: Iterable[str | bytes]) -> str:
    """A short stable hash of strings and bytes, each length-prefixed so boundaries count."""
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()[:24]
