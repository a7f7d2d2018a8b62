"""Finding a PostgreSQL installation: the directory of pg_ctl, initdb and postgres, and its version."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ..errors import ServerError

PACKAGE_HINT = (
    "install the PostgreSQL server: `apt-get install postgresql-{major} postgresql-contrib` "
    "(Debian/Ubuntu), or point SUPAMIGRATE_PG_BIN / --pg-bin at the directory holding pg_ctl"
    " (README: PostgreSQL 17 on Ubuntu)"
)
_BINARIES = ("pg_ctl", "initdb", "postgres")


def registry_install_dirs(major: int) -> list[Path]:
    """Where ``tools/pg17/install.sh`` puts PostgreSQL ``major`` from registry packages.

    ``/opt/supamigrate/pg<major>`` (its default under root: a directory the ``postgres`` OS user
    may enter) and ``~/.cache/supamigrate/pg<major>`` (its default for anyone else); each holds
    ``bin/`` as a Debian install does.
    """
    dirs = [Path(f"/opt/supamigrate/pg{major}")]
    with contextlib.suppress(RuntimeError):  # no home directory to be found: only /opt
        dirs.append(Path.home() / ".cache" / "supamigrate" / f"pg{major}")
    return dirs


def find_bindir(explicit: str | os.PathLike[str] | None = None, *, major: int | None = None) -> Path:
    """The directory holding pg_ctl, initdb and postgres.

    Looked for in order: ``explicit`` (a directory or the pg_ctl path; the faces pass
    ``SUPAMIGRATE_PG_BIN`` here), ``/usr/lib/postgresql/<major>/bin``, the registry install
    directories of ``<major>`` (``registry_install_dirs``), pg_ctl on PATH, ``pg_config --bindir``,
    then the newest ``/usr/lib/postgresql/*/bin``. So the major config.toml names wins wherever it
    is installed; without it, another major is used (and the faces warn about the mismatch).
    """
    tried: list[str] = []

    def usable(d: Path) -> bool:
        tried.append(str(d))
        return all(os.access(d / b, os.X_OK) for b in _BINARIES)

    if explicit:
        d = Path(explicit)
        d = d.parent if d.is_file() else d
        if usable(d):
            return d
        raise ServerError(
            f"no PostgreSQL server binaries (pg_ctl, initdb, postgres) in {d}",
            hint=PACKAGE_HINT.format(major=major or 15),
        )
    candidates: list[Path] = []
    if major is not None:
        candidates.append(Path(f"/usr/lib/postgresql/{major}/bin"))
        candidates.extend(d / "bin" for d in registry_install_dirs(major))
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip()))
    versioned = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(versioned)
    for d in candidates:
        if usable(d):
            return d
    raise ServerError(
        f"PostgreSQL server binaries not found (looked in: {', '.join(tried) or 'PATH'})",
        hint=PACKAGE_HINT.format(major=major or 15),
    )


def _pg_config(bindir: Path, option: str) -> Path | None:
    pg_config = bindir / "pg_config"
    if os.access(pg_config, os.X_OK):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([str(pg_config), option], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                return Path(out.stdout.strip())
    return None


def _beside(bindir: Path, kind: str) -> Path:
    # Without pg_config (the npm build has none): PostgreSQL's own rule. A prefix whose path names
    # neither "postgres" nor "pgsql" gets lib/postgresql and share/postgresql, else lib and share;
    # a relocatable build finds them beside its bin/ the same way.
    nested = bindir.parent / kind / "postgresql"
    return nested if nested.is_dir() else bindir.parent / kind


def pkglibdir(bindir: Path) -> Path:
    """Where the server in ``bindir`` loads extension libraries from (``pg_config --pkglibdir``)."""
    return _pg_config(bindir, "--pkglibdir") or _beside(bindir, "lib")


def sharedir(bindir: Path) -> Path:
    """Where the server in ``bindir`` reads ``extension/*.control`` from (``pg_config --sharedir``)."""
    return _pg_config(bindir, "--sharedir") or _beside(bindir, "share")


def server_version(bindir: Path) -> tuple[int, str]:
    """Major version and full ``postgres --version`` line of the server binaries in ``bindir``."""
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=30)
    m = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    if out.returncode != 0 or not m:
        raise ServerError(f"could not read the version of {bindir / 'postgres'}: {out.stderr.strip()}")
    return int(m.group(1)), out.stdout.strip()


@dataclass(frozen=True)
class PgInstall:
    """One PostgreSQL installation: its binaries, major version and ``postgres --version`` line."""

    bindir: Path
    major: int
    version_line: str

    @classmethod
    def find(cls, explicit: str | os.PathLike[str] | None = None, *, major: int | None = None) -> PgInstall:
        """The installation ``find_bindir`` picks, with its version read once."""
        bindir = find_bindir(explicit, major=major)
        found_major, line = server_version(bindir)
        return cls(bindir, found_major, line)

    @cached_property
    def pkglibdir(self) -> Path:
        """Where its extension libraries live (read once, when first asked)."""
        return pkglibdir(self.bindir)

    @cached_property
    def sharedir(self) -> Path:
        """Where its extension control and script files live (read once, when first asked)."""
        return sharedir(self.bindir)
