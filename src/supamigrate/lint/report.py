"""A lint report for people (grouped by file), for programs (JSON), and for GitHub Actions
(workflow-command annotations, which GitHub shows on the lines of the diff)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .findings import Finding, LintReport


def display_path(path: Path, base: Path | None = None) -> str:
    """``path`` relative to ``base`` (the working directory by default) when under it."""
    base = (base or Path.cwd()).resolve()
    try:
        return path.resolve().relative_to(base).as_posix()
    except ValueError:
        return str(path)


def text(report: LintReport) -> str:
    """Findings grouped by file, each as ``line:col  RULE  message`` with the fix under it."""
    lines: list[str] = []
    for path, findings in report.by_file().items():
        lines.append(display_path(path))
        for f in findings:
            level = "" if f.level == "error" else f" ({f.level})"
            lines.append(f"  {f.line}:{f.column}  {f.rule}{level}  {f.message}")
            if f.fix:
                lines.append(f"      fix: {f.fix}")
    files = len(report.by_file())
    suppressed = f", {report.suppressed} suppressed" if report.suppressed else ""
    if report.findings:
        lines.append(
            f"{len(report.errors)} error(s), {len(report.warnings)} warning(s) in {files} of"
            f" {len(report.files)} file(s){suppressed}"
        )
    else:
        lines.append(f"{len(report.files)} file(s) clean{suppressed}")
    return "\n".join(lines)


def _as_dict(f: Finding) -> dict[str, object]:
    return {
        "file": display_path(f.path),
        "line": f.line,
        "column": f.column,
        "rule": f.rule,
        "level": f.level,
        "source": f.source,
        "message": f.message,
        "fix": f.fix,
    }


def as_json(report: LintReport) -> str:
    data = {
        "ok": report.ok,
        "files": [display_path(p) for p in report.files],
        "findings": [_as_dict(f) for f in report.findings],
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "suppressed": report.suppressed,
    }
    return json.dumps(data, indent=2)


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(report: LintReport) -> str:
    """One ``::error``/``::warning`` workflow command per finding, paths relative to the
    workspace (``GITHUB_WORKSPACE``, else the working directory), then a summary line."""
    workspace = Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd())
    lines = []
    for f in report.findings:
        props = ",".join(
            [
                f"file={_escape_property(display_path(f.path, workspace))}",
                f"line={f.line}",
                f"col={f.column}",
                f"title={_escape_property(f.rule)}",
            ]
        )
        message = f"{f.rule} {f.message}" + (f" (fix: {f.fix})" if f.fix else "")
        lines.append(f"::{f.level} {props}::{_escape_data(message)}")
    lines.append(
        f"supamigrate lint: {len(report.errors)} error(s), {len(report.warnings)} warning(s)"
        f" in {len(report.files)} file(s)"
    )
    return "\n".join(lines)


RENDERERS = {"text": text, "json": as_json, "github": github}
