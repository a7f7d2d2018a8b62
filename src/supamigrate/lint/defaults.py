"""The sqlfluff settings supamigrate bundles for Supabase SQL (``supabase.sqlfluff``, package data).

``sqlfluff_defaults()`` is their text (``supamigrate init`` writes it as a project's
``.sqlfluff``), ``sqlfluff_defaults_path()`` the file. ``own_sqlfluff_config`` tells whether a
project configures sqlfluff itself, in which case the bundled settings are not used. Nothing here
imports sqlfluff.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path

DEFAULTS_FILE = "supabase.sqlfluff"

# The files sqlfluff reads its settings from, and what marks its part of each.
CONFIG_FILES = (".sqlfluff", ".sqlfluffignore", "setup.cfg", "tox.ini", "pyproject.toml")
_SECTION_MARK = {"setup.cfg": "[sqlfluff", "tox.ini": "[sqlfluff", "pyproject.toml": "[tool.sqlfluff"}


def sqlfluff_defaults_path() -> Path:
    """The bundled ``supabase.sqlfluff``."""
    return Path(str(files(__package__ or "supamigrate.lint").joinpath(DEFAULTS_FILE)))


def sqlfluff_defaults() -> str:
    """The bundled Supabase sqlfluff settings, as a ``.sqlfluff`` file's text."""
    return sqlfluff_defaults_path().read_text(encoding="utf-8")


def config_dirs(directory: Path) -> list[Path]:
    """The directories sqlfluff may read settings from for a file in ``directory``: the user's
    (home and its config directory), then every directory from ``/`` down to ``directory``."""
    home = Path.home()
    user = [home, Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "sqlfluff"]
    return [*user, *reversed(directory.parents), directory]


def _configures(path: Path) -> bool:
    """Whether ``path`` holds sqlfluff settings (a ``.sqlfluff``, or a sqlfluff section)."""
    if path.name == ".sqlfluff":
        return True
    mark = _SECTION_MARK.get(path.name)
    if mark is None:
        return False
    try:
        return mark in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def own_sqlfluff_config(files: Iterable[Path]) -> list[Path]:
    """The sqlfluff settings files of the project (not the user's) that apply to ``files``: in the
    directories from ``/`` down to each file (a monorepo's ``.sqlfluff`` above the project counts).

    A ``.sqlfluff`` that is the bundled settings word for word (``supamigrate init`` writes it) is
    not the project's own choice: it counts as the defaults. Edited, it is the project's.
    """
    bundled = sqlfluff_defaults_path().read_bytes()
    found: dict[Path, None] = {}
    seen: set[Path] = set()
    for f in files:
        directory = f.resolve().parent
        if directory in seen:
            continue
        seen.add(directory)
        for d in [*reversed(directory.parents), directory]:
            for name in CONFIG_FILES:
                candidate = d / name
                if name != ".sqlfluffignore" and candidate.is_file() and _configures(candidate):
                    if name == ".sqlfluff" and candidate.read_bytes() == bundled:
                        continue
                    found[candidate] = None
    return list(found)
