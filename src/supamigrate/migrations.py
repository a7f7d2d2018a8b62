"""The migration set on disk and applying it the way ``supabase db push`` does.

The CLI's rules, reproduced here: a file counts when its name matches ``<digits>_<name>.sql``
(anything else is skipped with a warning); files apply in version order; each file runs as the
CLI's one batch with its row in ``supabase_migrations.schema_migrations`` (see ``_Session``: a
transaction that is not a transaction block, so BEGIN/COMMIT in the file act as they do there);
seed files follow, each a batch of its own, and ``supabase/roles.sql`` runs before the migrations
(``run_globals``).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import psycopg
from pglast import ast
from pglast.enums import TransactionStmtKind
from psycopg import sql

from .errors import HistoryMismatch, LostWorkError, MigrationError, ProjectError, SqlLocation, SupamigrateError
from .sql.statement import TRANSACTION_CONTROL, Statement
from .sql.text import SqlFile

MIGRATION_FILE = re.compile(r"^([0-9]+)_(.*)\.sql$")

HISTORY_DDL = (
    "CREATE SCHEMA IF NOT EXISTS supabase_migrations",
    "CREATE TABLE IF NOT EXISTS supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY)",
    "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS statements text[]",
    "ALTER TABLE supabase_migrations.schema_migrations ADD COLUMN IF NOT EXISTS name text",
)
# Settings that only matter at login, or need libraries a plain server lacks.
_LOGIN_ONLY_SETTINGS = frozenset({"session_preload_libraries", "local_preload_libraries"})
SEED_DDL = (
    "CREATE SCHEMA IF NOT EXISTS supabase_migrations",
    "CREATE TABLE IF NOT EXISTS supabase_migrations.seed_files"
    " (path text NOT NULL PRIMARY KEY, hash text NOT NULL)",
)
SEED_UPSERT = (
    "INSERT INTO supabase_migrations.seed_files(path, hash) VALUES (%s, %s)"
    " ON CONFLICT (path) DO UPDATE SET hash = EXCLUDED.hash"
)
HISTORY_INSERT = (
    "INSERT INTO supabase_migrations.schema_migrations(version, name, statements) VALUES (%s, %s, %s)"
)

class ExtensionHook(Protocol):
    """Answers the statements that need the platform's extensions (see platform.extensions)."""

    def wants(self, statement: Statement) -> bool:
        """Whether the hook answers ``statement`` (extension statements, at least)."""
        ...

    def __call__(self, conn: psycopg.Connection, statement: Statement) -> str:
        """The SQL to run in the statement's place: itself, a shim, or raise SupamigrateError."""
        ...


_PLPGSQL_LINE = re.compile(r"^PL/pgSQL function inline_code_block line (\d+)", re.M)
_DOLLAR_BODY = re.compile(r"\$[A-Za-z_]*\$")


@dataclass(frozen=True)
class Migration(SqlFile):
    """A migration file whose name the Supabase CLI accepts."""

    version: str = ""
    name: str = ""

    @property
    def filename(self) -> str:
        return self.path.name


# Called as on_progress(n, total, migration) before each pending migration runs.
ProgressCallback = Callable[[int, int, Migration], None]


@dataclass(frozen=True)
class Skipped:
    """A file in the migrations directory that the CLI would not apply, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class MigrationSet:
    """The ordered migrations of a directory, plus the files the CLI would skip."""

    directory: Path
    migrations: tuple[Migration, ...]
    skipped: tuple[Skipped, ...] = ()

    @classmethod
    def discover(cls, directory: Path) -> MigrationSet:
        """List ``directory`` by the CLI's rule; duplicate versions are a ProjectError."""
        if not directory.is_dir():
            return cls(directory, ())
        migrations: list[Migration] = []
        skipped: list[Skipped] = []
        by_version: dict[str, Path] = {}
        for path in sorted(directory.iterdir(), key=lambda p: p.name):
            if path.is_dir():
                continue
            m = MIGRATION_FILE.match(path.name)
            if not m:
                if not path.name.startswith("."):
                    skipped.append(
                        Skipped(path, 'file name must match pattern "<timestamp>_name.sql"')
                    )
                continue
            version, name = m.group(1), m.group(2)
            if version in by_version:
                raise ProjectError(
                    f"duplicate migration version {version}: {by_version[version].name} and {path.name}",
                    hint="give one of them a new version with `supamigrate new NAME` and move its SQL there",
                )
            by_version[version] = path
            migrations.append(Migration(path=path, version=version, name=name))
        return cls(directory, tuple(migrations), tuple(skipped))

    @property
    def versions(self) -> tuple[str, ...]:
        return tuple(m.version for m in self.migrations)

    def warnings(self) -> list[str]:
        """One line per skipped file, naming it and the rule."""
        return [f"Skipping migration {s.path.name}... ({s.reason})" for s in self.skipped]


@dataclass(frozen=True)
class AppliedRecord:
    """A row of ``supabase_migrations.schema_migrations``."""

    version: str
    name: str | None
    statements: tuple[str, ...] | None


@dataclass(frozen=True)
class Plan:
    """How a local migration set relates to a database's recorded history."""

    pending: tuple[Migration, ...]
    applied: tuple[Migration, ...]
    missing_locally: tuple[str, ...]
    out_of_order: tuple[Migration, ...]
    changed: tuple[Migration, ...]

    @classmethod
    def make(cls, mset: MigrationSet, recorded: Sequence[AppliedRecord]) -> Plan:
        """Compare files with history like ``supabase db push`` does (versions as strings)."""
        remote = {r.version: r for r in recorded}
        local = set(mset.versions)
        last_remote = max(remote, key=_version_key) if remote else None
        pending = tuple(m for m in mset.migrations if m.version not in remote)
        applied = tuple(m for m in mset.migrations if m.version in remote)
        changed = tuple(
            m
            for m in applied
            if remote[m.version].statements is not None
            and tuple(remote[m.version].statements or ()) != tuple(s.text for s in m.statements)
        )
        return cls(
            pending=pending,
            applied=applied,
            missing_locally=tuple(sorted((v for v in remote if v not in local), key=_version_key)),
            out_of_order=tuple(
                m
                for m in pending
                if last_remote is not None and _version_key(m.version) < _version_key(last_remote)
            ),
            changed=changed,
        )


def check_consistency(plan: Plan, *, include_all: bool = False) -> None:
    """Raise the two errors ``supabase db push`` raises when history and files disagree (as
    ``HistoryMismatch``, a ``ProjectError``)."""
    if plan.missing_locally:
        raise HistoryMismatch(
            "Remote migration versions not found in local migrations directory: "
            + ", ".join(plan.missing_locally),
            code="history-missing-locally",
            versions=tuple(plan.missing_locally),
            hint="pull them (`supabase db pull`) or mark them reverted"
            " (`supabase migration repair --status reverted <version>`)",
        )
    if plan.out_of_order and not include_all:
        raise HistoryMismatch(
            "Found local migration files to be inserted before the last migration on remote database: "
            + ", ".join(m.path.name for m in plan.out_of_order),
            code="history-out-of-order",
            versions=tuple(m.version for m in plan.out_of_order),
            hint="rename them to a later version, or pass --include-all to apply them anyway",
        )


def _version_key(version: str) -> tuple[int, str]:
    return (len(version.lstrip("0")), version.lstrip("0"))


@dataclass
class ApplyResult:
    """What ``apply_migrations`` (and ``seed``) did."""

    applied: list[Migration] = field(default_factory=list)
    already_applied: list[Migration] = field(default_factory=list)
    changed: list[Migration] = field(default_factory=list)
    seeded: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


def recorded_history(conn: psycopg.Connection) -> list[AppliedRecord]:
    """Rows of ``supabase_migrations.schema_migrations``, or [] where the table does not exist."""
    with conn.transaction():
        exists = conn.execute(
            "SELECT to_regclass('supabase_migrations.schema_migrations') IS NOT NULL"
        ).fetchone()
        if not exists or not exists[0]:
            return []
        cols = {
            r[0]
            for r in conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid ="
                " 'supabase_migrations.schema_migrations'::regclass AND attnum > 0 AND NOT attisdropped"
            )
        }
        name = "name" if "name" in cols else "NULL::text"
        stmts = "statements" if "statements" in cols else "NULL::text[]"
        rows = conn.execute(
            f"SELECT version, {name}, {stmts} FROM supabase_migrations.schema_migrations ORDER BY version"
        ).fetchall()
    return [AppliedRecord(v, n, tuple(s) if s is not None else None) for v, n, s in rows]


def ensure_history_table(conn: psycopg.Connection) -> None:
    """Create ``supabase_migrations.schema_migrations`` the way the CLI does on first push."""
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '4s'")
        for ddl in HISTORY_DDL:
            conn.execute(ddl)


# Said where a statement fails only because the CLI's pipeline is not a transaction block.
PIPELINE_HINT = (
    "the Supabase CLI sends each migration file as one pipeline, which PostgreSQL runs as a"
    " transaction but not a transaction block; wrap the file in BEGIN; ... COMMIT; if it needs one"
)
_IN_BLOCK = "cannot run inside a transaction block"
_LISTED = 10  # lost statements named one by one in a report; the rest are counted


@dataclass(frozen=True)
class LostWork:
    """Statements the Supabase CLI runs and then loses without an error.

    A ``ROLLBACK`` undoes what ran since the transaction began; a ``BEGIN`` never committed leaves
    the CLI's session with a transaction open, which ends (rolled back) when the CLI disconnects,
    with the history rows of the files run in it. ``cause`` is that ROLLBACK or BEGIN, ``lost``
    the first keyword of each statement lost, ``versions`` the migrations whose row is lost.
    """

    cause: SqlLocation
    why: str
    lost: tuple[SqlLocation, ...]
    versions: tuple[str, ...] = ()

    def render(self) -> str:
        """``path:line:col: <why>`` and the places lost, the first ten named."""
        named = ", ".join(str(loc) for loc in self.lost[:_LISTED])
        more = f" and {len(self.lost) - _LISTED} more" if len(self.lost) > _LISTED else ""
        rows = f"; and the history rows of migrations {', '.join(self.versions)}" if self.versions else ""
        return f"{self.cause}: {self.why}: {len(self.lost)} statements lost ({named}{more}){rows}"


def lost_work_error(losses: Sequence[LostWork]) -> LostWorkError:
    """The error for work the CLI would lose, at the first cause, every loss in its detail."""
    first = losses[0]
    return LostWorkError(
        first.cause,
        f"the Supabase CLI would lose work here without an error: {first.why}",
        detail="\n".join(loss.render() for loss in losses),
        hint="end the file's transaction with COMMIT (and drop the ROLLBACK) so the work is kept;"
        " or, to accept the loss as the CLI does, set allow_lost_work = true under [migrations] in"
        " supamigrate.toml",
        losses=tuple(losses),
    )


@dataclass
class _Pending:
    """A statement (or a history row: ``version``) run in the open transaction, not yet committed."""

    location: SqlLocation
    version: str | None = None
    row: bool = False  # a history row (a seed file's has no version)


class _Session:
    """Runs files on one connection the way the Supabase CLI does (``pkg/migration/file.go``).

    The CLI sends each file as one pgx batch: every statement and the file's history row over the
    extended protocol, then one Sync. PostgreSQL runs that as one transaction that is not a
    transaction block, so, reproduced here on a real block:

    - a statement that needs a block (LOCK TABLE, SAVEPOINT) fails with 25P01 outside a BEGIN;
    - one that refuses a block (CREATE INDEX CONCURRENTLY) runs, and commits at once, only as the
      first statement of the batch or the first after a COMMIT; elsewhere it fails ("cannot be
      executed within a pipeline");
    - COMMIT and ROLLBACK end the transaction at once and the next statement starts another; BEGIN
      opens a block that the file's Sync does not end, so it carries into the next files.

    ``lost`` collects the work a ROLLBACK or a never committed BEGIN discards (see LostWork).
    """

    def __init__(
        self,
        conn: psycopg.Connection,
        *,
        role: str | None,
        prelude: str = "",
        extensions: ExtensionHook | None = None,
    ) -> None:
        self.conn = conn
        self.role = role
        self.extensions = extensions
        # Run before each file, as the CLI's RESET ALL: one file's SET must not leak into the next.
        self.prelude = prelude
        self.block: SqlLocation | None = None  # the BEGIN of the open transaction block
        self.fresh = True  # nothing has run yet in the current transaction
        self.pending: list[_Pending] = []
        self.prelude_uncommitted = False  # the prelude ran in the open transaction
        self.lost: list[LostWork] = []
        self.warnings: list[str] = []

    def run(
        self,
        file: SqlFile,
        finish: tuple[str, tuple[object, ...]] | None = None,
        version: str = "",
        *,
        statements: bool = True,
    ) -> None:
        """Run ``file`` as one batch, then ``finish`` (its history row: ``version``), then the Sync.

        ``statements=False`` sends the batch without the file's statements (a changed seed file,
        whose hash alone the CLI updates).
        """
        if self.prelude:
            # The CLI's RESET ALL is a query of its own; run in the batch's transaction it has the
            # same effect, one round trip fewer (a statement run alone commits it first, and a
            # ROLLBACK runs it again: see _lose).
            self.conn.execute(self.prelude)
        self.prelude_uncommitted = bool(self.prelude) and self.block is None
        self.fresh = self.block is None
        committed: SqlLocation | None = None
        for stmt in file.statements if statements else ():
            if stmt.is_comment_only:
                continue  # an empty query: PostgreSQL runs nothing and no state changes
            kind = stmt.transaction_kind
            if kind is None:
                self._statement(file, stmt, committed)
            elif self._control(file, stmt, kind):
                committed = file.location(stmt.start)
        if finish is not None:
            try:
                self.conn.execute(finish[0], finish[1])
            except psycopg.Error as exc:
                self._abort()
                raise MigrationError(
                    file.location(0),
                    exc.diag.message_primary or str(exc),
                    sqlstate=exc.diag.sqlstate,
                    detail=exc.diag.message_detail,
                    hint="the file's row in the history table could not be written",
                    pg_error=exc,
                ) from exc
            self.pending.append(_Pending(file.location(0), version or None, row=True))
        if self.block is None:  # the Sync ends the transaction unless a BEGIN left a block open
            self.conn.commit()
            self.pending.clear()
            self.prelude_uncommitted = False

    def close(self) -> None:
        """End the session as the CLI's ends: a block still open is rolled back, its work lost."""
        if self.block is not None:
            self._lose(self.block, "BEGIN is never committed, so the CLI's session ends with its"
                       " transaction open and PostgreSQL rolls it back", rollback=True)

    # -- transaction control ------------------------------------------------------------------

    def _control(self, file: SqlFile, stmt: Statement, kind: TransactionStmtKind) -> bool:
        """Do what BEGIN, COMMIT or ROLLBACK does in the CLI's batch; True for a COMMIT."""
        here = file.location(stmt.start)
        chain = isinstance(stmt.tree, ast.TransactionStmt) and bool(stmt.tree.chain)
        if chain and self.block is None:
            self._abort()
            raise MigrationError(
                here,
                f"{TRANSACTION_CONTROL[kind]} AND CHAIN can only be used in transaction blocks",
                sqlstate="25P01",
                hint=PIPELINE_HINT,
                statement=stmt.text,
            )
        if kind in (TransactionStmtKind.TRANS_STMT_BEGIN, TransactionStmtKind.TRANS_STMT_START):
            if self.block is not None:
                self.warnings.append(f"{here}: WARNING 25001 there is already a transaction in progress")
            else:
                self.block = here
            return False
        if kind is TransactionStmtKind.TRANS_STMT_COMMIT:
            if self.block is None:
                self.warnings.append(f"{here}: WARNING 25P01 there is no transaction in progress")
            self.conn.commit()
            self.pending.clear()
            self.block, self.fresh, self.prelude_uncommitted = (here if chain else None), True, False
            return True
        if kind is TransactionStmtKind.TRANS_STMT_ROLLBACK:
            if self.block is None:
                self.warnings.append(f"{here}: WARNING 25P01 there is no transaction in progress")
            self._lose(here, f"{stmt.keyword} undoes what ran since the transaction began", rollback=True)
            if chain:
                self.block = here
            return False
        raise MigrationError(
            here,
            f"transaction control statement not supported: {TRANSACTION_CONTROL[kind]}",
            hint="two-phase commit has no place in a migration; remove it",
            statement=stmt.text,
        )

    def _lose(self, cause: SqlLocation, why: str, *, rollback: bool) -> None:
        statements = tuple(p.location for p in self.pending if not p.row)
        versions = tuple(p.version for p in self.pending if p.version is not None)
        if statements or versions:
            self.lost.append(LostWork(cause, why, statements, versions))
        if rollback:
            self.conn.rollback()
            if self.prelude_uncommitted:  # the CLI's RESET ALL was committed before the batch
                self.conn.execute(self.prelude)
        self.pending.clear()
        self.block, self.fresh = None, True

    def _abort(self) -> None:
        """A failed statement: the CLI stops, and what its open transaction held is rolled back."""
        self.conn.rollback()
        self.pending.clear()
        self.block, self.fresh = None, True

    # -- statements ---------------------------------------------------------------------------

    def _statement(self, file: SqlFile, stmt: Statement, committed: SqlLocation | None) -> None:
        here = file.location(stmt.start)
        if self.block is None:
            if stmt.keyword == "SET" and isinstance(stmt.tree, ast.VariableSetStmt) and stmt.tree.is_local:
                # PostgreSQL warns, and the setting still lasts until the batch's transaction ends.
                self.warnings.append(f"{here}: WARNING 25P01 SET LOCAL can only be used in transaction blocks")
            needs_block = stmt.block_only
            if needs_block is not None:
                self._abort()
                raise MigrationError(
                    here,
                    f"{needs_block} can only be used in transaction blocks",
                    sqlstate="25P01",
                    hint=PIPELINE_HINT,
                    statement=stmt.text,
                )
            if self.fresh and stmt.outside_only is not None:
                # First in the transaction: PostgreSQL runs it on its own and commits at once.
                self.conn.commit()
                self.prelude_uncommitted = False
                self.conn.autocommit = True
                try:
                    self._execute(file, stmt, committed)
                finally:
                    self.conn.autocommit = False
                # PostgreSQL refuses a second one in the same pipeline until a COMMIT (measured).
                self.fresh = False
                return
        self._execute(file, stmt, committed)
        self.fresh = False
        self.pending.append(_Pending(here))

    def _execute(self, file: SqlFile, stmt: Statement, committed: SqlLocation | None) -> None:
        # A superuser session acting as `role` steps up for extension statements, standing in
        # for supautils, which lets `postgres` create the platform's extensions on Supabase.
        elevate = self.role is not None and stmt.is_extension_statement
        text = stmt.text
        try:
            if elevate:
                self.conn.execute("RESET ROLE")
            if self.extensions is not None and self.extensions.wants(stmt):
                text = self.extensions(self.conn, stmt)
            self.conn.execute(text)
            if elevate:
                self.conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(self.role or "")))
        except psycopg.Error as exc:
            in_pipeline = self.block is None
            if not self.conn.autocommit:
                self._abort()
            error = located_error(exc, file, stmt, replaced=text != stmt.text)
            if in_pipeline and error.sqlstate == "25001" and error.message.endswith(_IN_BLOCK):
                error.message = error.message[: -len(_IN_BLOCK)] + "cannot be executed within a pipeline"
                error.hint = (
                    "the Supabase CLI sends each migration file as one pipeline, and PostgreSQL runs"
                    " this statement in one only as the first of its transaction: move it to a"
                    " migration file of its own"
                )
                error.args = (error.message,)
            raise _kept(error, committed) from exc
        except SupamigrateError as exc:
            if not self.conn.autocommit:
                self._abort()
            # At the statement's first keyword: a leading comment is not what failed.
            raise _kept(
                MigrationError(
                    file.location(stmt.start), exc.message, hint=exc.hint, statement=stmt.text, reason=exc
                ),
                committed,
            ) from exc


def _kept(error: MigrationError, committed: SqlLocation | None) -> MigrationError:
    """Say so when a COMMIT earlier in the file keeps the statements before it (as with the CLI)."""
    if committed is not None:
        note = (
            f"the statements before the COMMIT at {committed} stay applied, as with the Supabase CLI;"
            " the file is not recorded in supabase_migrations.schema_migrations"
        )
        error.detail = f"{error.detail}\n{note}" if error.detail else note
    return error


# pg_cron's refusal of a schedule such as '30 seconds' (the platform's newer pg_cron takes it).
_SECONDS_SCHEDULE = re.compile(r"invalid schedule: \s*\d+\s+seconds?\s*$", re.IGNORECASE)


def located_error(
    exc: psycopg.Error, file: SqlFile, stmt: Statement, *, replaced: bool = False
) -> MigrationError:
    """Turn a server error into file:line:col using the statement's offset in its file.

    ``replaced``: the server ran other SQL in the statement's place (a shim), so positions in the
    error point into that SQL, and the statement's start is the place to report.
    """
    diag = exc.diag
    offset = stmt.start  # the statement, past any comment before it
    body_line = _PLPGSQL_LINE.search(diag.context or "")
    if diag.statement_position and not replaced:
        offset = stmt.offset + int(diag.statement_position) - 1
    elif (
        diag.internal_position
        and diag.internal_query
        and not replaced
        and stmt.text.find(diag.internal_query) >= 0
    ):
        offset = stmt.offset + stmt.text.find(diag.internal_query) + int(diag.internal_position) - 1
    elif body_line and not replaced and (body := _DOLLAR_BODY.search(stmt.text)):
        # A runtime error in a DO block: PL/pgSQL counts lines from the start of the body.
        line_start = body.end()
        for _ in range(int(body_line.group(1)) - 1):
            nl = stmt.text.find("\n", line_start)
            if nl < 0:
                break
            line_start = nl + 1
        first = len(stmt.text[line_start:]) - len(stmt.text[line_start:].lstrip(" \t"))
        offset = stmt.offset + line_start + first
    message = diag.message_primary or str(exc).strip()
    hint = diag.message_hint
    if diag.sqlstate == "57014" and "statement timeout" in message:
        hint = hint or "the statement ran longer than the statement timeout; raise --statement-timeout"
    elif diag.sqlstate == "25001":
        hint = hint or "this statement cannot run inside the transaction each migration file runs in"
    elif diag.sqlstate == "22023" and _SECONDS_SCHEDULE.match(message):
        # pg_cron learned "N seconds" schedules in 1.5; the platform ships a newer one than
        # Debian's postgresql-15-cron (1.4).
        hint = hint or (
            "this server's pg_cron predates seconds schedules (pg_cron 1.5), which the platform's"
            " pg_cron accepts: install pg_cron 1.5 or newer (postgresql-<major>-cron from"
            " apt.postgresql.org)"
        )
    return MigrationError(
        file.location(offset),
        message,
        sqlstate=diag.sqlstate,
        detail=diag.message_detail,
        hint=hint,
        context=diag.context,
        statement=stmt.text,
        pg_error=exc,
    )


@dataclass(frozen=True)
class _Identity:
    """Who statements run as, and the SQL that resets a session to that role's login state."""

    role: str | None
    prelude: str


def _act_as(conn: psycopg.Connection, role: str | None, statement_timeout_ms: int | None) -> _Identity:
    """Make the session act as ``role`` the way a login as ``role`` would.

    When the session user is a superuser other than ``role``, SET ROLE to it (the CLI itself
    connects as supabase_admin and runs SET SESSION ROLE postgres) and apply the role's settings,
    such as its search_path, which SET ROLE alone does not.
    """
    row = conn.execute(
        "SELECT current_user, (SELECT rolsuper FROM pg_roles WHERE rolname = session_user),"
        " EXISTS (SELECT FROM pg_roles WHERE rolname = %s)",
        (role or "",),
    ).fetchone()
    assert row is not None
    current, superuser, exists = row
    acting = role if role is not None and current != role and superuser and exists else None
    # Whom a fresh login would give the role's settings to: the role acted as, or the session's
    # own user when it is the role. Settings an ALTER ROLE ... SET made after this session logged
    # in (the stub's search_path, on a new cluster reached by URL) reach it only this way.
    target = acting if acting is not None else (role if role is not None and current == role else None)
    settings: list[tuple[str, str]] = []
    if target is not None:
        for (config,) in conn.execute(
            "SELECT unnest(setconfig) FROM pg_db_role_setting s WHERE s.setrole IN (0, (SELECT oid"
            " FROM pg_roles WHERE rolname = %s)) AND s.setdatabase IN (0, (SELECT oid FROM pg_database"
            " WHERE datname = current_database())) AND (s.setrole, s.setdatabase) <> (0, 0)"
            " ORDER BY s.setrole <> 0, s.setdatabase <> 0",
            (target,),
        ):
            name, _, value = str(config).partition("=")
            if name not in _LOGIN_ONLY_SETTINGS:
                settings.append((name, value))
    if acting is not None:
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(acting)))
    if statement_timeout_ms is not None:
        settings.append(("statement_timeout", str(int(statement_timeout_ms))))
    conn.commit()
    parts = [sql.SQL("RESET ALL")] + [
        sql.SQL("SELECT set_config({}, {}, false)").format(sql.Literal(n), sql.Literal(v)) for n, v in settings
    ]
    return _Identity(acting, sql.SQL("; ").join(parts).as_string(conn))


def _restore(conn: psycopg.Connection, identity: _Identity) -> None:
    if conn.closed:
        return
    conn.rollback()
    conn.execute("RESET ALL")
    if identity.role is not None:
        conn.execute("RESET ROLE")
    conn.commit()


def apply_migrations(
    conn: psycopg.Connection,
    mset: MigrationSet,
    *,
    role: str | None = "postgres",
    statement_timeout_ms: int | None = None,
    include_all: bool = False,
    on_progress: ProgressCallback | None = None,
    extensions: ExtensionHook | None = None,
    allow_lost_work: bool = False,
) -> ApplyResult:
    """Apply the pending migrations of ``mset`` as ``supabase db push`` does (see ``_Session``).

    ``conn`` must be in autocommit-off mode with no open transaction. When its session user is a
    superuser and ``role`` exists, statements run as ``role`` (as migrations run as ``postgres`` on
    the platform). A failing file raises MigrationError; what the CLI would roll back is rolled
    back, and nothing after it runs. Work the CLI would lose without an error (a ROLLBACK, a BEGIN
    never committed) is lost here too and raised as LostWorkError after the run, or reported in
    the warnings with ``allow_lost_work``. ``extensions`` answers extension statements (see
    ``platform.extensions.ExtensionPolicy``).
    """
    started = time.perf_counter()
    result = ApplyResult(warnings=mset.warnings())
    identity = _act_as(conn, role, statement_timeout_ms)
    try:
        ensure_history_table(conn)
        plan = Plan.make(mset, recorded_history(conn))
        check_consistency(plan, include_all=include_all)
        result.already_applied = list(plan.applied)
        result.changed = list(plan.changed)
        for m in plan.changed:
            result.warnings.append(
                f"{m.path.name}: already applied, but its statements differ from those recorded in"
                " supabase_migrations.schema_migrations (the file changed after it was pushed)"
            )
        session = _Session(conn, role=identity.role, prelude=identity.prelude, extensions=extensions)
        result.warnings.extend(
            f"{m.path.name}: empty migration (no statements); it is recorded as applied"
            for m in plan.pending
            if not m.statements
        )
        try:
            for index, m in enumerate(plan.pending, 1):
                if on_progress is not None:
                    on_progress(index, len(plan.pending), m)
                row = (m.version, m.name, [s.text for s in m.statements])
                session.run(m, (HISTORY_INSERT, row), m.version)
                result.applied.append(m)
            session.close()
        finally:
            result.warnings.extend(session.warnings)
        _report_lost(session, result, allow_lost_work=allow_lost_work)
    finally:
        _restore(conn, identity)
    result.seconds = time.perf_counter() - started
    return result


def _report_lost(session: _Session, result: ApplyResult, *, allow_lost_work: bool) -> None:
    """Take the lost files out of ``applied``; raise the loss, or warn of it when allowed."""
    if not session.lost:
        return
    gone = {v for loss in session.lost for v in loss.versions}
    result.applied = [m for m in result.applied if m.version not in gone]
    if not allow_lost_work:
        raise lost_work_error(session.lost)
    result.warnings.extend(f"{loss.render()} (as with the Supabase CLI)" for loss in session.lost)


def run_globals(
    conn: psycopg.Connection,
    path: Path,
    *,
    role: str | None = "postgres",
    statement_timeout_ms: int | None = None,
    allow_lost_work: bool = False,
) -> list[str]:
    """Run ``supabase/roles.sql`` as ``supabase db reset`` does before the migrations.

    The CLI's ``SeedGlobals``: the file as one batch, as ``postgres``, with no history row. A
    failure raises MigrationError and rolls the file back. Returns the warnings.
    """
    identity = _act_as(conn, role, statement_timeout_ms)
    session = _Session(conn, role=identity.role, prelude=identity.prelude)
    try:
        session.run(SqlFile(path))
        session.close()
        result = ApplyResult()
        _report_lost(session, result, allow_lost_work=allow_lost_work)
    finally:
        _restore(conn, identity)
    return [*session.warnings, *result.warnings]


def run_seed(
    conn: psycopg.Connection,
    files: Sequence[Path],
    *,
    root: Path,
    role: str | None = "postgres",
    statement_timeout_ms: int | None = None,
    extensions: ExtensionHook | None = None,
    allow_lost_work: bool = False,
) -> list[Path]:
    """Run pending seed files, each as one batch with its row in ``seed_files`` (as the CLI).

    As the CLI: a file is recorded by its path relative to the project ``root`` and the SHA-256 of
    its bytes; an unchanged file is skipped, a changed one only has its hash updated. Returns the
    files whose SQL ran. A failure raises MigrationError and rolls that file back.
    """
    if not files:
        return []
    identity = _act_as(conn, role, statement_timeout_ms)
    done: list[Path] = []
    try:
        with conn.transaction():
            conn.execute("SET LOCAL lock_timeout = '4s'")
            for ddl in SEED_DDL:
                conn.execute(ddl)
            rows = conn.execute("SELECT path, hash FROM supabase_migrations.seed_files").fetchall()
            known: dict[str, str] = {str(p): str(h) for p, h in rows}
        session = _Session(conn, role=identity.role, prelude=identity.prelude, extensions=extensions)
        for path in files:
            seed = SqlFile(path)
            rel = path.resolve().relative_to(root.resolve()).as_posix()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            if known.get(rel) == digest:
                continue
            # A changed file only has its hash updated: an empty batch with the upsert.
            session.run(seed, (SEED_UPSERT, (rel, digest)), statements=rel not in known)
            if rel not in known:
                done.append(path)
        session.close()
        _report_lost(session, ApplyResult(), allow_lost_work=allow_lost_work)
    finally:
        _restore(conn, identity)
    return done


@dataclass(frozen=True)
class MigrationListing:
    """The files of ``supabase/migrations`` as the CLI sees them, duplicates included.

    ``MigrationSet.discover`` stops at the first duplicate version (the CLI refuses the set); the
    linter lists every file so that it can report each duplicate and still lint the rest.
    """

    directory: Path
    migrations: tuple[Migration, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    duplicates: tuple[tuple[Migration, Migration], ...] = field(default=())

    @classmethod
    def of(cls, directory: Path) -> MigrationListing:
        if not directory.is_dir():
            return cls(directory)
        migrations: list[Migration] = []
        skipped: list[Skipped] = []
        duplicates: list[tuple[Migration, Migration]] = []
        first: dict[str, Migration] = {}
        for path in sorted(directory.iterdir(), key=lambda p: p.name):
            if path.is_dir() or path.name.startswith("."):
                continue
            m = MIGRATION_FILE.match(path.name)
            if not m:
                skipped.append(Skipped(path, f"file name must match pattern {MIGRATION_FILE.pattern}"))
                continue
            migration = Migration(path=path, version=m.group(1), name=m.group(2))
            if migration.version in first:
                duplicates.append((first[migration.version], migration))
            else:
                first[migration.version] = migration
            migrations.append(migration)
        return cls(directory, tuple(migrations), tuple(skipped), tuple(duplicates))
