"""What the linter reports: rules, findings with file:line:col, and the report holding them."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..findings import Finding as ReportFinding

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Rule:
    """One of our Supabase rules: its id, a short name, what it catches and how to fix it."""

    id: str
    name: str
    summary: str
    fix: str
    level: str = ERROR


@dataclass(frozen=True)
class Finding:
    """One problem at ``path:line:column``, from our rules (``source="supamigrate"``) or sqlfluff.

    ``span`` is the statement the finding belongs to (file offsets), so that a suppression comment
    anywhere in that statement applies to it; file-level findings have none.
    """

    path: Path
    line: int
    column: int
    rule: str
    message: str
    level: str = ERROR
    source: str = "supamigrate"
    fix: str | None = None
    span: tuple[int, int] | None = field(default=None, compare=False, repr=False)

    def as_report_finding(self, root: Path | None = None) -> ReportFinding:
        """This finding as one of a check report's (file:line:col as its place, the fix as its hint)."""
        path = self.path.relative_to(root) if root is not None and self.path.is_relative_to(root) else self.path
        return ReportFinding(
            self.level, self.rule, self.message, f"{path}:{self.line}:{self.column}", hint=self.fix
        )

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (str(self.path), self.line, self.column, self.rule)


@dataclass
class LintReport:
    """Every finding of one run, sorted by file and position, and the files that were read."""

    root: Path
    findings: list[Finding] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    suppressed: int = 0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == WARNING]

    @property
    def ok(self) -> bool:
        """True when no finding is an error (warnings are reported but do not fail)."""
        return not self.errors

    def by_file(self) -> dict[Path, list[Finding]]:
        """Findings grouped by file, files and findings in order."""
        groups: dict[Path, list[Finding]] = {}
        for f in sorted(self.findings, key=lambda f: f.sort_key):
            groups.setdefault(f.path, []).append(f)
        return groups
