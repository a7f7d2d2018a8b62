"""Where supamigrate keeps things on disk: RAM when there is room, and the cache directory.

Neutral ground: the server package and static lint (for its sqlfluff result cache) both use it,
and neither owns it. Nothing here reads supamigrate's own environment variables: the faces
resolve those and pass them in.
"""

from __future__ import annotations

import os
from pathlib import Path

# The cache's default bounds (settings cache_max_entries, cache_max_mb): a cluster takes 50 to 75 MB,
# so one project's template for two xdist workers and `check`'s stubbed base stay warm, and twenty
# runs on twenty projects leave a quarter of a GB in RAM at most.
CACHE_MAX_ENTRIES = 4
CACHE_MAX_MB = 256


def ram_dir() -> Path | None:
    """``/dev/shm`` when it is a writable RAM file system with room (2 GB free), else None.

    A throwaway cluster needs no durability, and on a busy disk initdb alone takes twice as long.
    """
    shm = Path("/dev/shm")
    try:
        st = os.statvfs(shm)
    except OSError:
        return None
    if not os.access(shm, os.W_OK | os.X_OK) or st.f_bavail * st.f_frsize < 2 << 30:
        return None
    return shm


def usable_dir(path: Path) -> bool:
    """Ours or not there yet: in a world-writable place, another user's directory is never used."""
    try:
        return path.lstat().st_uid == os.geteuid() and path.is_dir() and not path.is_symlink()
    except FileNotFoundError:
        return True


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """``cache_dir`` (the faces pass ``SUPAMIGRATE_CACHE_DIR``); else ``/dev/shm/supamigrate-cache-<uid>``
    (RAM); else on disk: ``~/.cache/supamigrate``, or for root ``/var/tmp/supamigrate-cache-0``.

    Under root the server runs as another OS user, who must be able to reach the run directories
    kept beside the cache, and root's home is closed to other users.
    """
    if cache_dir:
        return Path(cache_dir)
    ram = ram_dir()
    if ram is not None and usable_dir(ram / f"supamigrate-cache-{os.geteuid()}"):
        return ram / f"supamigrate-cache-{os.geteuid()}"
    if os.geteuid() == 0:
        return Path("/var/tmp/supamigrate-cache-0")
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "supamigrate"
