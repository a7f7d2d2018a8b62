"""A cache of stopped PostgreSQL data directories, keyed by everything that shaped them.

Entries move by ``rename``, never by copy: a run *checks out* a cached data directory into its own
run directory (so two runs at once never share one), and at a clean shutdown *checks it back in*.
A run killed halfway takes its checked-out copy with it (the next run reaps the run directory and
builds afresh), and a check-in is published with one final rename, so a half-written entry is
never reused. A key may hold a few slots, so parallel workers (pytest-xdist) each find one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .paths import cache_root
from .server import pid_alive, reap_stale

SLOTS_PER_KEY = 2
KEYS_PER_KIND = 2  # with the slots, at most ~8 clusters of ~50 MB: they may be in RAM (/dev/shm)
_PENDING = ".pending-"


def default_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache directory: ``cache_dir`` if given, else the default (see ``paths.cache_root``)."""
    return cache_root(cache_dir)


@dataclass(frozen=True)
class Hit:
    """A checked-out entry: its metadata (what was built into it)."""

    key: str
    meta: dict[str, Any]


class Cache:
    """Data directories under ``root/entries/<kind>-<key>/<slot>/{data,meta.json}``."""

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root) if root else default_root()

    @property
    def entries(self) -> Path:
        return self.root / "entries"

    @property
    def runs(self) -> Path:
        """Where run directories go when caching, so check-in and check-out are renames."""
        return self.root / "runs"

    def prepare(self) -> None:
        for d in (self.root, self.entries, self.runs):
            d.mkdir(parents=True, exist_ok=True)
            # Private to us; under root the server's OS user must also pass into runs/ (not list).
            d.chmod(0o711 if os.geteuid() == 0 else 0o700)
        self._sweep_pending()

    def checkout(self, kind: str, key: str, datadir: Path) -> Hit | None:
        """Move one slot of ``kind-key`` to ``datadir`` (which must not exist); None on a miss."""
        entry = self.entries / f"{kind}-{key}"
        try:
            slots = sorted(p for p in entry.iterdir() if not p.name.startswith(_PENDING))
        except FileNotFoundError:
            return None
        for slot in slots:
            claimed = slot.with_name(f"{_PENDING}{os.getpid()}-{uuid.uuid4().hex[:8]}")
            try:
                slot.rename(claimed)  # atomic: of two runs racing for a slot, one wins
            except OSError:
                continue
            try:
                meta = json.loads((claimed / "meta.json").read_text())
                (claimed / "data").rename(datadir)
            except (OSError, ValueError):
                shutil.rmtree(claimed, ignore_errors=True)
                continue
            shutil.rmtree(claimed, ignore_errors=True)
            with contextlib.suppress(OSError):
                entry.touch()
            return Hit(key, meta)
        return None

    def checkin(self, kind: str, key: str, datadir: Path, meta: dict[str, Any]) -> bool:
        """Move ``datadir`` (a cleanly stopped cluster) into the cache; False if not kept."""
        entry = self.entries / f"{kind}-{key}"
        entry.mkdir(parents=True, exist_ok=True)
        if sum(1 for p in entry.iterdir() if not p.name.startswith(_PENDING)) >= SLOTS_PER_KEY:
            return False
        pending = entry / f"{_PENDING}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        pending.mkdir()
        try:
            (pending / "meta.json").write_text(json.dumps({**meta, "stored": time.time()}))
            datadir.rename(pending / "data")
            pending.rename(entry / uuid.uuid4().hex[:12])  # publish: visible only once complete
        except OSError:
            shutil.rmtree(pending, ignore_errors=True)
            return False
        self._evict(kind)
        return True

    def _evict(self, kind: str) -> None:
        """Keep the most recently used few keys of a kind (a changed migration makes a new key)."""
        keyed = sorted(
            (p for p in self.entries.glob(f"{kind}-*") if p.is_dir()),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in keyed[KEYS_PER_KIND:]:
            shutil.rmtree(old, ignore_errors=True)

    def _sweep_pending(self) -> None:
        """Remove claims and check-ins left by runs that died mid-way."""
        for pending in self.entries.glob(f"*/{_PENDING}*"):
            pid = pending.name[len(_PENDING) :].split("-", 1)[0]
            if pid.isdigit() and not pid_alive(int(pid)):
                shutil.rmtree(pending, ignore_errors=True)

    def clear(self) -> int:
        """Delete every entry (and stale run directories); returns the number of entries removed."""

        count = 0
        if self.entries.is_dir():
            for entry in self.entries.iterdir():
                count += sum(1 for _ in entry.iterdir()) if entry.is_dir() else 0
                shutil.rmtree(entry, ignore_errors=True)
        if self.runs.is_dir():
            reap_stale(self.runs)
        return count

    def size_bytes(self) -> int:
        total = 0
        for dirpath, _, files in os.walk(self.entries):
            for f in files:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(dirpath, f)).st_size
        return total
