"""What preflight hands back: the report, and the one place a finding is added to it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..findings import FileLocation, Finding, Level, Location, failing
from ..migrations import Migration


@dataclass
class PreflightReport:
    """What preflight found on the target; ``ok`` is false when a finding reaches ``fail_on``."""

    target: str
    project: Path
    server_version: str = ""
    recorded: list[str] = field(default_factory=list)
    pending: list[Migration] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    fail_on: str = "error"
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not failing(self.findings, self.fail_on)


def add(
    report: PreflightReport,
    level: str,
    code: str,
    message: str,
    where: Location | None = None,
    hint: str | None = None,
) -> None:
    """Add a finding once (two statements can meet the same object the same way)."""
    finding = Finding(Level(level), code, message, where, hint)
    if finding not in report.findings:
        report.findings.append(finding)


def relative(path: Path, root: Path) -> FileLocation:
    """``path`` as the report names it: relative to the project root when under it."""
    return FileLocation(path).relative_to(root)
