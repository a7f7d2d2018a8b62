"""The toolkit's commands as plain typed functions; the CLI only maps arguments onto them."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from . import plpgsql
from .advisors import AdvisorSettings, run_advisors
from .build import BuildResult, ProjectDatabase, ServerChoice, StepCallback, Target, apply_project
from .cache import Cache
from .database import connect, redact, require_local, unique_name
from .dump import SNAPSHOT, dump_schema, snapshot_diff
from .errors import MigrationError, ProjectError, SupamigrateError
from .findings import FileLocation, Finding, Level, failing
from .lint import LintReport, lint
from .migrations import ApplyResult, MigrationListing, MigrationSet, ProgressCallback
from .platform.extensions import shim_findings
from .project import Project
from .server import EphemeralServer, version_mismatch
from .smoke import in_production, run_smoke
from .upgrade import UpgradeReport, compare_upgrade, upgrade_base

T = TypeVar("T")


@dataclass
class CheckReport:
    """What ``check`` did and found; ``ok`` is false when any finding reaches the fail level, or
    when the build failed (``error``: a failing migration or seed file, whose finding is among
    ``findings``, after the lint findings known by then)."""

    project: Path
    server_version: str = ""
    build: BuildResult | None = None
    findings: list[Finding] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    fail_on: str = "error"
    error: SupamigrateError | None = None
    # Info lines about the run rather than the project: the baseline's count of held-back lint
    # findings, files sqlfluff did not get to. They never fail it.
    notes: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and not failing(self.findings, self.fail_on)


def failure_finding(error: SupamigrateError) -> Finding:
    """The finding a failed build is: a failing statement at its file:line:col with PostgreSQL's
    SQLSTATE, message, DETAIL and CONTEXT (in ``detail``) and HINT."""
    if not isinstance(error, MigrationError):
        return Finding(Level.ERROR, "build-failed", error.message, hint=error.hint)
    state = f"{error.sqlstate} " if error.sqlstate else ""
    said = (("DETAIL", error.detail), ("CONTEXT", error.context))
    detail = "\n".join(f"{name}: {text}" for name, text in said if text)
    return Finding(
        Level.ERROR,
        "apply-failed",
        f"{state}{error.message}",
        FileLocation(error.path, error.line, error.column),
        hint=error.hint,
        detail=detail or None,
        source="postgresql",
        extras={"sqlstate": error.sqlstate},
    )


def _lint_notes(lint_report: LintReport, *, cancelled: bool) -> list[Finding]:
    """The lint report's notes, and one on the files sqlfluff did not get to because the build
    failed first."""
    found = list(lint_report.notes)
    if cancelled and lint_report.unlinted:
        count = len(lint_report.unlinted)
        found.append(
            Finding(
                Level.INFO,
                "sqlfluff-stopped",
                f"sqlfluff stopped when the build failed: {count} file{'s' if count != 1 else ''} not linted",
                hint="`supamigrate lint` lints them all",
                source="sqlfluff",
            )
        )
    return found


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
    with connect(db_url) as conn:
        built = apply_project(
            conn,
            project,
            stub=stub,
            seed=seed,
            include_all=include_all,
            statement_timeout_ms=statement_timeout_ms,
            on_progress=on_progress,
        )
    return built.apply


def check(
    project: Project,
    *,
    pg_bin: Path | None = None,
    os_user: str | None = None,
    run_root: Path | None = None,
    statement_timeout_ms: int | None = None,
    fail_on: str = "error",
    cache: Cache | None = None,
    lint_cache_dir: Path | None = None,
    since: str | None = None,
    judge_all: bool = False,
    on_progress: ProgressCallback | None = None,
    on_step: Callable[[str], None] | None = None,
    upgrade: bool = False,
    pgdelta: Path | None = None,
) -> CheckReport:
    """Apply everything to an ephemeral server, run the advisors and compare the schema snapshot.

    The server is gone when this returns. Findings: the lint findings (``since`` and ``judge_all``
    as ``lint`` takes them), skipped files, a server version other than config.toml's, the
    database advisors' advice, the smoke requests the services' would have refused (``smoke``,
    rolled back), and a stale ``supabase/schema.sql``. A failing migration or seed
    file does not raise: the report holds it (``error``, and its finding) after the lint
    findings known by then; sqlfluff is stopped rather than waited for.

    With a ``cache``, a stubbed empty cluster is reused between runs (initdb and stub skipped).
    ``pg_bin``, ``os_user``, ``run_root`` and ``lint_cache_dir`` (sqlfluff's results live beneath it)
    are where things are; None means the defaults.

    With ``upgrade``, also the upgrade checks (``upgrade.py``) on the same server: the migrations
    new since ``since`` applied on the base revision's migrations and seed, compared with this build.
    """
    report = CheckReport(project.root, fail_on=fail_on)
    upgrade_notes: list[Finding] = []
    started = time.perf_counter()
    # Lint first in the plan, but in parallel in time: sqlfluff works in processes of its own while
    # the server starts and the migrations apply.
    linting = ThreadPoolExecutor(max_workers=1)
    stop_lint = threading.Event()
    linted = linting.submit(
        _timed,
        lambda p: lint(p, cache_dir=lint_cache_dir, since=since, judge_all=judge_all, cancel=stop_lint),
        project,
    )
    advisor_settings = AdvisorSettings.from_project(project)
    mset = MigrationSet.discover(project.migrations_dir)
    for w in mset.warnings():
        report.findings.append(
            Finding(Level.WARNING, "skipped-file", w, FileLocation(project.migrations_dir))
        )
    for w in project.schema_warnings():
        report.findings.append(Finding(
            Level.WARNING, "schema-paths", w, FileLocation(project.supabase_dir / "config.toml"),
            hint="list the declared schema files (globs relative to supabase/) in [db.migrations] schema_paths",
        ))
    for w in project.seed_warnings():
        report.findings.append(Finding(
            Level.WARNING, "seed-files", w, FileLocation(project.supabase_dir / "config.toml"),
            hint="list every seed file (globs relative to supabase/) in [db.seed] sql_paths",
        ))
    if on_step:
        on_step("starting PostgreSQL")
    server_choice = ServerChoice(pg_bin=pg_bin, os_user=os_user, run_root=run_root, cache=cache)
    try:
        built = _working_database(
            project, "check", server_choice, statement_timeout_ms=statement_timeout_ms, on_progress=on_progress,
            on_step=on_step,
        )
    except SupamigrateError as exc:
        # Report what lint knows by now, without waiting for sqlfluff's slow files.
        stop_lint.set()
        linting.shutdown(wait=True)
        lint_report, report.timings["lint"] = linted.result()
        report.error = exc
        report.findings[:0] = [f.relative_to(project.root) for f in lint_report.findings]
        report.notes = _lint_notes(lint_report, cancelled=True)
        report.findings.append(failure_finding(exc).relative_to(project.root))
        report.timings["total"] = time.perf_counter() - started
        return report
    except BaseException:
        stop_lint.set()
        linting.shutdown(wait=True)
        raise
    server = built.server
    assert isinstance(server, EphemeralServer)
    try:
        report.timings["server"] = built.timings["server"]
        mismatch = version_mismatch(server, project.config.major_version)
        if mismatch:
            report.findings.append(
                Finding(
                    Level.WARNING,
                    "server-version",
                    mismatch,
                    hint=f"install postgresql-{project.config.major_version} or set --pg-bin",
                )
            )
        with server.connect() as conn:
            report.server_version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        report.build = built.database
        report.timings.update(report.build.timings)
        conninfo = server.conninfo(report.build.dbname)
        t = time.perf_counter()
        if on_step:
            on_step("advisors")
        with connect(conninfo) as conn:
            advice = run_advisors(
                conn,
                project.config.api_schemas,
                disable=advisor_settings.disable,
                ignore=advisor_settings.ignore,
            )
            # What the shims stand in for, so that a pass on shims is not taken for a pass on the real ones.
            advice.extend(shim_findings(conn))
        report.findings.extend(advice)
        report.timings["advisors"] = time.perf_counter() - t
        t = time.perf_counter()
        report.findings.extend(_plpgsql_findings(project, conninfo, mset))
        report.timings["plpgsql_check"] = time.perf_counter() - t
        t = time.perf_counter()
        if on_step:
            on_step("smoke requests")
        # As the dashboard's postgres, which the services' roles are granted to.
        with connect(server.conninfo(report.build.dbname, "postgres")) as conn:
            refused = run_smoke(conn, project)
        if refused and not judge_all:
            from .lint.baseline import resolve_baseline

            listing = MigrationListing.of(project.migrations_dir)
            applied = resolve_baseline(project, listing, since=since).applied
            refused = in_production(refused, applied, project.root)
        report.findings.extend(refused)
        report.timings["smoke"] = time.perf_counter() - t
        snapshot = project.root / SNAPSHOT
        fresh_dump: str | None = None
        if snapshot.exists():
            t = time.perf_counter()
            if on_step:
                on_step("schema snapshot")
            fresh_dump = dump_schema(server.bindir, conninfo)
            stale = stale_snapshot(snapshot, fresh_dump)
            if stale:
                report.findings.append(stale)
            report.timings["snapshot"] = time.perf_counter() - t
        if upgrade:
            if on_step:
                on_step("upgrade")
            upgrade_notes = _upgrade_findings(
                report, compare_upgrade(
                    server, project, upgrade_base(project, since=since), fresh_conninfo=conninfo,
                    fresh_dump=fresh_dump, statement_timeout_ms=statement_timeout_ms,
                ),
            )
        if project.schema_files():
            # Declarative schemas (issue 18): they and the migrations must build the same schema.
            from .diff import drift_findings

            t = time.perf_counter()
            if on_step:
                on_step("declared schemas")
            drift = drift_findings(project, server, report.build.dbname, pgdelta=pgdelta)
            report.findings.extend(f.relative_to(project.root) for f in drift)
            report.timings["drift"] = time.perf_counter() - t
    finally:
        built.stop()
        linting.shutdown(wait=True)
    lint_report, report.timings["lint"] = linted.result()
    report.findings[:0] = [f.relative_to(project.root) for f in lint_report.findings]
    report.notes = _lint_notes(lint_report, cancelled=False)
    report.notes.extend(upgrade_notes)
    report.timings["total"] = time.perf_counter() - started
    return report


def _upgrade_findings(report: CheckReport, upgraded: UpgradeReport) -> list[Finding]:
    """Put the upgrade check's findings into ``report`` (a failing migration as a build failure
    is, at its file:line:col); returns its info notes, which go with the run's notes."""
    root = report.project
    report.findings.extend(f.relative_to(root) for f in upgraded.findings if f.level is not Level.INFO)
    if upgraded.error is not None:
        report.findings.append(failure_finding(upgraded.error).relative_to(root))
    report.timings["upgrade"] = upgraded.timings.get("upgrade", 0.0)
    return [f for f in upgraded.findings if f.level is Level.INFO]


def _working_database(
    project: Project,
    purpose: str,
    server: ServerChoice,
    *,
    statement_timeout_ms: int | None,
    on_progress: ProgressCallback | None,
    on_step: StepCallback | None = None,
) -> ProjectDatabase:
    """The project built in a working database ``supamigrate_<purpose>_...`` on an ephemeral server."""
    return ProjectDatabase.start(
        project, target=Target.WORKING, name=unique_name(f"supamigrate_{purpose}"), server=server,
        statement_timeout_ms=statement_timeout_ms, on_progress=on_progress, on_step=on_step,
    )


def _timed(fn: Callable[[Project], T], project: Project) -> tuple[T, float]:
    started = time.perf_counter()
    return fn(project), time.perf_counter() - started


def _plpgsql_findings(project: Project, conninfo: str, mset: MigrationSet) -> list[Finding]:
    """plpgsql_check on every PL/pgSQL function, trigger functions included (as `supabase db lint`)."""
    with connect(conninfo) as conn:
        try:
            result = plpgsql.check_functions(conn, mset)
        except SupamigrateError as exc:  # the extension is not installed: say how to get it
            return [
                Finding(
                    Level.INFO,
                    "plpgsql_check",
                    f"functions not checked: {exc.message}",
                    hint=exc.hint,
                    source="plpgsql_check",
                )
            ]
    return [p.relative_to(project.root) for p in result.problems]


def stale_snapshot(path: Path, current: str) -> Finding | None:
    """An error finding with the diff when the committed snapshot at ``path`` is not ``current``."""
    diff = snapshot_diff(path.read_text(encoding="utf-8"), current, SNAPSHOT.as_posix())
    if not diff:
        return None
    changed = sum(1 for line in diff.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---"))
    return Finding(
        Level.ERROR,
        "schema-snapshot-stale",
        f"{SNAPSHOT.as_posix()} does not match the schema the migrations build"
        f" ({changed} {'line differs' if changed == 1 else 'lines differ'})",
        FileLocation(SNAPSHOT),
        hint="run `supamigrate dump` (or `make dump`) and commit supabase/schema.sql with the migration",
        detail=diff,
    )


@dataclass
class DumpResult:
    """What ``dump`` wrote: the snapshot's path, its text, and whether the file changed."""

    path: Path
    text: str
    changed: bool
    diff: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def dump(
    project: Project,
    *,
    pg_bin: Path | None = None,
    os_user: str | None = None,
    run_root: Path | None = None,
    output: Path | None = None,
    write: bool = True,
    statement_timeout_ms: int | None = None,
    cache: Cache | None = None,
    on_progress: ProgressCallback | None = None,
) -> DumpResult:
    """Build the project on an ephemeral server and write its schema snapshot.

    The build is the one ``check`` makes (stub, migrations, seed), so the two always agree.
    With ``write=False`` nothing is written; ``changed`` and ``diff`` tell whether it would be.
    """
    started = time.perf_counter()
    path = output or project.root / SNAPSHOT
    server_choice = ServerChoice(pg_bin=pg_bin, os_user=os_user, run_root=run_root, cache=cache)
    with _working_database(
        project, "dump", server_choice, statement_timeout_ms=statement_timeout_ms, on_progress=on_progress
    ) as built:
        assert isinstance(built.server, EphemeralServer)
        text = dump_schema(built.server.bindir, built.conninfo)
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    # Changed means a diff: a snapshot another major's pg_dump spelled differently is left as it is.
    diff = snapshot_diff(old, text, SNAPSHOT.as_posix())
    result = DumpResult(path, text, changed=bool(diff), diff=diff)
    if write and result.changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    result.timings["total"] = time.perf_counter() - started
    return result


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


__all__ = [
    "CheckReport",
    "DumpResult",
    "Finding",
    "SupamigrateError",
    "apply",
    "check",
    "dump",
    "new_migration",
]
