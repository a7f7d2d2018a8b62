"""The preflight run: read the project, open the target read-only, replay and check."""

from __future__ import annotations

import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from ..database import redact
from ..migrations import MigrationSet, Plan, recorded_history
from ..project import Project
from ..sql import objects
from ..sql.schema_model import SchemaModel
from ..sql.source import MIGRATION, ParsedStatement, SourceFile
from .collisions import check_creation
from .data import check_data
from .drops import check_drops
from .foreign_keys import check_foreign_key_targets
from .history import history_findings
from .pending import Pending
from .platform import check_platform, uses_platform
from .references import check_references, check_uses
from .result import PreflightReport
from .rows import Limits
from .target import Target, open_read_only

PLATFORM = "platform"  # the kind of the stub's files, and the origin of what they create


def stub_sources() -> Iterator[SourceFile]:
    """The platform stub's files, read and parsed like the migrations, in the order they apply."""
    with resources.as_file(resources.files("supamigrate.platform").joinpath("sql")) as directory:
        for path in sorted(p for p in Path(directory).iterdir() if p.name.endswith(".sql")):
            yield SourceFile.read(path, PLATFORM)


def migration_sources(mset: MigrationSet) -> list[SourceFile]:
    return [
        SourceFile.read(m.path, MIGRATION, number=i, version=m.version) for i, m in enumerate(mset.migrations)
    ]


def replay(p: Pending, migrations: list[SourceFile], pending: dict[int, objects.Facts]) -> None:
    """The stub, then every migration into the model; each pending statement checked first.

    ``pending`` holds the facts of the pending statements, by ``id`` of the statement.
    """
    for source in stub_sources():
        for stmt in source.statements:
            p.model.apply(stmt, PLATFORM)
    for source in migrations:
        for stmt in source.statements:
            p.model.enter(stmt)
            facts = pending.get(id(stmt))
            if facts is not None:
                check_statement(p, stmt, facts)
            p.model.apply(stmt, "applied" if facts is None else "pending", facts)


def check_statement(p: Pending, stmt: ParsedStatement, facts: objects.Facts) -> None:
    check_references(p, stmt, facts)
    check_foreign_key_targets(p, stmt)  # before the creations: the table is still the target's
    check_data(p, stmt)
    check_drops(p, stmt, facts)
    for c in facts.creations:
        check_creation(p, p.where(stmt), c)
    check_uses(p, stmt, facts)


def preflight(
    project: Project, db_url: str, *, fail_on: str = "error", limits: Limits | None = None
) -> PreflightReport:
    """Compare the project's migrations with the database at ``db_url`` without writing to it;
    ``limits`` bound how much of a table the data checks read (``preflight.rows.Limits``)."""
    started = time.perf_counter()
    report = PreflightReport(redact(db_url), project.root, fail_on=fail_on)
    mset = MigrationSet.discover(project.migrations_dir)
    with open_read_only(db_url) as conn:
        try:
            with conn.transaction(force_rollback=True):
                row = conn.execute("SHOW server_version").fetchone()
                report.server_version = str(row[0]) if row else ""
                recorded = recorded_history(conn)
                report.recorded = [r.version for r in recorded]
                plan = Plan.make(mset, recorded)
                report.pending = list(plan.pending)
                history_findings(plan, report, project.root)
                target = Target(conn)
                migrations = migration_sources(mset)
                versions = {m.version for m in plan.pending}
                pending = {
                    id(stmt): objects.facts(stmt.node, stmt.start - stmt.offset)
                    for source in migrations
                    if source.version in versions
                    for stmt in source.statements
                    if stmt.node is not None
                }
                check_platform(target, report, uses_platform(pending.values()))
                state = Pending(target, SchemaModel(), report, project.root, limits=limits or Limits())
                replay(state, migrations, pending)
        finally:
            conn.rollback()
    report.seconds = time.perf_counter() - started
    return report
