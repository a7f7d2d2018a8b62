"""What the linter reports: its rules and the report holding their findings (``findings.Finding``,
each at a ``FileLocation``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..findings import FileLocation, Finding, Level, failing

__all__ = ["Finding", "LintReport", "Rule", "at"]


@dataclass(frozen=True)
class Rule:
    """One of our Supabase rules: its id, a short name, what it catches and how to fix it."""

    id: str
    name: str
    summary: str
    fix: str
    level: Level = Level.ERROR


def at(
    path: Path,
    line: int,
    column: int,
    code: str,
    message: str,
    *,
    level: Level = Level.ERROR,
    source: str = "supamigrate",
    fix: str | None = None,
    span: tuple[int, int] | None = None,
) -> Finding:
    """A lint finding at ``path:line:column`` (``span``: the statement it belongs to)."""
    return Finding(level, code, message, FileLocation(path, line, column, span), hint=fix, source=source)


def file_of(finding: Finding) -> FileLocation:
    """The file location every lint finding has."""
    assert finding.file is not None, finding
    return finding.file


@dataclass
class LintReport:
    """Every finding of one run, sorted by file and position, and the files that were read.

    ``held_back``: findings on applied migrations (see ``baseline.py``), counted in ``notes``, the
    run's info lines that concern no one file. ``unlinted``: files sqlfluff did not get to (the
    run was cancelled).
    """

    root: Path
    findings: list[Finding] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    suppressed: int = 0
    held_back: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)
    unlinted: list[Path] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == Level.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == Level.WARNING]

    @property
    def ok(self) -> bool:
        """True when no finding is an error (warnings are reported but do not fail)."""
        return not failing(self.findings, "error")

    def by_file(self) -> dict[Path, list[Finding]]:
        """Findings grouped by file, files and findings in order."""
        groups: dict[Path, list[Finding]] = {}
        for f in sorted(self.findings, key=lambda f: f.sort_key):
            groups.setdefault(file_of(f).path, []).append(f)
        return groups
