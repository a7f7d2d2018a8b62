"""The toolkit's commands as plain typed functions; the CLI only maps arguments onto them."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .database import BuildResult, build, connect, redact, require_local, unique_name
from .errors import ProjectError, SupamigrateError
from .migrations import ApplyResult, MigrationSet, ProgressCallback, apply_migrations, run_seed
from .platform import apply_stub
from .platform.extensions import ExtensionPolicy, cron_database
from .project import Project
from .server import EphemeralServer, ServerOptions


@dataclass
class Finding:
    """One thing a report tells: its level (error, warning, info), where, and what."""

    level: str
    code: str
    message: str
    where: str = ""
    hint: str | None = None


@dataclass
class CheckReport:
    """What ``check`` did and found; ``ok`` is false when any finding reaches the fail level."""

    project: Path
    server_version: str = ""
    build: BuildResult | None = None
    findings: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    fail_on: str = "error"

    @property
    def ok(self) -> bool:
        levels = {"error": ("error",), "warning": ("error", "warning"), "none": ()}[self.fail_on]
        return not any(f.level in levels for f in self.findings)


def apply(
    project: Project,
    db_url: str,
    *,
    stub: bool = True,
    seed: bool = True,
    allow_remote: bool = False,
    include_all: bool = False,
    statement_timeout_ms: int | None = None,
    on_progress: ProgressCallback | None = None,
) -> ApplyResult:
    """Apply the stub (if missing), pending migrations and pending seeds to the database at ``db_url``.

    Writes only what is pending; refuses a non-local host unless ``allow_remote``.
    """
    require_local(db_url, allow_remote=allow_remote)
    mset = MigrationSet.discover(project.migrations_dir)
    extensions = ExtensionPolicy.for_project(project)
    with connect(db_url) as conn:
        if stub:
            apply_stub(conn)
        result = apply_migrations(
            conn,
            mset,
            statement_timeout_ms=statement_timeout_ms,
            include_all=include_all,
            on_progress=on_progress,
            extensions=extensions,
        )
        if seed:
            result.seeded = run_seed(
                conn,
                project.seed_files(),
                root=project.root,
                statement_timeout_ms=statement_timeout_ms,
                extensions=extensions,
            )
    return result


def check(
    project: Project,
    *,
    pg_bin: Path | None = None,
    statement_timeout_ms: int | None = None,
    fail_on: str = "error",
    on_progress: ProgressCallback | None = None,
    on_step: Callable[[str], None] | None = None,
) -> CheckReport:
    """Apply everything to an ephemeral server and report; the server is gone when this returns."""
    report = CheckReport(project.root, fail_on=fail_on)
    started = time.perf_counter()
    mset = MigrationSet.discover(project.migrations_dir)
    for w in mset.warnings():
        report.findings.append(Finding("warning", "skipped-file", w, str(project.migrations_dir)))
    if on_step:
        on_step("starting PostgreSQL")
    dbname = unique_name("supamigrate_check")
    options = ServerOptions(
        bindir=pg_bin, major=project.config.major_version, cron_database=cron_database(project, mset, dbname)
    )
    with EphemeralServer(options) as server:
        report.timings["server"] = time.perf_counter() - started
        if server.major != project.config.major_version:
            report.findings.append(
                Finding(
                    "warning",
                    "server-version",
                    f"config.toml says major_version = {project.config.major_version},"
                    f" but the server binaries are PostgreSQL {server.major} ({server.bindir})",
                    hint=f"install postgresql-{project.config.major_version} or set --pg-bin",
                )
            )
        with server.connect() as conn:
            report.server_version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        report.build = build(
            server,
            dbname,
            project,
            migrations=mset,
            statement_timeout_ms=statement_timeout_ms,
            on_progress=on_progress,
            on_step=on_step,
        )
        report.timings.update(report.build.timings)
    report.timings["total"] = time.perf_counter() - started
    return report


_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")


def new_migration(project: Project, name: str, *, now: datetime | None = None, sql: str = "") -> Path:
    """Create ``supabase/migrations/<UTC YYYYMMDDHHMMSS>_<name>.sql`` like ``supabase migration new``."""
    if not _NAME.match(name):
        raise ProjectError(
            f"invalid migration name {name!r}",
            hint="use letters, digits, '_' and '-' only, e.g. add_profiles",
        )
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S")
    project.migrations_dir.mkdir(parents=True, exist_ok=True)
    path = project.migrations_dir / f"{stamp}_{name}.sql"
    if path.exists():
        raise ProjectError(f"{path} already exists", hint="wait a second or choose another name")
    existing = MigrationSet.discover(project.migrations_dir).versions
    if existing and max(existing, key=lambda v: (len(v), v)) > stamp:
        raise ProjectError(
            f"the newest migration ({max(existing)}) is later than now ({stamp}); the new file would sort before it",
            hint="check the system clock",
        )
    path.write_text(sql, encoding="utf-8")
    return path


def describe_target(db_url: str) -> str:
    """The database URL fit for printing."""
    return redact(db_url)


__all__ = ["CheckReport", "Finding", "SupamigrateError", "apply", "check", "new_migration"]
