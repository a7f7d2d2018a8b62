"""A server holding a project's migrated template database: taken from the cache, or built.

The plugin's session and ``supamigrate check`` both walk this path. On an ephemeral server the
cluster is cached between runs, keyed by a hash of everything that shapes it: the toolkit, the
server version, the platform stub, config.toml, supamigrate.toml, the migrations and the seed. A
hit skips initdb and the migration replay; any change to those files rebuilds once.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from . import __version__
from .cache import Cache, Hit, digest
from .database import BuildResult, ExternalServer, Server, build, connect, create_database, drop_database, unique_name
from .errors import SupamigrateError
from .migrations import ApplyResult, MigrationSet, ProgressCallback
from .platform import apply_stub, stub_digest
from .platform.extensions import cron_database
from .project import TOOL_CONFIG, Project
from .server import EphemeralServer, ServerOptions

TEMPLATE = "supamigrate_template"
BASE = "supamigrate_base"
# A clone of the template kept ready in the cached cluster, so a warm start needs no CREATE DATABASE.
SPARE = "supamigrate_spare"


def _file_parts(root: Path, paths: Iterable[Path]) -> list[str | bytes]:
    parts: list[str | bytes] = []
    for p in paths:
        parts.append(p.resolve().relative_to(root).as_posix() if p.is_relative_to(root) else str(p))
        parts.append(p.read_bytes() if p.is_file() else b"<missing>")
    return parts


def base_key(server: EphemeralServer, project: Project) -> str:
    """What shapes a stubbed, empty cluster: toolkit, server build, stub, toolkit settings."""
    return digest(
        [__version__, server.version_line, stub_digest(), *_file_parts(project.root, [project.root / TOOL_CONFIG])]
    )


def template_key(
    server: EphemeralServer, project: Project, mset: MigrationSet, *, seed: bool, extra: Iterable[str] = ()
) -> str:
    """What shapes the migrated template: the base, config.toml, the migrations, the seed files."""
    files = [project.supabase_dir / "config.toml", *(m.path for m in mset.migrations)]
    if seed:
        files.extend(project.seed_files())
    return digest([base_key(server, project), str(seed), *extra, *_file_parts(project.root, files)])


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


def _seal(server: EphemeralServer, dbname: str) -> None:
    """Nobody works in a template itself; tests and checks get clones of it."""
    with connect(server.conninfo(), autocommit=True) as admin:
        admin.execute(
            sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false").format(sql.Identifier(dbname))
        )


@dataclass
class _CachedStart:
    """An ephemeral server started on a cached cluster of ``kind`` when one matches its key."""

    server: EphemeralServer
    hit: Hit | None
    cache: Cache | None
    kind: str
    key: str

    @classmethod
    def start(
        cls,
        project: Project,
        pg_bin: Path | None,
        cache: Cache | None,
        kind: str,
        key_of: Callable[[EphemeralServer], str],
        cron_database: str | None = None,
        *,
        os_user: str | None = None,
        run_root: Path | None = None,
    ) -> _CachedStart:
        if cache is not None:
            cache.prepare()
        server = EphemeralServer(
            ServerOptions(
                bindir=pg_bin,
                major=project.config.major_version,
                tmp_root=cache.runs if cache else run_root,
                cron_database=cron_database,
                os_user=os_user,
            )
        )
        key = key_of(server) if cache is not None else ""
        hits: list[Hit] = []

        def adopt(datadir: Path) -> None:
            assert cache is not None
            found = cache.checkout(kind, key, datadir)
            if found:
                hits.append(found)

        server.start(adopt=adopt if cache is not None else None)
        return cls(server, hits[0] if hits else None, cache, kind, key)

    def salvage(self, meta: dict[str, Any]) -> Callable[[Path], object] | None:
        """What ``stop(salvage=...)`` needs to check the cluster back in under this key."""
        cache = self.cache
        if cache is None:
            return None
        return lambda datadir: cache.checkin(self.kind, self.key, datadir, meta)


@dataclass
class TemplateServer:
    """A started server with the migrated template on it. ``stop()`` puts the cluster back in the cache."""

    server: Server
    template: BuildResult
    cache_hit: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    _salvage: Callable[[Path], object] | None = None
    _spare_taken: bool = False

    @classmethod
    def start(
        cls,
        project: Project,
        *,
        db_url: str | None = None,
        pg_bin: Path | None = None,
        seed: bool = True,
        statement_timeout_ms: int | None = None,
        cache: Cache | None = None,
        extra_key: Iterable[str] = (),
        prepare: Callable[[psycopg.Connection], object] | None = None,
        on_progress: ProgressCallback | None = None,
        os_user: str | None = None,
        run_root: Path | None = None,
    ) -> TemplateServer:
        """Start (or reach) a server and make sure the template is on it.

        ``prepare(conn)`` runs on a freshly built template as the superuser (e.g. to create pgTAP);
        whatever it depends on belongs in ``extra_key``, since a cache hit skips it.
        """
        started = time.perf_counter()
        mset = MigrationSet.discover(project.migrations_dir)
        if db_url:
            external = ExternalServer(db_url)
            result = build(
                external,
                unique_name(TEMPLATE),
                project,
                migrations=mset,
                seed=seed,
                statement_timeout_ms=statement_timeout_ms,
                on_progress=on_progress,
            )
            if prepare is not None:
                with connect(external.conninfo(result.dbname)) as conn:
                    prepare(conn)
            return cls(external, result, timings={"build": time.perf_counter() - started})
        started_on = _CachedStart.start(
            project,
            pg_bin,
            cache,
            "template",
            lambda server: template_key(server, project, mset, seed=seed, extra=extra_key),
            # pg_cron lives in the database cron.database_name names; clones copy it from there.
            cron_database=cron_database(project, mset, TEMPLATE),
            os_user=os_user,
            run_root=run_root,
        )
        server, hit = started_on.server, started_on.hit
        timings = {"server": time.perf_counter() - started}
        try:
            if hit:
                result = _from_meta(hit.meta, mset)
            else:
                built_at = time.perf_counter()
                result = build(
                    server,
                    TEMPLATE,
                    project,
                    migrations=mset,
                    seed=seed,
                    statement_timeout_ms=statement_timeout_ms,
                    on_progress=on_progress,
                )
                if prepare is not None:
                    with connect(server.conninfo(TEMPLATE)) as conn:
                        prepare(conn)
                _seal(server, TEMPLATE)
                timings["build"] = time.perf_counter() - built_at
        except BaseException:
            server.stop()
            raise
        return cls(
            server, result, cache_hit=hit is not None, timings=timings, _salvage=started_on.salvage(_meta(result))
        )

    def clone(self, prefix: str) -> str:
        """A new database copied from the template; returns its name."""
        name = unique_name(prefix)
        create_database(self.server, name, template=self.template.dbname)
        return name

    def take_spare(self, prefix: str) -> str:
        """The ready clone a cached cluster carries (renamed to a name of this run's), else a new clone."""
        if self.cache_hit and not self._spare_taken:
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
        if isinstance(self.server, EphemeralServer):
            if self._salvage is not None and self.server.running:
                # Leave the next run a ready clone; its cost lands here, not on the next start.
                with contextlib.suppress(SupamigrateError, psycopg.Error):
                    create_database(self.server, SPARE, template=self.template.dbname)
            self.server.stop(salvage=self._salvage)
        else:
            drop_database(self.server, self.template.dbname)


@dataclass
class BaseServer:
    """An ephemeral server whose cluster holds a stubbed, empty database (cached like templates).

    ``supamigrate check`` builds on it: CREATE DATABASE ... TEMPLATE supamigrate_base skips the stub,
    and a warm cache skips initdb.
    """

    server: EphemeralServer
    cache_hit: bool
    _salvage: Callable[[Path], object] | None = None

    @classmethod
    def start(
        cls,
        project: Project,
        *,
        pg_bin: Path | None = None,
        cache: Cache | None = None,
        cron_database: str | None = None,
        os_user: str | None = None,
        run_root: Path | None = None,
    ) -> BaseServer:
        """Start on a cached stubbed cluster or make one; ``cron_database`` may hold the real pg_cron."""
        started_on = _CachedStart.start(
            project,
            pg_bin,
            cache,
            "base",
            lambda server: base_key(server, project),
            cron_database=cron_database,
            os_user=os_user,
            run_root=run_root,
        )
        server = started_on.server
        try:
            if started_on.hit is None:
                create_database(server, BASE)
                with connect(server.conninfo(BASE)) as conn:
                    apply_stub(conn)
                _seal(server, BASE)
        except BaseException:
            server.stop()
            raise
        return cls(server, started_on.hit is not None, started_on.salvage({"dbname": BASE}))

    def stop(self) -> None:
        self.server.stop(salvage=self._salvage)
