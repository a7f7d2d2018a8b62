"""Findings: what a check, the linter, plpgsql_check, the advisors or preflight tell, at a level.

One ``Finding`` type for every command: a ``Level`` (info < warning < error), a code (a rule id,
an advisor's id, ``plpgsql_check``, ...), a message, where it is (a ``FileLocation`` or an
``ObjectLocation``), the fix as ``hint``, and ``failing`` decides which findings fail a run.
Rendering lives in ``report``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class Level(StrEnum):
    """How much a finding matters. Ordered ``INFO < WARNING < ERROR``; equal to its text (``"error"``)."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    # str's own ordering is alphabetical; a level orders by how much it matters.
    def __lt__(self, other: object) -> bool:
        return self.rank < Level(other).rank if isinstance(other, str) else NotImplemented

    def __le__(self, other: object) -> bool:
        return self.rank <= Level(other).rank if isinstance(other, str) else NotImplemented

    def __gt__(self, other: object) -> bool:
        return self.rank > Level(other).rank if isinstance(other, str) else NotImplemented

    def __ge__(self, other: object) -> bool:
        return self.rank >= Level(other).rank if isinstance(other, str) else NotImplemented

    @classmethod
    def named(cls, text: str) -> Level | None:
        """The level a tool's level name starts with (``warning extra`` → WARNING), else None."""
        lowered = text.lower()
        for level in cls:
            if lowered.startswith(level.value):
                return level
        return None


_RANKS = {Level.INFO: 0, Level.WARNING: 1, Level.ERROR: 2}

# The --fail-on choices: a level, or "none" (nothing fails).
FAIL_ON = ("error", "warning", "none")


def threshold(fail_on: str) -> Level | None:
    """The lowest level that fails a run for a ``--fail-on`` value (None for ``none``)."""
    if fail_on not in FAIL_ON:
        raise ValueError(f"fail-on must be one of {', '.join(FAIL_ON)}, not {fail_on!r}")
    return None if fail_on == "none" else Level(fail_on)


def failing(findings: Iterable[Finding], fail_on: str) -> list[Finding]:
    """The findings at or above the ``fail_on`` threshold (``error``, ``warning`` or ``none``)."""
    lowest = threshold(fail_on)
    return [] if lowest is None else [f for f in findings if f.level >= lowest]


@dataclass(frozen=True)
class FileLocation:
    """A place in a file: its path, and the 1-based line and column when known.

    ``span`` is the statement the finding belongs to (file offsets), so that a suppression comment
    anywhere in that statement applies to it; it is not part of what a report shows.
    """

    path: Path
    line: int | None = None
    column: int | None = None
    span: tuple[int, int] | None = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        text = self.path.as_posix()
        if self.line is not None:
            text += f":{self.line}"
            if self.column is not None:
                text += f":{self.column}"
        return text

    def relative_to(self, root: Path) -> FileLocation:
        """The same place with its path relative to ``root`` when it is under it."""
        for path, base in ((self.path, root), (self.path.resolve(), root.resolve())):
            if path.is_absolute() and path.is_relative_to(base):
                return dataclasses.replace(self, path=path.relative_to(base))
        return self


@dataclass(frozen=True)
class ObjectLocation:
    """A database object, by the name a report shows (``public.notes``, ``public.t: policy p``)."""

    name: str

    def __str__(self) -> str:
        return self.name


Location = FileLocation | ObjectLocation


@dataclass(frozen=True)
class Finding:
    """One thing a report tells: its level, code, message, where, and how to fix it (``hint``).

    ``detail`` holds text too long for one line (a diff, a query); reports print it indented.
    ``source`` says what found it (supamigrate, sqlfluff, advisor, plpgsql_check, preflight).
    ``extras`` holds what only some sources have (plpgsql_check's function, sqlstate, table, ...;
    an advisor's category); JSON reports include it.
    """

    level: Level
    code: str
    message: str
    location: Location | None = None
    hint: str | None = None
    detail: str | None = None
    source: str = "supamigrate"
    extras: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def where(self) -> str:
        """The location as a report shows it (``path:line:col`` or an object's name), or ``""``."""
        return "" if self.location is None else str(self.location)

    @property
    def file(self) -> FileLocation | None:
        """The location when it is a place in a file."""
        return self.location if isinstance(self.location, FileLocation) else None

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        """File, line, column, code: the order the linter reports in."""
        f = self.file
        if f is None:
            return (self.where, 0, 0, self.code)
        return (str(f.path), f.line or 0, f.column or 0, self.code)

    def relative_to(self, root: Path) -> Finding:
        """This finding with its file path relative to ``root`` (a project's root) when under it."""
        f = self.file
        return self if f is None else dataclasses.replace(self, location=f.relative_to(root))
