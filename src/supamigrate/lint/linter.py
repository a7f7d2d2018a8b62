"""The lint run: read the project's SQL, replay the migrations through our rules, run sqlfluff,
apply suppressions and the baseline, and collect one report."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..findings import Level
from ..migrations import MIGRATION_FILE, MigrationListing
from ..paths import cache_root
from ..project import Project
from ..sql.source import MIGRATION, SEED, SourceFile
from .baseline import AUTHORING, Baseline, baseline_of, given_or_ci_base, is_held_back, summary, unknown_note
from .findings import Finding, LintReport, file_of
from .levels import judged, sqlfluff_mode
from .rules import FAMILIES, RULES, Context
from .rules.suppressions import UNUSED_SUPPRESSION, unused_findings
from .suppress import Suppressions
from .vcs import names_at


def read_context(project: Project, *, since: str | None = None) -> Context:
    """The migrations (in apply order) and seed files, parsed, and which migrations are new."""
    listing = MigrationListing.of(project.migrations_dir)
    migrations = tuple(
        SourceFile.read(m.path, MIGRATION, number=i, version=m.version) for i, m in enumerate(listing.migrations)
    )
    seeds = tuple(SourceFile.read(p, SEED) for p in project.seed_files())
    ctx = Context(project, listing, migrations, seeds, base_ref=since or "HEAD")
    base = names_at(project.migrations_dir, ctx.base_ref)
    if base is not None:
        ctx.new_files = frozenset(m.path for m in listing.migrations if m.path.name not in base)
        ctx.base_versions = tuple(m.group(1) for name in base if (m := MIGRATION_FILE.match(name)))
    return ctx


def check_rules(ctx: Context) -> list[Finding]:
    """Our rules over the migrations in order (each statement checked, then replayed), then the
    seed files, then the checks over the whole set. No suppression is applied here."""
    findings: list[Finding] = []
    for sources in (ctx.migrations, ctx.seeds):
        for source in sources:
            families = [f for f in FAMILIES if f.on_statement is not None and source.kind in f.kinds]
            for stmt in source.statements:
                if source.kind == MIGRATION:
                    ctx.state.enter(stmt)  # a new file starts from the default search_path
                for family in families:
                    assert family.on_statement is not None
                    findings.extend(family.on_statement(stmt, ctx))
                if source.kind == MIGRATION and stmt.node is not None:
                    ctx.state.apply(stmt)
    for family in FAMILIES:
        if family.at_end is not None:
            findings.extend(family.at_end(ctx))
    return findings


def project_sql_files(project: Project) -> list[Path]:
    """Every SQL file the linter reads: migrations (skipped names too), seed files, supabase/tests."""
    files: dict[Path, None] = {}
    if project.migrations_dir.is_dir():
        files.update(dict.fromkeys(sorted(p for p in project.migrations_dir.glob("*.sql") if p.is_file())))
    files.update(dict.fromkeys(project.seed_files()))
    if project.tests_dir.is_dir():
        files.update(dict.fromkeys(sorted(p for p in project.tests_dir.rglob("*.sql") if p.is_file())))
    return [p.resolve() for p in files]


def _selected(files: Iterable[Path], paths: Sequence[Path]) -> list[Path]:
    """The files under ``paths`` (files or directories); SQL files named outside the project too."""
    chosen: dict[Path, None] = {}
    wanted = [p.resolve() for p in paths]
    for f in files:
        if any(f == w or w in f.parents for w in wanted):
            chosen[f] = None
    for w in wanted:
        if w.is_file() and w.suffix.lower() == ".sql":
            chosen.setdefault(w, None)
        elif w.is_dir():
            chosen.update(dict.fromkeys(sorted(p.resolve() for p in w.rglob("*.sql") if p.is_file())))
    return list(chosen)


def _disabled(project: Project) -> frozenset[str]:
    listed = project.tool.lint.disable
    project.tool.require_known("lint", "disable", listed, RULES, "rules")
    return frozenset(listed)


def lint(
    project: Project,
    paths: Sequence[Path] = (),
    *,
    since: str | None = None,
    judge_all: bool = False,
    jobs: int | None = None,
    sqlfluff: bool = True,
    cache: bool = True,
    cache_dir: Path | None = None,
    cancel: threading.Event | None = None,
) -> LintReport:
    """Lint the project's SQL: our rules over the whole migration set, sqlfluff over each file.

    With ``paths``, only findings in those files (or directories) are reported, but the rules
    still read every migration (a policy's table may be created in another file). ``since`` is the
    git revision new migrations are compared with (default ``HEAD``, or ``[lint] baseline``);
    findings only an edit of an applied migration could fix are held back and counted in one note
    (``baseline.py``), unless ``judge_all``. ``jobs`` caps sqlfluff's worker processes; sqlfluff's
    results are cached under ``cache_dir`` (the cache_dir setting); setting ``cancel`` stops
    sqlfluff early (the files it did not get to are ``unlinted``). Suppression comments and
    ``[lint] disable`` in supamigrate.toml apply.
    """
    disabled = _disabled(project)
    since = given_or_ci_base(project, since)
    ctx = read_context(project, since=since)
    baseline = baseline_of(project, ctx.listing, ctx.new_files, ctx.base_ref, since=since)
    all_files = project_sql_files(project)
    files = _selected(all_files, paths) if paths else all_files
    wanted = [p.resolve() for p in paths]
    sources = {s.path.resolve(): s for s in (*ctx.migrations, *ctx.seeds)}
    suppressions = {path: Suppressions.of(s) for path, s in sources.items()}
    report = LintReport(project.root, files=files)
    found: list[Finding] = []
    for finding in check_rules(ctx):
        path = file_of(finding).path.resolve()
        # Asked first, so a suppression counts as used even where the finding is not reported.
        covered = path in suppressions and suppressions[path].covers(finding)
        if finding.code in disabled or (wanted and not any(path == w or w in path.parents for w in wanted)):
            continue
        if covered:
            report.suppressed += 1
            continue
        found.append(finding)
    for path, held in suppressions.items():
        if UNUSED_SUPPRESSION.id in disabled or (wanted and not any(path == w or w in path.parents for w in wanted)):
            continue
        for finding in unused_findings(path, sources[path], held, set(RULES)):
            if held.covers(finding):
                report.suppressed += 1
            else:
                found.append(finding)
    if sqlfluff:
        # Imported here: sqlfluff and its dialects take longer to import than the rest of the CLI.
        from .sqlfluff_runner import run_sqlfluff_cached

        results = cache_root(cache_dir) / "sqlfluff" if cache else None
        run = run_sqlfluff_cached(files, root=project.root, jobs=jobs, cache_dir=results, cancel=cancel)
        parsed = {s.path.resolve(): s for s in (*ctx.migrations, *ctx.seeds)}
        found += judged(run.findings, sqlfluff_mode(project, files), lambda p: _parses(p, parsed))
        report.unlinted = run.unfinished
    _apply_baseline(report, found, baseline, judge_all)
    report.findings.sort(key=lambda f: f.sort_key)
    return report


def _apply_baseline(report: LintReport, found: list[Finding], baseline: Baseline, judge_all: bool) -> None:
    """Hold back the findings on applied migrations, and say what was held back or not known."""
    for finding in found:
        if not judge_all and is_held_back(finding, baseline):
            report.held_back.append(finding)
        else:
            report.findings.append(finding)
    if report.held_back:
        report.notes.append(summary(report.held_back, baseline))
    elif not baseline.known and not judge_all and any(
        f.level == Level.ERROR and f.code in AUTHORING for f in report.findings
    ):
        # Only worth saying when it decides the verdict: these would not fail an applied migration.
        report.notes.append(unknown_note())


def _parses(path: Path, parsed: dict[Path, SourceFile]) -> bool:
    """Whether PostgreSQL's parser reads every statement of ``path``."""
    source = parsed.get(path.resolve()) or SourceFile.read(path, "sql")
    return source.unreadable is None and all(stmt.error is None for stmt in source.statements)
