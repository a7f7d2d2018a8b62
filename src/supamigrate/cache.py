"""A cache of stopped PostgreSQL data directories, keyed by everything that shaped them.

Entries move by ``rename``, never by copy: a run *checks out* a cached data directory into its own
run directory (so two runs at once never share one), and at a clean shutdown *checks it back in*.
A run killed halfway takes its checked-out copy with it (the next run reaps the run directory and
builds afresh), and a check-in is published with one final rename, so a half-written entry is
never reused. A key may hold a few slots, so parallel workers (pytest-xdist) each find one.

The cache is bounded: at most ``max_entries`` clusters (slots) and ``max_bytes`` in all. After each
check-in the least recently used go first: a key's last use is its last check-out or check-in.
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

from .paths import CACHE_MAX_ENTRIES, CACHE_MAX_MB, cache_root
from .server import pid_alive, reap_stale

SLOTS_PER_KEY = 2
KEYS_PER_KIND = 2  # with the slots, at most ~8 clusters of ~50 MB: they may be in RAM (/dev/shm)
_PENDING = ".pending-"


def default_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The cache directory: ``cache_dir`` if given, else the default (see ``paths.cache_root``)."""
    return cache_root(cache_dir)


@dataclass(frozen=True)
class CacheInfo:
    """What ``supamigrate cache info`` shows: where the cache is, what it holds and its bounds."""

    root: Path
    entries: int
    bytes: int
    max_entries: int
    max_bytes: int


@dataclass(frozen=True)
class Hit:
    """A checked-out entry: its metadata (what was built into it)."""

    key: str
    meta: dict[str, Any]


class Cache:
    """Data directories under ``root/entries/<kind>-<key>/<slot>/{data,meta.json}``, bounded in
    number (``max_entries`` slots) and size (``max_mb`` megabytes)."""

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        max_entries: int = CACHE_MAX_ENTRIES,
        max_mb: int = CACHE_MAX_MB,
    ) -> None:
        self.root = Path(root) if root else default_root()
        self.max_entries = max_entries
        self.max_bytes = max_mb * 1_000_000

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
            # Its size is kept with it, so bounding the cache needs no walk of every cluster.
            stored = {**meta, "stored": time.time(), "bytes": _tree_bytes(datadir)}
            (pending / "meta.json").write_text(json.dumps(stored))
            datadir.rename(pending / "data")
            slot = entry / uuid.uuid4().hex[:12]
            pending.rename(slot)  # publish: visible only once complete
        except OSError:
            shutil.rmtree(pending, ignore_errors=True)
            return False
        self._evict(kind)
        return slot.exists()

    def _evict(self, kind: str) -> None:
        """Keep the most recently used few keys of a kind (a changed migration makes a new key),
        then drop the least recently used clusters until the cache is within both bounds."""
        keyed = sorted(
            (p for p in self.entries.glob(f"{kind}-*") if p.is_dir()),
            key=lambda p: p.stat().st_mtime,
            reverse=True,
        )
        for old in keyed[KEYS_PER_KIND:]:
            shutil.rmtree(old, ignore_errors=True)
        count = total = 0
        for slot, size in self._slots_by_recency():
            if count + 1 > self.max_entries or total + size > self.max_bytes:
                shutil.rmtree(slot, ignore_errors=True)
                with contextlib.suppress(OSError):
                    slot.parent.rmdir()  # its key's last slot: the key goes too
            else:
                count, total = count + 1, total + size

    def _slots_by_recency(self) -> list[tuple[Path, int]]:
        """Every published slot with its size, the most recently used key first (its newest slot first)."""
        found: list[tuple[float, float, Path, int]] = []
        if not self.entries.is_dir():
            return []
        for entry in self.entries.iterdir():
            try:
                used = entry.stat().st_mtime  # a check-out touches it; a check-in renames inside it
                slots = [p for p in entry.iterdir() if not p.name.startswith(_PENDING)]
            except OSError:
                continue
            for slot in slots:
                try:
                    text = (slot / "meta.json").read_text()
                    meta = json.loads(text)
                except (OSError, ValueError):
                    continue
                size = meta.get("bytes")
                size = size + len(text) if isinstance(size, int) else _tree_bytes(slot)
                found.append((used, float(meta.get("stored", 0)), slot, size))
        found.sort(key=lambda t: (t[0], t[1]), reverse=True)
        return [(slot, size) for _, _, slot, size in found]

    def info(self) -> CacheInfo:
        """Where the cache is, how many clusters it holds and their bytes, and its bounds."""
        slots = self._slots_by_recency()
        return CacheInfo(self.root, len(slots), self.size_bytes(), self.max_entries, self.max_bytes)

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
        """The bytes of every file under the entries (the clusters and their metadata)."""
        return _tree_bytes(self.entries)


def _tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(root):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, f)).st_size
    return total
