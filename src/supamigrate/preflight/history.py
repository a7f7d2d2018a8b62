"""History findings from the Plan: what ``supabase db push`` refuses, what changed, what is pending."""

from __future__ import annotations

from pathlib import Path

from ..findings import FileLocation, ObjectLocation
from ..migrations import Plan
from .result import PreflightReport, add, relative


def history_findings(plan: Plan, report: PreflightReport, root: Path) -> None:
    """The two errors ``supabase db push`` raises, changed files, and what is pending."""
    if plan.missing_locally:
        add(
            report,
            "error",
            "history-missing-locally",
            "Remote migration versions not found in local migrations directory: " + ", ".join(plan.missing_locally),
            ObjectLocation("supabase_migrations.schema_migrations"),
            hint="this database was migrated from another directory (or project); pull them with"
            " `supabase db pull`, or mark them reverted with"
            " `supabase migration repair --status reverted <version>`",
        )
    if plan.out_of_order:
        add(
            report,
            "error",
            "history-out-of-order",
            "Found local migration files to be inserted before the last migration on remote database: "
            + ", ".join(m.filename for m in plan.out_of_order),
            FileLocation(Path("supabase/migrations")),
            hint="rename them to a later version (`supamigrate new`), or push with --include-all",
        )
    for m in plan.changed:
        add(
            report,
            "warning",
            "history-changed",
            f"{m.filename} was applied, but its statements differ from those recorded on the target",
            relative(m.path, root),
            hint="write a new migration instead of editing an applied one",
        )
    for m in plan.pending:
        add(report, "info", "pending", f"{m.filename} would be applied", relative(m.path, root))
    if not plan.pending:
        add(report, "info", "up-to-date", "no migration is pending: the target is up to date")
