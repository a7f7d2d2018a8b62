"""The built-in upgrade checks: upgrade equals a fresh build, and every new migration applies on data.

Production does not rebuild from nothing: it holds the migrations of the base revision (what was
pushed before) and the rows put there since, and ``supabase db push`` applies the new migrations
on top. So, on one ephemeral server:

1. the base: the migrations the base revision holds, with their text *as of that revision* (read
   from git: a migration edited after it was pushed is what production ran, not what the file
   says now), then the seed as of that revision (the current seed, said in a note, where git does
   not hold it), built by ``build.build_database`` on the stubbed base;
2. the upgrade: the new migrations applied on it by the runner, as ``supabase db push`` would; one
   that fails on the seed's rows is the run's ``error``, at its file:line:col;
3. the comparison: the normalised dump (``dump.py``) of the upgraded database against that of a
   fresh build of every migration (``check``'s own build); each object that differs is a finding
   naming it (a table's columns one by one), not a raw text diff.

The base revision is the one lint's baseline uses (``lint/baseline.py``: ``--since``, the CI base,
``HEAD``); ``[lint] baseline = "<version>"`` counts the files up to that version as old, read from
disk (there is no revision to read them from). No new migration is a short info note and a pass.
"""

from __future__ import annotations

import difflib
import re
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from .build import BASE, ProjectDatabase, ServerChoice, Target, apply_project, build_database
from .database import connect, drop_database, unique_name
from .dump import dump_schema
from .errors import MigrationError, SupamigrateError
from .findings import FileLocation, Finding, Level, ObjectLocation
from .lint.baseline import resolve_baseline
from .lint.vcs import files_at, names_at
from .migrations import MIGRATION_FILE, Migration, MigrationListing, MigrationSet
from .project import Project
from .server import EphemeralServer

SOURCE = "upgrade"
DIFFERS = "upgrade-differs"
FIX = (
    "production gets the upgrade, not the fresh build: make the new migrations give the same schema"
    " on the base's data as from nothing (no DDL that depends on rows), and never edit a pushed"
    " migration (put the change in a new one)"
)


@dataclass(frozen=True)
class UpgradeBase:
    """What production is taken to hold: the old migrations' file names, the git revision their
    text and the seed are read from (None: read from disk), and what says so."""

    old: tuple[str, ...]
    new: tuple[Migration, ...]
    source: str
    ref: str | None
    known: bool = True


def upgrade_base(project: Project, *, since: str | None = None) -> UpgradeBase:
    """The base revision as lint's baseline resolves it; the old migrations are those it holds."""
    listing = MigrationListing.of(project.migrations_dir)
    baseline = resolve_baseline(project, listing, since=since)
    new = tuple(m for m in listing.migrations if m.path.resolve() not in baseline.applied)
    if not baseline.known:
        return UpgradeBase((), new, baseline.source, None, known=False)
    if baseline.revision is not None:
        held = names_at(project.migrations_dir, baseline.revision) or frozenset()
        old = tuple(sorted(n for n in held if MIGRATION_FILE.match(n)))
        return UpgradeBase(old, new, baseline.source, baseline.revision)
    old = tuple(m.filename for m in listing.migrations if m.path.resolve() in baseline.applied)
    return UpgradeBase(old, new, baseline.source, None)


@dataclass
class UpgradeReport:
    """What the upgrade check did and found. ``error`` is a new migration (or the runner) failing
    on the base's data; ``findings`` the objects that differ from a fresh build, the base that does
    not build, and info notes (nothing new, a seed read from disk). ``ok``: no error, no error finding."""

    project: Path
    base: UpgradeBase | None = None
    findings: list[Finding] = field(default_factory=list)
    error: SupamigrateError | None = None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None and not any(f.level is Level.ERROR for f in self.findings)


def note(message: str, hint: str | None = None) -> Finding:
    """An info line of the upgrade check."""
    return Finding(Level.INFO, "upgrade", message, hint=hint, source=SOURCE)


# -- the base, on disk ---------------------------------------------------------------------------


def _seed_names(project: Project) -> list[str]:
    return [p.relative_to(project.root.resolve()).as_posix() for p in project.seed_files()
            if p.is_relative_to(project.root.resolve())]


def materialise(project: Project, base: UpgradeBase, into: Path) -> tuple[Project, list[Finding], frozenset[str]]:
    """The base as a project under ``into``: its migrations and seed files as of the base revision,
    config and settings the project's own. Returns it, notes and warnings on what was read how, and
    the files (relative to the root) read from git."""
    found: list[Finding] = []
    migrations = into / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    rel = project.migrations_dir.relative_to(project.root).as_posix()
    seeds = _seed_names(project)
    if base.ref is not None:
        read = files_at(project.root, base.ref, [*(f"{rel}/{n}" for n in base.old), *seeds])
    else:
        read = {f"{rel}/{n}": (project.migrations_dir / n).read_bytes() for n in base.old}
        read.update(dict.fromkeys(seeds))
    for name in base.old:
        text = read.get(f"{rel}/{name}")
        assert text is not None, name
        (migrations / name).write_bytes(text)
        current = project.migrations_dir / name
        if current.is_file() and current.read_bytes() != text:
            found.append(Finding(
                Level.WARNING, "upgrade-edited", f"{name} was edited after {base.ref}, which holds it:"
                " production keeps the statements it ran then", FileLocation(current.relative_to(project.root)),
                hint="revert the edit and make the change in a new migration", source=SOURCE,
            ))
    from_disk = []
    for name in seeds:
        text = read.get(name)
        if text is None:
            text = (project.root / name).read_bytes()
            from_disk.append(name)
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text)
    if from_disk:
        where = f"{base.ref} does not hold it" if base.ref else f"the base ({base.source}) is not a git revision"
        found.append(note(
            f"the base's data is the current seed ({', '.join(from_disk)}): {where}",
            hint="pass --since REV to build the base, seed included, as of that git revision",
        ))
    from_git = frozenset(read) - frozenset(from_disk) if base.ref is not None else frozenset()
    return replace(project, root=into), found, from_git


def _base_failure(exc: SupamigrateError, base: UpgradeBase, into: Path, from_git: frozenset[str]) -> Finding:
    """The finding a base that does not build is, at its file (``REV:path`` when read from git)."""
    location = None
    message = exc.message
    if isinstance(exc, MigrationError):
        rel = exc.path.relative_to(into).as_posix() if exc.path.is_relative_to(into) else str(exc.path)
        shown = f"{base.ref}:{rel}" if rel in from_git else rel
        location = FileLocation(Path(shown), exc.line, exc.column)
        message = f"{exc.sqlstate + ' ' if exc.sqlstate else ''}{exc.message}"
    return Finding(
        Level.ERROR, "upgrade-base-failed", f"the base ({base.source}) does not build with its seed: {message}",
        location, hint="the upgrade check needs the base to build; pass --since REV to choose another base",
        source=SOURCE,
    )


# -- the comparison -----------------------------------------------------------------------------

_HEADER = re.compile(
    r"^-- Name: (?P<name>.*?); Type: (?P<type>[^;]*); Schema: (?P<schema>[^;]*); Owner: (?P<owner>.*)$"
)
# Objects pg_dump names "<table> <object>" (``profiles own_rows; Type: POLICY``).
_ON_TABLE = {"POLICY", "CONSTRAINT", "FK CONSTRAINT", "TRIGGER", "RULE", "DEFAULT"}
_TABLE_LIKE = {"TABLE", "VIEW", "MATERIALIZED VIEW", "FOREIGN TABLE"}

Key = tuple[str, str, str]  # (type, schema, name) as pg_dump's entry header says them


def dump_objects(text: str) -> dict[Key, str]:
    """A normalised dump split into its objects, by pg_dump's own ``-- Name: ...; Type: ...`` headers;
    each body holds its statements and the owner."""
    objects: dict[Key, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        m = _HEADER.match(line)
        if m:
            current = objects.setdefault((m["type"], m["schema"], m["name"]), [])
            current.append(f"-- owner: {m['owner']}")
            continue
        if current is not None:
            current.append(line)
    return {key: "\n".join(line for line in lines if line.strip() not in ("", "--")) for key, lines in objects.items()}


def object_name(key: Key) -> tuple[str, str]:
    """What a finding calls the object of ``key``: its kind (``table``) and name (``public.notes``)."""
    kind, schema, name = key
    qualified = name if schema == "-" else f"{schema}.{name}"
    if kind in _ON_TABLE and " " in name:
        table, obj = name.split(" ", 1)
        on = table if schema == "-" else f"{schema}.{table}"
        if kind == "DEFAULT":
            return "default", f"{on}.{obj}"
        return kind.lower(), f"{on}: {kind.lower()} {obj}"
    if kind in ("ACL", "COMMENT") and " " in name:  # ``TABLE entries``, ``COLUMN entries.body``
        what, obj = name.split(" ", 1)
        on = obj if schema == "-" else f"{schema}.{obj}"
        return f"{'grants' if kind == 'ACL' else 'comment'} on {what.lower()}", on
    if kind == "ROW SECURITY":
        return "row level security", qualified
    return kind.lower(), qualified


def _columns(body: str) -> list[tuple[str, str]]:
    """The column (and inline constraint) lines of a CREATE TABLE body, by name, in order."""
    lines = body.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("CREATE ") and line.endswith("(")), None)
    if start is None:
        return []
    out = []
    for line in lines[start + 1:]:
        if line.startswith(")"):
            break
        item = line.strip().rstrip(",")
        words = item.split()
        name = " ".join(words[:2]) if words[:1] == ["CONSTRAINT"] else (words[0] if words else "")
        out.append((name, item))
    return out


def _finding(message: str, name: str, detail: str | None = None) -> Finding:
    return Finding(Level.ERROR, DIFFERS, message, ObjectLocation(name), hint=FIX, detail=detail, source=SOURCE)


def _table_differences(key: Key, upgraded: str, fresh: str) -> list[Finding]:
    """A table's differences column by column; None-empty when only its other statements differ."""
    kind, qualified = object_name(key)
    up, fr = dict(_columns(upgraded)), dict(_columns(fresh))
    found = []
    for col in [*fr, *(c for c in up if c not in fr)]:
        what = "constraint" if col.startswith("CONSTRAINT ") else "column"
        shown = col.removeprefix("CONSTRAINT ")
        name = f"{qualified}: constraint {shown}" if what == "constraint" else f"{qualified}.{col}"
        if col not in up:
            found.append(_finding(f"{what} {name}: a fresh build has `{fr[col]}`, the upgrade lacks it", name))
        elif col not in fr:
            found.append(_finding(f"{what} {name}: the upgrade has `{up[col]}`, a fresh build lacks it", name))
        elif up[col] != fr[col]:
            found.append(_finding(f"{what} {name}: the upgrade has `{up[col]}`, a fresh build `{fr[col]}`", name))
    if not found and [c for c in up if c in fr] != [c for c in fr if c in up]:
        order = ", ".join(c for c in fr)
        found.append(_finding(f"{kind} {qualified}: its columns are in another order after the upgrade"
                              f" (a fresh build: {order})", qualified))
    return found


def schema_differences(upgraded: str, fresh: str) -> list[Finding]:
    """One finding per object that differs between two normalised dumps, in the fresh dump's order
    (objects only the upgrade has at the end); [] when only the order of entries differs."""
    if upgraded == fresh:
        return []
    up, fr = dump_objects(upgraded), dump_objects(fresh)
    found: list[Finding] = []
    for key in [*fr, *(k for k in up if k not in fr)]:
        kind, name = object_name(key)
        if key not in up:
            found.append(_finding(f"{kind} {name}: a fresh build creates it, the upgrade does not", name, fr[key]))
        elif key not in fr:
            found.append(_finding(f"{kind} {name}: the upgrade has it, a fresh build does not", name, up[key]))
        elif up[key] != fr[key]:
            columns = _table_differences(key, up[key], fr[key]) if key[0] in _TABLE_LIKE else []
            diff = "".join(difflib.unified_diff(
                fr[key].splitlines(keepends=True), up[key].splitlines(keepends=True),
                fromfile="fresh build", tofile="upgrade", lineterm="\n",
            ))
            whole = _finding(f"{kind} {name} differs after the upgrade from a fresh build", name, diff)
            found.extend(columns or [whole])
    return found


# -- the check ----------------------------------------------------------------------------------


def nothing_to_upgrade(base: UpgradeBase) -> Finding | None:
    """The info note when there is no upgrade to check: no base known, nothing new, an empty base."""
    if not base.known:
        return note(
            "upgrade not checked: no base revision is known (not a git work tree, no [lint] baseline)",
            hint="pass --since REV, or run `supamigrate baseline` to mark the applied migrations",
        )
    if not base.new:
        return note(f"upgrade not checked: no migration is new since the base ({base.source})")
    if not base.old:
        return note(
            f"upgrade not checked: the base ({base.source}) holds no migration, so the upgrade is the fresh build"
        )
    return None


def compare_upgrade(
    server: EphemeralServer,
    project: Project,
    base: UpgradeBase,
    *,
    fresh_conninfo: str,
    fresh_dump: str | None = None,
    statement_timeout_ms: int | None = None,
) -> UpgradeReport:
    """The upgrade check on ``server``, whose stubbed base database exists (a working build's
    server), against the fresh build at ``fresh_conninfo`` (its dump, when already made)."""
    report = UpgradeReport(project.root, base)
    started = time.perf_counter()
    skipped = nothing_to_upgrade(base)
    if skipped is not None:
        report.findings.append(skipped)
        return report
    name = unique_name("supamigrate_upgrade")
    with tempfile.TemporaryDirectory(prefix="supamigrate-upgrade-") as tmp:
        into = Path(tmp).resolve()
        old_project, found, from_git = materialise(project, base, into)
        report.findings.extend(found)
        t = time.perf_counter()
        try:
            old = MigrationSet.discover(old_project.migrations_dir)
            build_database(server, name, old_project, migrations=old, template=BASE, stub=False,
                           statement_timeout_ms=statement_timeout_ms)
        except SupamigrateError as exc:
            report.findings.append(_base_failure(exc, base, into, from_git))
            return report
        report.timings["base"] = time.perf_counter() - t
    try:
        t = time.perf_counter()
        with connect(server.conninfo(name)) as conn:
            try:
                # The runner as `supabase db push` runs it: the history says what is pending.
                apply_project(conn, project, stub=False, seed=False, statement_timeout_ms=statement_timeout_ms)
            except SupamigrateError as exc:
                report.error = exc
                return report
        report.timings["apply"] = time.perf_counter() - t
        t = time.perf_counter()
        upgraded = dump_schema(server.bindir, server.conninfo(name))
        fresh = fresh_dump if fresh_dump is not None else dump_schema(server.bindir, fresh_conninfo)
        report.timings["dump"] = time.perf_counter() - t
        differences = schema_differences(upgraded, fresh)
        report.findings.extend(differences)
        if not differences:
            count = f"{len(base.new)} new migration{'s' if len(base.new) != 1 else ''}"
            report.findings.append(note(
                f"upgrade checked: {count} on the base ({base.source}) and its seed give the schema a fresh build gives"
            ))
    finally:
        drop_database(server, name)
        report.timings["upgrade"] = time.perf_counter() - started
    return report


def check_upgrade(
    project: Project,
    *,
    since: str | None = None,
    server: ServerChoice | None = None,
    statement_timeout_ms: int | None = None,
) -> UpgradeReport:
    """The upgrade check on an ephemeral server of its own (for scripts and the pytest item).

    A fresh build that fails raises its MigrationError: there is nothing to compare with.
    """
    base = upgrade_base(project, since=since)
    skipped = nothing_to_upgrade(base)
    if skipped is not None:
        return UpgradeReport(project.root, base, [skipped])
    with ProjectDatabase.start(
        project, target=Target.WORKING, name=unique_name("supamigrate_fresh"),
        server=server or ServerChoice(),
        statement_timeout_ms=statement_timeout_ms,
    ) as built:
        assert isinstance(built.server, EphemeralServer)
        return compare_upgrade(built.server, project, base, fresh_conninfo=built.conninfo,
                               statement_timeout_ms=statement_timeout_ms)

