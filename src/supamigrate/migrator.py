"""Databases at a migration version, filled by the caller and upgraded by the runner (issue 16).

``VersionTemplates`` keeps, on one server, a sealed template per migration prefix a caller asks
for: the platform stub and the migrations up to and including a version (and, on request, the
seed on top). A version's template is made from the nearest one below it: cloned, and only the
migrations in between applied, so asking for ten versions replays the history once, not ten times.
Every template is made by ``build.build_database``, the one build path.

On an ephemeral server the templates are named by a hash of everything that shaped them and stay
in its cluster, which goes back to the cache on stop like the main template: the next run with
the same files finds them. Elsewhere (a server reached by URL, or ``keep=False``) they carry a
name of this run's own and are dropped at ``close``, so parallel workers never share one.

``Migrator`` is one caller's view (a test, a script): ``at(version)`` gives a connection to a
database of its own, cloned from that version's template; ``upgrade(to=None)`` applies the next
migrations to it exactly as ``supamigrate apply`` does, on whatever the caller put there.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from . import __version__
from .build import (
    ROLES_FILE,
    ProjectDatabase,
    ServerChoice,
    Target,
    _file_parts,
    _seal,
    apply_project,
    build_database,
    migrations_up_to,
)
from .database import Server, connect, create_database, drop_database, unique_name
from .digest import digest
from .errors import ProjectError, SupamigrateError
from .migrations import ApplyResult, MigrationSet
from .platform import stub_digest
from .project import TOOL_CONFIG, Project

# Every version template's name starts so; the rest is the version and a hash of what shaped it.
VERSION_TEMPLATE = "supamigrate_at"
_NAME_MAX = 63  # PostgreSQL's identifier limit (NAMEDATALEN - 1)
# Kept templates a cluster goes back to the cache with: each is a database of ~10 MB, and the
# cache is bounded in megabytes, so more would push whole clusters out of it.
KEPT_TEMPLATES = 4


@dataclass(frozen=True)
class TemplateBuild:
    """One version template made: its version ("" for the stub alone), whether the seed is in it,
    the version it was cloned from (None: built on an empty database), the migrations applied."""

    version: str
    seed: bool
    start: str | None
    applied: int
    seconds: float


class VersionTemplates:
    """Sealed templates per migration prefix on ``server``, made incrementally on demand.

    ``keep`` leaves them on the server under names made of their content's hash (the ephemeral
    server whose cluster the cache keeps; at ``close`` at most ``max_kept`` stay, those this run
    used first); without it they are this instance's own and ``close`` drops them. ``builds``
    lists what this instance had to make, in order.
    """

    def __init__(
        self,
        server: Server,
        project: Project,
        *,
        migrations: MigrationSet | None = None,
        keep: bool = False,
        max_kept: int = KEPT_TEMPLATES,
        statement_timeout_ms: int | None = None,
    ) -> None:
        self.server = server
        self.max_kept = max_kept
        self.project = project
        self.mset = migrations if migrations is not None else MigrationSet.discover(project.migrations_dir)
        self.keep = keep
        self.statement_timeout_ms = statement_timeout_ms
        self.builds: list[TemplateBuild] = []
        self._made: list[str] = []
        self._used: list[str] = []  # most recently used last
        self._known: set[str] | None = None
        # Not kept: a token of this instance's own makes its names differ from any other's.
        self._own = "" if keep else uuid.uuid4().hex
        self._hashes = self._prefix_hashes()

    def _prefix_hashes(self) -> list[str]:
        """The hash of each prefix: [0] the stub alone, [k] the stub and the first k migrations."""
        root, supabase = self.project.root, self.project.supabase_dir
        shaping = [root / TOOL_CONFIG, supabase / ROLES_FILE, supabase / "config.toml"]
        h = digest([__version__, stub_digest(), self._own, *_file_parts(root, shaping)])
        hashes = [h]
        for m in self.mset.migrations:
            # Rolling: a prefix's hash covers every file before it, and costs one file to extend.
            h = digest([h, *_file_parts(root, [m.path])])
            hashes.append(h)
        return hashes

    def _seed_hash(self, count: int) -> str:
        return digest([self._hashes[count], "seed", *_file_parts(self.project.root, self.project.seed_files())])

    def _name(self, count: int, h: str, *, seed: bool) -> str:
        version = self.version_at(count) or "stub"
        suffix = f"_{h[:16]}{'_seed' if seed else ''}"
        return f"{VERSION_TEMPLATE}_{version}"[: _NAME_MAX - len(suffix)] + suffix

    def count(self, version: str | None) -> int:
        """How many migrations the prefix ending at ``version`` holds (None: all of them)."""
        return len(migrations_up_to(self.mset, version).migrations)

    def version_at(self, count: int) -> str:
        """The version of the prefix of ``count`` migrations ("" for the stub alone)."""
        return self.mset.migrations[count - 1].version if count else ""

    def template(self, version: str | None, *, seed: bool = False) -> str:
        """The name of the sealed template at ``version`` (None: the last), made if missing.

        A migration that fails on the way raises its ``MigrationError`` (file:line:col); with
        ``seed``, so does a seed file that does not fit the schema at that version.
        """
        count = self.count(version)
        existing = self._existing()
        name = self._prefix(count, existing)
        if seed:
            seeded = self._name(count, self._seed_hash(count), seed=True)
            if seeded not in existing:
                self._build(seeded, count, start=name, start_count=count, seed=True)
            name = seeded
        if name in self._used:
            self._used.remove(name)
        self._used.append(name)
        return name

    def _prefix(self, count: int, existing: set[str]) -> str:
        names = [self._name(k, self._hashes[k], seed=False) for k in range(count + 1)]
        if names[count] in existing:
            return names[count]
        below = [k for k in range(count) if names[k] in existing]
        start = below[-1] if below else None
        self._build(names[count], count, start=names[start] if start is not None else None, start_count=start)
        return names[count]

    def _build(self, name: str, count: int, *, start: str | None, start_count: int | None, seed: bool = False) -> None:
        """Make ``name`` from ``start`` (or an empty database): built under a name of its own, sealed,
        then renamed, so a template under a final name is always whole."""
        started = time.perf_counter()
        building = unique_name("supamigrate_building")
        mset = MigrationSet(self.mset.directory, self.mset.migrations[:count], self.mset.skipped)
        result = build_database(
            self.server,
            building,
            self.project,
            migrations=mset,
            seed=seed,
            template=start,
            statement_timeout_ms=self.statement_timeout_ms,
        )
        try:
            _seal(self.server, building)
            with connect(self.server.conninfo(), autocommit=True) as admin:
                admin.execute(
                    sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(building), sql.Identifier(name))
                )
        except psycopg.errors.DuplicateDatabase:
            # Another session sharing the server made the same template first: the same files, so use its.
            _drop_template(self.server, building)
        except BaseException:
            _drop_template(self.server, building)
            raise
        else:
            self._made.append(name)
        if self._known is not None:
            self._known.add(name)
        self.builds.append(
            TemplateBuild(
                version=self.version_at(count),
                seed=seed,
                start=None if start_count is None else self.version_at(start_count),
                applied=len(result.apply.applied),
                seconds=time.perf_counter() - started,
            )
        )

    def _existing(self) -> set[str]:
        # Read once: after that only this instance adds templates it needs (others' are found by
        # the rename above), so an ``at`` costs no extra round trip.
        if self._known is None:
            self._known = set(self._on_server())
        return self._known

    def _on_server(self) -> list[str]:
        """The version templates on the server, oldest first."""
        with connect(self.server.conninfo(), autocommit=True) as admin:
            rows = admin.execute(
                "SELECT datname FROM pg_database WHERE datistemplate AND starts_with(datname, %s) ORDER BY oid",
                (VERSION_TEMPLATE + "_",),
            ).fetchall()
        return [str(r[0]) for r in rows]

    def close(self) -> None:
        """Drop the templates this instance made, or (kept) those beyond ``max_kept``: first the
        ones this run did not use, oldest first, then the least recently used."""
        if self.keep:
            on_server = self._on_server()
            unused = [n for n in on_server if n not in self._used]
            surplus = (unused + [n for n in self._used if n in on_server])[: max(0, len(on_server) - self.max_kept)]
        else:
            surplus = list(reversed(self._made))
        for name in surplus:
            _drop_template(self.server, name)
        self._made.clear()
        self._known = None

    def __enter__(self) -> VersionTemplates:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


@dataclass
class MigratedDatabase:
    """A database of the caller's own at ``version`` ("" for the stub alone), and its connection."""

    server: Server
    name: str
    version: str
    conn: psycopg.Connection
    user: str | None = None
    _others: list[psycopg.Connection] = field(default_factory=list)

    @property
    def conninfo(self) -> str:
        return self.server.conninfo(self.name, self.user)

    def connect(self, user: str | None = None, **kwargs: Any) -> psycopg.Connection:
        """Another connection to it (closed with the migrator)."""
        conn = connect(self.server.conninfo(self.name, user or self.user), **kwargs)
        self._others.append(conn)
        return conn


class Migrator:
    """A caller's databases at migration versions: ``at`` makes one, ``upgrade`` moves it on.

    ``user`` is whom ``at``'s connections log in as (None: the server's superuser, or the URL's
    user); the upgrade itself runs as the runner runs it: a superuser session acting as ``postgres``.
    """

    def __init__(self, templates: VersionTemplates, *, user: str | None = None) -> None:
        self.templates = templates
        self.user = user
        self._databases: list[MigratedDatabase] = []

    @classmethod
    @contextmanager
    def start(
        cls,
        project: Project,
        *,
        db_url: str | None = None,
        server: ServerChoice | None = None,
        statement_timeout_ms: int | None = None,
    ) -> Iterator[Migrator]:
        """For scripts: the project's server (as the plugin starts it), its version templates and a
        migrator over them; everything made is dropped or cached when the block ends."""
        choice = server or ServerChoice()
        built = ProjectDatabase.start(
            project, target=Target.TEMPLATE, db_url=db_url, server=choice, statement_timeout_ms=statement_timeout_ms
        )
        try:
            keep = db_url is None and choice.cache is not None
            with (
                VersionTemplates(
                    built.server, project, keep=keep, statement_timeout_ms=statement_timeout_ms
                ) as templates,
                cls(templates) as migrator,
            ):
                yield migrator
        finally:
            built.stop()

    def at(self, version: str, *, seed: bool = False) -> psycopg.Connection:
        """A connection to a new database holding the stub and every migration up to and
        including ``version`` (its version or file name), plus the seed with ``seed``.

        The connection is not in autocommit; ``upgrade`` commits what it holds first.
        """
        template = self.templates.template(version, seed=seed)
        server = self.templates.server
        name = unique_name("supamigrate_migrator")
        create_database(server, name, template=template)
        try:
            conn = connect(server.conninfo(name, self.user), prepare_threshold=None)
        except BaseException:
            drop_database(server, name)
            raise
        reached = self.templates.version_at(self.templates.count(version))
        self._databases.append(MigratedDatabase(server, name, reached, conn, self.user))
        return conn

    @property
    def database(self) -> MigratedDatabase:
        """The database the last ``at`` made (what ``upgrade`` works on)."""
        if not self._databases:
            raise SupamigrateError(
                "the migrator has no database yet", hint="call migrator.at(VERSION) before upgrade()"
            )
        return self._databases[-1]

    def upgrade(self, to: str | None = None) -> ApplyResult:
        """Apply the migrations after the database's version, up to and including ``to`` (None:
        all), exactly as ``supamigrate apply`` does; a failing one raises its ``MigrationError``.

        First commits the open transaction of ``at``'s connection, so the rows the caller put
        there are what the migrations meet (and hold no locks against them).
        """
        db = self.database
        templates = self.templates
        current = templates.count(db.version) if db.version else 0
        if templates.count(to) < current:
            raise ProjectError(
                f"cannot upgrade from {db.version} to {to}: it is an earlier version",
                hint="the runner only applies migrations forward; call migrator.at(VERSION) for an earlier one",
            )
        status = db.conn.info.transaction_status
        if status == TransactionStatus.INERROR:
            raise SupamigrateError(
                "the migrator's connection is in a failed transaction; nothing was upgraded",
                hint="roll it back (conn.rollback()) before upgrade()",
            )
        if status == TransactionStatus.INTRANS:
            db.conn.commit()
        with connect(db.server.conninfo(db.name)) as conn:
            try:
                built = apply_project(
                    conn,
                    templates.project,
                    migrations=templates.mset,
                    seed=False,
                    up_to=to,
                    statement_timeout_ms=templates.statement_timeout_ms,
                )
            finally:
                # Where the runner left it, also after a failure (the files before it stay applied).
                db.version = _last_recorded(conn)
        return built.apply

    def close(self) -> None:
        """Close the connections and drop the databases ``at`` made."""
        for db in reversed(self._databases):
            for conn in (db.conn, *db._others):
                conn.close()
            drop_database(db.server, db.name)
        self._databases.clear()

    def __enter__(self) -> Migrator:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def _last_recorded(conn: psycopg.Connection) -> str:
    """The version of the last migration recorded as applied on ``conn``'s database ("" for none)."""
    conn.rollback()
    row = conn.execute("SELECT max(version) FROM supabase_migrations.schema_migrations").fetchone()
    conn.rollback()
    return str(row[0]) if row and row[0] is not None else ""


def _drop_template(server: Server, name: str) -> None:
    """A sealed template cannot be dropped; unseal it first."""
    with connect(server.conninfo(), autocommit=True) as admin:
        admin.execute(sql.SQL("ALTER DATABASE {} WITH IS_TEMPLATE false").format(sql.Identifier(name)))
    drop_database(server, name)
