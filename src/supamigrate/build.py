"""The one path that builds a project's database: server → platform stub → migrations → seed → template.

Every command that needs the project's schema on a server walks it: ``check``, ``dump`` and
``lint --plpgsql`` build a working database (``WORKING``), the pytest plugin and pgTAP a sealed
template that tests get clones of (``TEMPLATE``), and ``apply`` runs the same steps on a database
it is given (``apply_project``).

The server is an ephemeral one, started with whatever settings the project's extensions need
(the platform layer says which: pg_cron's preload), or an external one named by a URL. An
ephemeral cluster is cached between runs, keyed by a hash of everything that shapes it: the
toolkit, the server version, the platform stub, config.toml, supamigrate.toml, the migrations and
the seed. A template hit skips initdb and the migration replay; a working database is built on a
cached stubbed cluster (CREATE DATABASE ... TEMPLATE supamigrate_base skips the stub). Any change to
those files rebuilds once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from . import __version__, pgtap
from .cache import Cache, Hit
from .database import ExternalServer, Server, connect, create_database, drop_database, unique_name
from .digest import digest
from .errors import ProjectError, SupamigrateError
from .migrations import ApplyResult, MigrationSet, ProgressCallback, apply_migrations, run_globals, run_seed
from .platform import apply_stub, stub_digest
from .platform.extensions import ExtensionPolicy, created_extensions, server_settings
from .project import TOOL_CONFIG, Project
from .server import EphemeralServer, PgInstall, ServerOptions
from .sql.text import SqlFile

if TYPE_CHECKING:
    from .settings import Settings

TEMPLATE = "supamigrate_template"
BASE = "supamigrate_base"
# A clone of the template kept ready in the cached cluster, so a warm start needs no CREATE DATABASE.
SPARE = "supamigrate_spare"

StepCallback = Callable[[str], None]


class Target(Enum):
    """What the build leaves on the server."""

    TEMPLATE = "template"  # a sealed template that tests clone (the plugin, pgTAP)
    WORKING = "working"  # a database to work in, dropped on stop (check, dump, lint --plpgsql)


@dataclass
class BuildResult:
    """A database built from a project: what the stub, the migrations and the seed did."""

    dbname: str
    stubbed: bool
    apply: ApplyResult
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)


# -- the steps, on one connection ------------------------------------------------------------------


def migrations_up_to(mset: MigrationSet, version: str | None) -> MigrationSet:
    """``mset`` restricted to its migrations up to and including ``version`` (None: all of them).

    ``version`` is a migration's version (``20251101050000``), its file name or the name without
    ``.sql``; one the set lacks is a ProjectError naming the versions it has. Skipped files stay
    (their warnings are the same at every version).
    """
    if version is None:
        return mset
    for index, m in enumerate(mset.migrations):
        if version in (m.version, m.filename, m.path.stem):
            return MigrationSet(mset.directory, mset.migrations[: index + 1], mset.skipped)
    known = ", ".join(mset.versions) or "none"
    raise ProjectError(
        f"no migration {version} in {mset.directory.name}/ (versions: {known})",
        hint="name a migration by its version (the digits before the first _) or its file name",
    )


ROLES_FILE = "roles.sql"


def setup_platform(
    conn: psycopg.Connection, project: Project, *, statement_timeout_ms: int | None = None
) -> tuple[bool, list[str]]:
    """The platform stub (if missing), then ``supabase/roles.sql`` on a cluster the stub set up.

    As ``supabase db reset`` after its platform setup: the file runs once per new cluster, before
    the migrations, as ``postgres`` (``migrations.run_globals``). Roles belong to the cluster, so
    a cluster whose platform roles were there before (an earlier run on a server reached by URL,
    a cached cluster) already has them. Returns whether the stub was installed, and the warnings.
    """
    row = conn.execute("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticator')").fetchone()
    conn.rollback()
    stubbed = apply_stub(conn)
    roles = project.supabase_dir / ROLES_FILE
    if not stubbed or (row is not None and row[0]) or not roles.is_file():
        return stubbed, []
    warnings = run_globals(
        conn, roles, statement_timeout_ms=statement_timeout_ms,
        allow_lost_work=project.tool.migrations.allow_lost_work,
    )
    return stubbed, warnings


def apply_project(
    conn: psycopg.Connection,
    project: Project,
    *,
    migrations: MigrationSet | None = None,
    stub: bool = True,
    seed: bool = True,
    include_all: bool = False,
    statement_timeout_ms: int | None = None,
    on_progress: ProgressCallback | None = None,
    on_step: StepCallback | None = None,
    up_to: str | None = None,
) -> BuildResult:
    """Apply the platform stub (if missing), the pending migrations and the pending seeds on ``conn``.

    ``up_to`` stops after that migration (see ``migrations_up_to``); the seed, when asked for, follows it.
    """
    started = time.perf_counter()
    mset = migrations if migrations is not None else MigrationSet.discover(project.migrations_dir)
    mset = migrations_up_to(mset, up_to)
    extensions = ExtensionPolicy.for_project(project)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    if on_step:
        on_step("platform stub")
    stubbed, warnings = (
        setup_platform(conn, project, statement_timeout_ms=statement_timeout_ms) if stub else (False, [])
    )
    timings["stub"] = time.perf_counter() - t
    t = time.perf_counter()
    result = apply_migrations(
        conn,
        mset,
        statement_timeout_ms=statement_timeout_ms,
        include_all=include_all,
        on_progress=on_progress,
        extensions=extensions,
        allow_lost_work=project.tool.migrations.allow_lost_work,
    )
    result.warnings[:0] = warnings
    timings["migrations"] = time.perf_counter() - t
    if seed:
        t = time.perf_counter()
        if on_step:
            on_step("seed")
        result.seeded = run_seed(
            conn, project.seed_files(), root=project.root, statement_timeout_ms=statement_timeout_ms,
            extensions=extensions, allow_lost_work=project.tool.migrations.allow_lost_work,
        )
        timings["seed"] = time.perf_counter() - t
    return BuildResult(str(conn.info.dbname), stubbed, result, time.perf_counter() - started, timings)


def build_database(
    server: Server,
    dbname: str,
    project: Project,
    *,
    migrations: MigrationSet | None = None,
    stub: bool = True,
    seed: bool = True,
    template: str | None = None,
    statement_timeout_ms: int | None = None,
    on_progress: ProgressCallback | None = None,
    on_step: StepCallback | None = None,
    up_to: str | None = None,
) -> BuildResult:
    """Create ``dbname`` on ``server`` (from ``template`` if given) and apply the stub, migrations, seed.

    ``up_to`` stops after that migration (see ``migrations_up_to``). On failure the half-built
    database is dropped and the error re-raised.
    """
    started = time.perf_counter()
    create_database(server, dbname, template=template)
    try:
        with connect(server.conninfo(dbname)) as conn:
            result = apply_project(
                conn, project, migrations=migrations, stub=stub, seed=seed,
                statement_timeout_ms=statement_timeout_ms, on_progress=on_progress, on_step=on_step,
                up_to=up_to,
            )
    except BaseException:
        drop_database(server, dbname)
        raise
    result.seconds = time.perf_counter() - started
    return result


# -- what shapes a server ------------------------------------------------------------------------


def project_server_settings(project: Project, mset: MigrationSet, *, database: str, install: PgInstall) -> str:
    """The server options the extensions the migrations and seeds create need, for ``database``."""
    files = [*mset.migrations, *(SqlFile(p) for p in project.seed_files())]
    created = created_extensions(s for f in files for s in f.statements)
    if not created:  # nothing to ask for: spares the pg_config run that finds pkglibdir
        return ""
    return server_settings(created, database=database, pkglibdir=install.pkglibdir)


def _file_parts(root: Path, paths: Iterable[Path]) -> list[str | bytes]:
    parts: list[str | bytes] = []
    for p in paths:
        parts.append(p.resolve().relative_to(root).as_posix() if p.is_relative_to(root) else str(p))
        parts.append(p.read_bytes() if p.is_file() else b"<missing>")
    return parts


def base_key(install: PgInstall, project: Project) -> str:
    """What shapes a stubbed, empty cluster: toolkit, server build, stub, toolkit settings, roles.sql."""
    files = [project.root / TOOL_CONFIG, project.supabase_dir / ROLES_FILE]
    return digest([__version__, install.version_line, stub_digest(), *_file_parts(project.root, files)])


def template_key(
    install: PgInstall, project: Project, mset: MigrationSet, *, seed: bool, extra: Iterable[str] = ()
) -> str:
    """What shapes the migrated template: the base, config.toml, the migrations, the seed files."""
    files = [project.supabase_dir / "config.toml", *(m.path for m in mset.migrations)]
    if seed:
        files.extend(project.seed_files())
    return digest([base_key(install, project), str(seed), *extra, *_file_parts(project.root, files)])


def _meta(result: BuildResult) -> dict[str, Any]:
    return {
        "dbname": result.dbname,
        "stubbed": result.stubbed,
        "applied": [m.filename for m in result.apply.applied],
        "seeded": [str(p) for p in result.apply.seeded],
        "warnings": result.apply.warnings,
        "timings": result.timings,
        "seconds": result.seconds,
    }


def _from_meta(meta: dict[str, Any], mset: MigrationSet) -> BuildResult:
    applied = set(meta.get("applied", []))
    apply = ApplyResult(
        applied=[m for m in mset.migrations if m.filename in applied],
        seeded=[Path(p) for p in meta.get("seeded", [])],
        warnings=list(meta.get("warnings", [])),
    )
    return BuildResult(meta["dbname"], bool(meta.get("stubbed")), apply, float(meta.get("seconds", 0.0)), {})


def _seal(server: Server, dbname: str) -> None:
    """Nobody works in a template itself; tests and checks get clones of it."""
    with connect(server.conninfo(), autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(sql.Identifier(dbname))
        )


def _start_ephemeral(
    install: PgInstall,
    *,
    cache: Cache | None,
    kind: str,
    key: str,
    extra_settings: str,
    os_user: str | None,
    run_root: Path | None,
) -> tuple[EphemeralServer, Hit | None]:
    """An ephemeral server, started on a cached cluster of ``kind``-``key`` when the cache has one."""
    if cache is not None:
        cache.prepare()
    server = EphemeralServer(
        ServerOptions(
            install=install,
            major=install.major,
            tmp_root=cache.runs if cache else run_root,
            extra_settings=extra_settings,
            os_user=os_user,
        )
    )
    hits: list[Hit] = []

    def adopt(datadir: Path) -> None:
        assert cache is not None
        found = cache.checkout(kind, key, datadir)
        if found:
            hits.append(found)

    server.start(adopt=adopt if cache is not None else None)
    return server, hits[0] if hits else None


@dataclass(frozen=True)
class ServerChoice:
    """Where and how an ephemeral server runs; every field None means its default.

    ``pg_bin`` is the directory of the server binaries, ``os_user`` who runs the server under
    root, ``run_root`` where its run directory goes (a ``cache`` puts it in the cache instead),
    and ``cache`` the cache of clusters (None: every start runs initdb). The faces build one from
    their ``Settings`` with ``from_settings``. A server named by a URL uses none of it.
    """

    pg_bin: str | os.PathLike[str] | None = None
    os_user: str | None = None
    run_root: str | os.PathLike[str] | None = None
    cache: Cache | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ServerChoice:
        """The choice a run's settings make (no cache with ``cache`` off)."""
        return cls(
            pg_bin=settings.pg_bin,
            os_user=settings.os_user,
            run_root=settings.run_dir,
            cache=Cache(settings.cache_dir, max_entries=settings.cache_max_entries, max_mb=settings.cache_max_mb)
            if settings.cache
            else None,
        )


# -- the build -----------------------------------------------------------------------------------


@dataclass
class ProjectDatabase:
    """A started server with the project built on it; ``stop()`` (or leaving ``with``) ends it.

    ``database`` is the sealed template (``Target.TEMPLATE``: hand out ``clone``/``take_spare``) or
    the working database (``Target.WORKING``: work in it directly; dropped on stop). An ephemeral
    server's cluster goes back to the cache on stop; on an external server only what the build
    created is dropped.
    """

    server: Server
    database: BuildResult
    target: Target
    cache_hit: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    _salvage: Callable[[Path], object] | None = None
    _spare_taken: bool = False

    @classmethod
    def start(
        cls,
        project: Project,
        *,
        target: Target = Target.TEMPLATE,
        db_url: str | None = None,
        server: ServerChoice = ServerChoice(),
        seed: bool = True,
        with_pgtap: bool = False,
        name: str | None = None,
        statement_timeout_ms: int | None = None,
        on_progress: ProgressCallback | None = None,
        on_step: StepCallback | None = None,
    ) -> ProjectDatabase:
        """Start (or reach) a server and build the project on it.

        ``server`` says where the binaries are, who runs the server under root, where its run
        directory goes and which cache holds its cluster (``ServerChoice()``: the defaults; the
        faces pass ``ServerChoice.from_settings``). ``with_pgtap`` creates pgTAP in the template,
        as ``supabase test db`` has it. ``name`` names the working database (default: a unique
        ``supamigrate_<target>_...``).
        """
        started = time.perf_counter()
        mset = MigrationSet.discover(project.migrations_dir)
        template = target is Target.TEMPLATE
        dbname = TEMPLATE if template else name or unique_name("supamigrate_working")
        steps: dict[str, Any] = {
            "seed": seed,
            "statement_timeout_ms": statement_timeout_ms,
            "on_progress": on_progress,
            "on_step": on_step,
        }
        if db_url:
            external = ExternalServer(db_url)
            built_name = unique_name(TEMPLATE) if template else dbname
            result = build_database(external, built_name, project, migrations=mset, **steps)
            if with_pgtap:
                with connect(external.conninfo(built_name)) as conn:
                    pgtap.install(conn)
            return cls(external, result, target, timings={"server": 0.0, **result.timings})
        cache = server.cache
        install = PgInstall.find(server.pg_bin, major=project.config.major_version)
        if template:
            extra = ("pgtap", str(pgtap.available_on_disk(install.bindir))) if with_pgtap else ()
            kind, key = "template", template_key(install, project, mset, seed=seed, extra=extra)
        else:
            kind, key = "base", base_key(install, project)
        ephemeral, hit = _start_ephemeral(
            install,
            cache=cache,
            kind=kind,
            key=key if cache is not None else "",
            # pg_cron lives in the database cron.database_name names; clones copy it from there.
            extra_settings=project_server_settings(project, mset, database=dbname, install=install),
            os_user=server.os_user,
            run_root=Path(server.run_root) if server.run_root else None,
        )
        timings = {"server": time.perf_counter() - started}
        base_ready = False
        try:
            if template:
                result, meta = cls._template(ephemeral, hit, project, mset, with_pgtap=with_pgtap, steps=steps)
            else:
                meta = _prepare_base(ephemeral, hit, project, statement_timeout_ms)
                base_ready = True
                result = build_database(ephemeral, dbname, project, migrations=mset, template=BASE, **steps)
        except Exception:
            # A migration that fails leaves the stubbed base as it was (the build drops its own
            # database): the cluster goes back to the cache, so the edit-and-check-again loop stays
            # warm. A template that failed, or an interrupt, is never kept.
            keep = base_ready and cache is not None and _holds_only(ephemeral, {BASE})
            ephemeral.stop(salvage=_checkin(cache, kind, key, meta) if keep else None)
            raise
        except BaseException:
            ephemeral.stop()
            raise
        timings.update(result.timings)
        salvage = _checkin(cache, kind, key, meta)
        return cls(ephemeral, result, target, cache_hit=hit is not None, timings=timings, _salvage=salvage)

    @staticmethod
    def _template(
        server: EphemeralServer,
        hit: Hit | None,
        project: Project,
        mset: MigrationSet,
        *,
        with_pgtap: bool,
        steps: dict[str, Any],
    ) -> tuple[BuildResult, dict[str, Any]]:
        if hit:
            result = _from_meta(hit.meta, mset)
            return result, _meta(result)
        built_at = time.perf_counter()
        result = build_database(server, TEMPLATE, project, migrations=mset, **steps)
        if with_pgtap:
            with connect(server.conninfo(TEMPLATE)) as conn:
                pgtap.install(conn)
        _seal(server, TEMPLATE)
        result.timings["build"] = time.perf_counter() - built_at
        return result, _meta(result)

    @property
    def conninfo(self) -> str:
        """A connection string to the built database (as the superuser, or the URL's user)."""
        return self.server.conninfo(self.database.dbname)

    def clone(self, prefix: str) -> str:
        """A new database copied from the built one; returns its name."""
        name = unique_name(prefix)
        create_database(self.server, name, template=self.database.dbname)
        return name

    def take_spare(self, prefix: str) -> str:
        """The ready clone a cached cluster carries (renamed to a name of this run's), else a new clone."""
        if self.cache_hit and not self._spare_taken and self.target is Target.TEMPLATE:
            self._spare_taken = True
            name = unique_name(prefix)
            with connect(self.server.conninfo(), autocommit=True) as admin:
                exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (SPARE,)).fetchone()
                if exists:
                    admin.execute(
                        sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(SPARE), sql.Identifier(name))
                    )
                    return name
        return self.clone(prefix)

    def stop(self) -> None:
        """Drop what this run made; stop an ephemeral server, returning its cluster to the cache."""
        if not isinstance(self.server, EphemeralServer):
            drop_database(self.server, self.database.dbname)
            return
        salvage = self._salvage
        if self.server.running:
            try:
                if self.target is Target.WORKING:
                    # The cached cluster holds the stubbed base only, never a run's working database.
                    drop_database(self.server, self.database.dbname)
                elif salvage is not None:
                    # Leave the next run a ready clone; its cost lands here, not on the next start.
                    create_database(self.server, SPARE, template=self.database.dbname)
            except (SupamigrateError, psycopg.Error):
                if self.target is Target.WORKING:
                    salvage = None
        self.server.stop(salvage=salvage)

    def __enter__(self) -> ProjectDatabase:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def _prepare_base(
    server: EphemeralServer, hit: Hit | None, project: Project, statement_timeout_ms: int | None
) -> dict[str, Any]:
    """Make the stubbed, empty database every working database is copied from (a miss only),
    with roles.sql run on the cluster (see ``setup_platform``).

    A cached cluster that lacks the base database (seen when runs of differently built
    toolkits of one version shared a cache directory) is treated as a miss, not trusted.
    """
    if hit is not None and not _has_database(server, BASE):
        hit = None
    if hit is None:
        create_database(server, BASE)
        with connect(server.conninfo(BASE)) as conn:
            setup_platform(conn, project, statement_timeout_ms=statement_timeout_ms)
        _seal(server, BASE)
    return {"dbname": BASE}


def _has_database(server: EphemeralServer, name: str) -> bool:
    with connect(server.conninfo(), autocommit=True) as admin:
        return admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def _holds_only(server: EphemeralServer, kept: set[str]) -> bool:
    """Whether the cluster's own databases are just ``kept`` (what a cached cluster may hold)."""
    try:
        with connect(server.conninfo(), autocommit=True) as admin:
            rows = admin.execute(
                "SELECT datname FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1')"
            ).fetchall()
    except (SupamigrateError, psycopg.Error):
        return False
    return {str(r[0]) for r in rows} <= kept


def _checkin(cache: Cache | None, kind: str, key: str, meta: dict[str, Any]) -> Callable[[Path], object] | None:
    """What ``EphemeralServer.stop(salvage=...)`` needs to put the cluster back under ``kind-key``."""
    if cache is None:
        return None
    return lambda datadir: cache.checkin(kind, key, datadir, meta)
