"""Findings and command results rendered for people (text), programs (JSON) and GitHub Actions.

Every command's findings go through the same three renderers: ``findings_text`` (grouped by
level) or ``lint_text`` (grouped by file), ``finding_json``, and ``github_annotations`` (GitHub
workflow commands, which GitHub shows on the lines of the diff). ``CHECK``, ``PREFLIGHT`` and
``lint`` pick them by ``--format``; ``apply_text`` and ``dump_text`` summarise the other commands.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .findings import FileLocation, Finding, Level

if TYPE_CHECKING:  # the results only; rendering needs none of their modules loaded
    from .advise import AdviseReport
    from .commands import CheckReport, DumpResult
    from .diff import DiffResult
    from .lint.findings import LintReport
    from .migrations import ApplyResult
    from .plpgsql import Report as PlpgsqlReport
    from .preflight import PreflightReport

FORMATS = ("text", "json", "github")
# Highest first: the order findings_text groups them in.
LEVEL_ORDER = tuple(sorted(Level, reverse=True))


def display_path(path: Path, base: Path | None = None) -> str:
    """``path`` relative to ``base`` (the working directory by default) when under it.

    A relative path is already relative to what its finding is about (the project) and is kept.
    """
    if not path.is_absolute():
        return path.as_posix()
    base = (base or Path.cwd()).resolve()
    try:
        return path.resolve().relative_to(base).as_posix()
    except ValueError:
        return str(path)


# -- findings -------------------------------------------------------------------------------------


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
    """A JSON-ready finding. ``where`` is the location as text; a file location is also split
    into ``file`` (relative to the working directory), ``line`` and ``column``, an object's into
    ``object``. ``rule`` and ``fix`` repeat ``code`` and ``hint`` under the linter's names."""
    place = f.file
    shown = display_path(place.path) if place else None
    return {
        "level": str(f.level),
        "code": f.code,
        "rule": f.code,
        "source": f.source,
        "message": f.message,
        # The same path as ``file``, with the line and column.
        "where": f.where if place is None else str(dataclasses.replace(place, path=Path(str(shown)))),
        "file": shown,
        "line": place.line if place else None,
        "column": place.column if place else None,
        "object": None if f.location is None or place else str(f.location),
        "hint": f.hint,
        "fix": f.hint,
        "detail": f.detail,
        "extras": dict(f.extras),
    }


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


_COMMAND = {Level.ERROR: "error", Level.WARNING: "warning", Level.INFO: "notice"}


def github_annotations(findings: Sequence[Finding], root: Path | None = None) -> list[str]:
    """One ``::error``/``::warning``/``::notice`` workflow command per finding.

    File paths are made relative to the workspace (``GITHUB_WORKSPACE``, else the working
    directory); a relative path is taken as relative to ``root`` (the project) first. A finding
    on a database object names it in the message.
    """
    workspace = Path(os.environ.get("GITHUB_WORKSPACE") or Path.cwd())
    lines = []
    for f in findings:
        props = []
        place = f.file
        if place is not None:
            path = place.path if place.path.is_absolute() or root is None else root / place.path
            props.append(f"file={_escape_property(display_path(path.absolute(), workspace))}")
            props += [f"line={place.line}"] if place.line is not None else []
            props += [f"col={place.column}"] if place.column is not None else []
        props.append(f"title={_escape_property(f.code)}")
        on = f" [{f.where}]" if f.location is not None and place is None and f.where not in f.message else ""
        message = f"{f.code} {f.message}{on}" + (f" (fix: {f.hint})" if f.hint else "")
        lines.append(f"::{_COMMAND[f.level]} {','.join(props)}::{_escape_data(message)}")
    return lines


# -- lint -----------------------------------------------------------------------------------------


def lint_text(report: LintReport) -> str:
    """Findings grouped by file, each as ``line:col  RULE  message`` with the fix under it."""
    lines: list[str] = []
    for path, findings in report.by_file().items():
        lines.append(display_path(path))
        for f in findings:
            level = "" if f.level == Level.ERROR else f" ({f.level})"
            place = f.file or FileLocation(path)
            lines.append(f"  {place.line}:{place.column}  {f.code}{level}  {f.message}")
            if f.hint:
                lines.append(f"      fix: {f.hint}")
    for note in report.notes:  # what concerns no one file: the baseline's count, ...
        lines.append(f"{note.level}: {note.message}")
        if note.hint:
            lines.append(f"      {note.hint}")
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


def _lint_data(report: LintReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "files": [display_path(p) for p in report.files],
        "findings": [finding_json(f) for f in report.findings],
        "errors": len(report.errors),
        "warnings": len(report.warnings),
        "suppressed": report.suppressed,
        "held_back": len(report.held_back),
        "notes": [finding_json(f) for f in report.notes],
    }


def lint_json(report: LintReport) -> str:
    return json.dumps(_lint_data(report), indent=2)


def lint_github(report: LintReport) -> str:
    """The lint findings as annotations, then a summary line."""
    lines = github_annotations([*report.findings, *report.notes])
    lines.append(
        f"supamigrate lint: {len(report.errors)} error(s), {len(report.warnings)} warning(s)"
        f" in {len(report.files)} file(s)"
    )
    return "\n".join(lines)


def plpgsql_text(problem: Finding, root: Path | None = None) -> str:
    """``file:line:col: level SQLSTATE function: message`` (plpgsql_check's own level name, the
    path relative to ``root``), then QUERY, DETAIL, HINT and CONTEXT lines."""
    place = problem.file
    where = str(place.relative_to(root) if root is not None else place) if place else "<no migration creates it>"
    extras = problem.extras
    sqlstate = extras.get("sqlstate")
    state = f" {sqlstate}" if sqlstate and sqlstate != "00000" else ""
    lines = [f"{where}: {extras.get('plpgsql_level', problem.level)}{state} {problem.message}"]
    if problem.detail:
        lines.append(f"QUERY: {problem.detail.strip()}")
    diagnostics = (("DETAIL", extras.get("pg_detail")), ("HINT", problem.hint), ("CONTEXT", extras.get("context")))
    for name, value in diagnostics:
        if value:
            lines.append(f"{name}: {value}")
    return "\n".join(lines)


def lint(
    report: LintReport, fmt: str = "text", *, plpgsql: PlpgsqlReport | None = None, level: str = "warning"
) -> str:
    """``lint``'s output in ``fmt``: the lint report, then (with ``--plpgsql``) plpgsql_check's
    problems at ``level`` or above, the functions it could not check, and a count."""
    if plpgsql is None:
        return {"text": lint_text, "json": lint_json, "github": lint_github}[fmt](report)
    shown = plpgsql.shown(level)
    if fmt == "json":
        return json.dumps({"lint": _lint_data(report), "plpgsql": [finding_json(p) for p in shown]}, indent=2)
    if fmt == "github":
        lines = [lint_github(report), *github_annotations(shown)]
    else:
        lines = [lint_text(report), *(plpgsql_text(p, report.root) for p in shown)]
    lines += [f"note: {function} not checked: {why}" for function, why in plpgsql.unchecked]
    lines.append(f"{len(plpgsql.checked)} function(s) checked, {len(shown)} problem(s) at {level} or above")
    return "\n".join(lines)


# -- check ----------------------------------------------------------------------------------------


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
    for note in report.notes:
        lines.append(f"{note.level}: {note.message}" + (f" ({note.hint})" if note.hint else ""))
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
        "error": _error_json(report),
        "notes": [finding_json(f) for f in report.notes],
        "timings": report.timings,
    }
    return json.dumps(data, indent=2)


def _error_json(report: CheckReport) -> dict[str, Any] | None:
    """The build's failure as JSON (None when it did not fail): where, SQLSTATE, what PostgreSQL said."""
    from .errors import MigrationError  # the error type only; nothing of the core is run

    error = report.error
    if error is None:
        return None
    data: dict[str, Any] = {"message": error.message, "hint": error.hint}
    if isinstance(error, MigrationError):
        place = FileLocation(error.path, error.line, error.column).relative_to(report.project)
        data.update(
            file=place.path.as_posix(),  # as the findings name it: relative to the project
            line=error.line,
            column=error.column,
            sqlstate=error.sqlstate,
            detail=error.detail,
            context=error.context,
        )
    return data


def check_github(report: CheckReport) -> str:
    """The findings as annotations (paths taken relative to the project), then the verdict."""
    lines = github_annotations([*report.findings, *report.notes], report.project)
    lines.append(f"supamigrate check: {'OK' if report.ok else 'FAILED'} ({len(report.findings)} finding(s))")
    return "\n".join(lines)


CHECK: dict[str, Callable[[CheckReport], str]] = {"text": check_text, "json": check_json, "github": check_github}


# -- apply and dump -------------------------------------------------------------------------------


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


# -- diff -----------------------------------------------------------------------------------------


def diff_text(result: DiffResult, root: Path) -> str:
    """What ``diff`` did (for stderr; the SQL itself goes to stdout): the objects, the fixes made
    to the engine's plan, lint's findings on the SQL, what the second diff still found, the file."""
    seconds = result.timings.get("total", 0.0)
    if result.empty:
        return f"No schema changes: supabase/migrations build what supabase/schemas declares ({seconds:.2f}s)"
    lines = [f"supamigrate diff: {len(result.statements)} statement(s) for {len(result.objects)} object(s)"]
    lines.extend(f"  {name}" for name in result.objects)
    if result.fixes:
        lines.append("put right for Supabase:")
        lines.extend(f"  {fix.what}" for fix in result.fixes)
    lines.extend(findings_text([f.relative_to(root) for f in result.findings]))
    if result.residual:
        lines.append("FAILED: applied to the migrations' database, the migration leaves these differences, which"
                     " it could not express:")
        lines.extend(f"  {name}" for name in result.residual)
        lines.append("  a second diff still plans:")
        lines.extend(f"    {s.splitlines()[0] if s else s}" for s in result.residual_sql)
        lines.append("  write these by hand in a migration (`supamigrate new NAME`)")
        return "\n".join(lines)
    lines.append(f"proven: applied to the migrations' database, a second diff is empty ({seconds:.2f}s)")
    if result.blocked:
        lines.append("NOT WRITTEN: lint finds destructive statements (above); review them, then rerun with"
                     " --allow-destructive")
    elif result.path is not None:
        lines.append(f"Created new migration at {display_path(result.path, root)}")
    return "\n".join(lines)


# -- preflight ------------------------------------------------------------------------------------


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


def preflight_github(report: PreflightReport) -> str:
    """The findings as annotations (paths taken relative to the project), then the verdict."""
    lines = github_annotations(report.findings, report.project)
    lines.append(f"supamigrate preflight: {'OK' if report.ok else 'FAILED'} ({len(report.findings)} finding(s))")
    return "\n".join(lines)


PREFLIGHT: dict[str, Callable[[PreflightReport], str]] = {
    "text": preflight_text,
    "json": preflight_json,
    "github": preflight_github,
}


# -- advise ---------------------------------------------------------------------------------------


def advise_text(report: AdviseReport) -> str:
    """The target (password hidden), the exposed schemas, the findings, the verdict."""
    lines = [f"supamigrate advise: {report.target} (read-only)"]
    if report.server_version:
        lines.append(f"  PostgreSQL {report.server_version}")
    lines.append(f"  exposed schemas: {', '.join(report.exposed)} ({report.exposed_from})")
    lines.extend(findings_text(report.findings))
    verdict = "OK" if report.ok else "FAILED"
    lines.append(f"{verdict} ({len(report.findings)} finding(s), {report.seconds:.2f}s; nothing was written)")
    return "\n".join(lines)


def advise_json(report: AdviseReport) -> str:
    """The report as JSON; each finding's ``code`` is splinter's lint name."""
    data: dict[str, Any] = {
        "ok": report.ok,
        "target": report.target,
        "server_version": report.server_version,
        "exposed_schemas": list(report.exposed),
        "exposed_from": report.exposed_from,
        "fail_on": report.fail_on,
        "findings": [finding_json(f) for f in report.findings],
        "seconds": report.seconds,
    }
    return json.dumps(data, indent=2)


def advise_github(report: AdviseReport) -> str:
    """The findings as annotations (on objects, so without a file), then the verdict."""
    lines = github_annotations(report.findings)
    lines.append(f"supamigrate advise: {'OK' if report.ok else 'FAILED'} ({len(report.findings)} finding(s))")
    return "\n".join(lines)


ADVISE: dict[str, Callable[[AdviseReport], str]] = {
    "text": advise_text,
    "json": advise_json,
    "github": advise_github,
}
