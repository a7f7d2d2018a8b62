"""Reports rendered for people (text) and for programs (JSON)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .commands import CheckReport, DumpResult
from .findings import LEVELS, Finding
from .migrations import ApplyResult
from .preflight import PreflightReport

LEVEL_ORDER = LEVELS


def findings_text(findings: Sequence[Finding]) -> list[str]:
    """Findings grouped by level (errors first): code, message, where, hint, then any detail."""
    lines: list[str] = []
    for level in LEVEL_ORDER:
        group = [f for f in findings if f.level == level]
        if not group:
            continue
        lines.append(f"{level.upper()}S ({len(group)})")
        width = max(len(f.code) for f in group)
        for f in group:
            where = f" [{f.where}]" if f.where and f.where not in f.message else ""
            lines.append(f"  {f.code:<{width}}  {f.message}{where}")
            if f.hint:
                lines.append(f"  {'':<{width}}  hint: {f.hint}")
            if f.detail:
                lines.extend(f"      {line}".rstrip() for line in f.detail.splitlines())
    return lines


def finding_json(f: Finding) -> dict[str, Any]:
    return dataclasses.asdict(f)


def check_text(report: CheckReport) -> str:
    """A short readable report: what was applied, the findings grouped by level, the verdict."""
    lines = [f"supamigrate check: {report.project}"]
    if report.server_version:
        lines.append(f"  PostgreSQL {report.server_version} (ephemeral)")
    if report.build:
        b = report.build
        lines.append("  platform stub: ready")
        lines.append(f"  migrations applied: {len(b.apply.applied)}")
        lines.extend(f"    {m.filename}" for m in b.apply.applied)
        lines.append(f"  seed files: {len(b.apply.seeded)}")
        lines.extend(f"    {p.name}" for p in b.apply.seeded)
    lines.extend(findings_text(report.findings))
    timing = ", ".join(f"{k} {v:.2f}s" for k, v in report.timings.items())
    lines.append(f"{'OK' if report.ok else 'FAILED'} ({timing})")
    return "\n".join(lines)


def check_json(report: CheckReport) -> str:
    data: dict[str, Any] = {
        "ok": report.ok,
        "project": str(report.project),
        "server_version": report.server_version,
        "fail_on": report.fail_on,
        "applied": [m.filename for m in report.build.apply.applied] if report.build else [],
        "seeded": [str(p) for p in report.build.apply.seeded] if report.build else [],
        "findings": [finding_json(f) for f in report.findings],
        "timings": report.timings,
    }
    return json.dumps(data, indent=2)


def apply_text(result: ApplyResult, target: str) -> str:
    lines = [f"Applying to {target}"]
    lines.extend(result.warnings)
    lines.extend(f"Applied migration {m.filename}" for m in result.applied)
    lines.extend(f"Seeded data from {p.name}" for p in result.seeded)
    if not result.applied:
        lines.append("Remote database is up to date." if result.already_applied else "No migrations to apply.")
    lines.append(f"Finished in {result.seconds:.2f}s")
    return "\n".join(lines)


def dump_text(result: DumpResult, root: Path) -> str:
    try:
        name = result.path.relative_to(root).as_posix()
    except ValueError:
        name = str(result.path)
    lines = result.text.count("\n")
    state = "written" if result.changed else "unchanged"
    return f"{name}: {state} ({lines} lines, {result.timings.get('total', 0.0):.2f}s)"


def preflight_text(report: PreflightReport) -> str:
    """The target (password hidden), what is recorded and pending, the findings, the verdict."""
    lines = [f"supamigrate preflight: {report.target} (read-only)"]
    if report.server_version:
        lines.append(f"  PostgreSQL {report.server_version}")
    lines.append(f"  recorded migrations: {len(report.recorded)}; pending: {len(report.pending)}")
    lines.extend(findings_text(report.findings))
    lines.append(f"{'OK' if report.ok else 'FAILED'} ({report.seconds:.2f}s; nothing was written)")
    return "\n".join(lines)


def preflight_json(report: PreflightReport) -> str:
    data: dict[str, Any] = {
        "ok": report.ok,
        "target": report.target,
        "server_version": report.server_version,
        "fail_on": report.fail_on,
        "recorded": report.recorded,
        "pending": [m.filename for m in report.pending],
        "findings": [finding_json(f) for f in report.findings],
        "seconds": report.seconds,
    }
    return json.dumps(data, indent=2)
