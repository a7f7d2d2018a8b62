"""``supamigrate diff``: the migration from what the migrations build to what supabase/schemas declares.

Both databases come from the one build path on one ephemeral server: the migrations' as every
working database is built (stub, then the migrations), the declared schemas' the same way with
the schema files in the migrations' place (``declared_set``), both copied from the stubbed base.
The engine plans the way from the first to the second, ``postprocess`` puts right what it gets
wrong for Supabase, and the result is proven: applied to the migrations' database by the
migration runner, a second diff must find nothing.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ..build import BASE, ProjectDatabase, ServerChoice, Target, apply_project, build_database
from ..database import Server, connect, drop_database, unique_name
from ..errors import MigrationError, ProjectError
from ..findings import FileLocation, Finding, Level, ObjectLocation
from ..lint.linter import check_rules, read_context
from ..migrations import Migration, MigrationSet
from ..project import Project
from ..server import EphemeralServer
from ..sql.source import MIGRATION, SourceFile
from . import engine, postprocess
from .engine import DiffError, Plan
from .fingerprint import fingerprint

HEADER = (
    "-- Written by `supamigrate diff` from the declared schemas (supabase/schemas) with pg-delta,\n"
    "-- then applied to the migrations' database and diffed again: nothing was left.\n\n"
)
# Lint rules whose findings on a generated migration mean it destroys something.
DESTRUCTIVE_RULES = frozenset({"SB007", "SB008"})


def declared_set(project: Project) -> MigrationSet:
    """The declared schema files as a migration set, in the CLI's order, for the one build path
    (their history rows land in supabase_migrations, which no diff reads)."""
    files = project.schema_files()
    return MigrationSet(
        project.schemas_dir,
        tuple(Migration(path=p, version=f"{i:014d}", name=p.stem) for i, p in enumerate(files, start=1)),
    )


@dataclass
class DiffResult:
    """What ``diff`` found and did.

    ``statements`` is the migration (empty: the migrations already build the declared schema),
    ``sql`` its text as written. ``residual`` names what a second diff still found after applying
    it: what the migration could not express (``ok`` is false). ``findings`` are our lint rules'
    findings on the generated SQL; ``path`` the file written (``-f``), or None.
    """

    statements: list[str] = field(default_factory=list)
    sql: str = ""
    fixes: list[postprocess.Fix] = field(default_factory=list)
    residual: list[str] = field(default_factory=list)
    residual_sql: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    objects: list[str] = field(default_factory=list)
    path: Path | None = None
    blocked: bool = False
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.statements

    @property
    def ok(self) -> bool:
        return not self.residual and not self.blocked


def migration_statements(plan: Plan, current_url: str, desired_url: str) -> tuple[list[str], list[postprocess.Fix]]:
    """The plan's statements, post-processed for Supabase, in the order they run."""
    with connect(current_url) as current, connect(desired_url) as desired:
        statements, fixes = postprocess.new_object_privileges(plan.actions, current, desired)
        statements, more = postprocess.new_functions(plan.actions, statements, current)
        fixes += more
        statements, more = postprocess.extension_comments(statements, desired)
        fixes += more
        drops, creates, more = postprocess.platform_policies(current, desired)
        fixes += more
    return [*drops, *statements, *creates], fixes


def changed_objects(plan: Plan, fixes: Sequence[postprocess.Fix]) -> list[str]:
    """What differs, by object: the plan's, then the policies on platform tables we diffed."""
    return objects_of(plan) + [f.changed for f in fixes if f.changed]


def objects_of(plan: Plan) -> list[str]:
    """The objects a plan changes, by name: a new object's privileges and comment go with it."""
    added = {engine.object_name(d.id) for d in plan.deltas if d.verb == "add"}
    names: list[str] = []
    for d in plan.deltas:
        target = d.id.get("target")
        if d.id.get("kind") in ("acl", "comment") and isinstance(target, dict) and engine.object_name(target) in added:
            continue
        parent = {"kind": "table", "schema": d.id.get("schema"), "name": d.id.get("table")}
        if d.id.get("kind") in ("column", "constraint", "default") and engine.object_name(parent) in added:
            continue  # part of a new table's CREATE TABLE
        word = {
            "add": "declared, not built by the migrations",
            "remove": "built by the migrations, not declared",
            "set": "differs",
        }.get(d.verb, d.verb)
        name = f"{d.name}: {word}"
        if name not in names:
            names.append(name)
    return names


def render(statements: Sequence[str], plan: Plan) -> str:
    """The migration file's text: our header, the engine's session settings, the statements."""
    if not statements:
        return ""
    # As pg-delta renders a plan: its preamble settings but search_path (every name is qualified).
    settings = [f"set local {name} = {value};\n" for name, value in plan.preamble if name != "search_path"]
    body = "".join(s.rstrip().rstrip(";") + ";\n\n" for s in statements)
    return HEADER + "".join(settings) + ("\n" if settings else "") + body.rstrip("\n") + "\n"


def lint_generated(project: Project, text: str, filename: str) -> list[Finding]:
    """Our lint rules on the generated migration as the newest file of the migration set, before
    it is written (placed at its future path)."""
    with tempfile.TemporaryDirectory(prefix="supamigrate-diff-") as tmp:
        path = Path(tmp) / filename
        path.write_text(text, encoding="utf-8")
        ctx = read_context(project)
        version = filename.split("_", 1)[0]
        generated = SourceFile.read(path, MIGRATION, number=len(ctx.migrations), version=version)
        ctx.migrations = (*ctx.migrations, generated)
        target = project.migrations_dir / filename
        disabled = set(project.tool.lint.disable)  # [lint] disable holds here as in every lint run
        found = [f for f in check_rules(ctx) if f.file is not None and f.file.path == path and f.code not in disabled]
    return [dataclasses.replace(f, location=dataclasses.replace(f.file, path=target)) for f in found if f.file]


def _ephemeral(server: Server) -> EphemeralServer:
    if not isinstance(server, EphemeralServer):
        raise DiffError("diff builds on an ephemeral server only")
    return server


def _prove(project: Project, server: EphemeralServer, dbname: str, text: str, filename: str) -> None:
    """Apply ``text`` to ``dbname`` with the migration runner, as the next migration."""
    mset = MigrationSet.discover(project.migrations_dir)
    with tempfile.TemporaryDirectory(prefix="supamigrate-diff-") as tmp:
        path = Path(tmp) / filename
        path.write_text(text, encoding="utf-8")
        version, name = filename.removesuffix(".sql").split("_", 1)
        proven = MigrationSet(mset.directory, (*mset.migrations, Migration(path=path, version=version, name=name)))
        try:
            with connect(server.conninfo(dbname)) as conn:
                apply_project(conn, project, migrations=proven, stub=False, seed=False)
        except MigrationError as exc:
            raise DiffError(
                "the generated migration fails on the migrations' database: "
                + exc.render().replace(str(path), filename),
                hint="the engine wrote SQL PostgreSQL refuses; write this change by hand with `supamigrate new`",
            ) from exc


def diff(
    project: Project,
    *,
    name: str | None = None,
    server: ServerChoice | None = None,
    pgdelta: Path | None = None,
    allow_destructive: bool = False,
    statement_timeout_ms: int | None = None,
    now: datetime | None = None,
) -> DiffResult:
    """Diff the migrations against the declared schemas; with ``name``, write the migration.

    The file is ``supabase/migrations/<UTC version>_<name>.sql`` (``new_migration``), written only
    when the re-diff is empty and, unless ``allow_destructive``, no destructive-statement lint
    finding (SB007, SB008) is at error level. A declared file that fails raises MigrationError
    with its file:line; a missing engine, DiffError.
    """
    from ..commands import new_migration  # commands imports this module for check's drift

    started = time.perf_counter()
    if not project.schema_files():
        where = ", ".join(project.config.schema_paths) or "supabase/schemas/*.sql"
        raise ProjectError(
            f"no declared schema: no file matches {where}",
            hint="declare the schema in supabase/schemas/*.sql, or list the files in [db.migrations] schema_paths",
        )
    command = engine.find_pgdelta(pgdelta, project.root)
    result = DiffResult()
    stamp = (now or datetime.now(UTC)).replace(microsecond=0)
    filename = f"{stamp.strftime('%Y%m%d%H%M%S')}_{name or 'declared_schema'}.sql"
    with ProjectDatabase.start(
        project, target=Target.WORKING, seed=False, server=server or ServerChoice(),
        statement_timeout_ms=statement_timeout_ms, name=unique_name("supamigrate_diff_migrations"),
    ) as built:
        result.timings["build_migrations"] = time.perf_counter() - started
        ephemeral = _ephemeral(built.server)
        current = built.database.dbname
        t = time.perf_counter()
        desired = unique_name("supamigrate_diff_declared")
        build_database(
            ephemeral, desired, project, migrations=declared_set(project), template=BASE, seed=False,
            statement_timeout_ms=statement_timeout_ms,
        )
        try:
            result.timings["build_declared"] = time.perf_counter() - t
            if same_schema(ephemeral, current, desired):  # nothing to diff: no need for the engine
                result.timings["total"] = time.perf_counter() - started
                return result
            t = time.perf_counter()
            plan = engine.plan(command, ephemeral.url(current), ephemeral.url(desired))
            result.timings["engine"] = time.perf_counter() - t
            t = time.perf_counter()
            result.statements, result.fixes = migration_statements(plan, ephemeral.url(current), ephemeral.url(desired))
            result.objects = changed_objects(plan, result.fixes)
            result.timings["postprocess"] = time.perf_counter() - t
            if result.empty:
                result.timings["total"] = time.perf_counter() - started
                return result
            result.sql = render(result.statements, plan)
            t = time.perf_counter()
            _prove(project, ephemeral, current, result.sql, filename)
            # Equal fingerprints prove the re-diff empty; otherwise the engine says what is left.
            if not same_schema(ephemeral, current, desired):
                again = engine.plan(command, ephemeral.url(current), ephemeral.url(desired))
                result.residual_sql, left = migration_statements(
                    again, ephemeral.url(current), ephemeral.url(desired)
                )
                if result.residual_sql:
                    result.residual = changed_objects(again, left) or ["(statements only: see below)"]
            result.timings["prove"] = time.perf_counter() - t
        finally:
            drop_database(ephemeral, desired)
    t = time.perf_counter()
    result.findings = lint_generated(project, result.sql, filename)
    result.timings["lint"] = time.perf_counter() - t
    destructive = [f for f in result.findings if f.code in DESTRUCTIVE_RULES and f.level is Level.ERROR]
    if name is not None and result.ok:
        if destructive and not allow_destructive:
            result.blocked = True
        else:
            result.path = new_migration(project, name, now=stamp, sql=result.sql)
    result.timings["total"] = time.perf_counter() - started
    return result


def same_schema(server: Server, first: str, second: str) -> bool:
    """Whether two databases of ``server`` hold the same schema, by their catalog fingerprints."""
    prints = []
    for dbname in (first, second):
        with connect(server.conninfo(dbname)) as conn:
            prints.append(fingerprint(conn))
    return prints[0] == prints[1]


def drift_findings(
    project: Project, server: Server, migrations_db: str, *, pgdelta: Path | None = None
) -> list[Finding]:
    """``check``'s drift: one error finding per object the declared schemas and the migrations
    disagree on (none when the project declares no schema). ``migrations_db`` is the built one."""
    if not project.schema_files():
        return []
    ephemeral = _ephemeral(server)
    desired = unique_name("supamigrate_drift_declared")
    try:
        build_database(ephemeral, desired, project, migrations=declared_set(project), template=BASE, seed=False)
    except MigrationError as exc:
        state = f"{exc.sqlstate} " if exc.sqlstate else ""
        return [Finding(
            Level.ERROR, "schema-declared-fails", f"a declared schema file fails: {state}{exc.message}",
            FileLocation(exc.path, exc.line, exc.column), hint=exc.hint or "fix the file in supabase/schemas",
        )]
    try:
        # The common case, nothing drifted, is told by the catalogs alone: the engine (a Node
        # process reading both catalogs, seconds) runs only when the fingerprints differ.
        if same_schema(ephemeral, migrations_db, desired):
            return []
        try:
            command = engine.find_pgdelta(pgdelta, project.root)
        except DiffError as exc:
            return [Finding(Level.WARNING, "schema-drift-unchecked", f"supabase/schemas not compared: {exc.message}",
                            hint=exc.hint)]
        try:
            plan = engine.plan(command, ephemeral.url(migrations_db), ephemeral.url(desired))
            statements, fixes = migration_statements(plan, ephemeral.url(migrations_db), ephemeral.url(desired))
        except DiffError as exc:
            # The catalogs differ but the engine could not say how: check still reports the rest.
            first = exc.message.splitlines()[0] if exc.message else "pg-delta failed"
            return [Finding(
                Level.WARNING, "schema-drift-unchecked",
                f"supabase/schemas and supabase/migrations build different schemas, and the engine could not"
                f" plan the difference: {first}", hint=exc.hint, detail=exc.message,
            )]
    finally:
        drop_database(ephemeral, desired)
    if not statements:
        return []
    names = changed_objects(plan, fixes)
    hint = "run `supamigrate diff -f NAME` to write the migration that makes them agree"
    detail = "\n".join(s if len(s) < 400 else s[:400] + " ..." for s in statements)
    # The migration that would make them agree goes with the first finding only.
    return [
        Finding(Level.ERROR, "schema-drift", f"supabase/schemas and supabase/migrations disagree: {n}",
                ObjectLocation(n.rsplit(": ", 1)[0]), hint=hint, detail=detail if i == 0 else None)
        for i, n in enumerate(names or ["(see the statements)"])
    ]
