"""pgTAP files (``supabase/tests/**/*.sql`` and ``*.pg``), run the way ``supabase test db`` runs them.

The CLI hands the files to ``pg_prove``, which runs each in a psql session of its own, in name
order, on one database: what a file commits is there for the files after it, a file wrapped in
``BEGIN``/``ROLLBACK`` leaves nothing behind. ``TapSuite`` does the same (``run_session`` is one
file's session); ``run_file`` runs a file inside a transaction that is rolled back. Every row a
statement returns is a line of TAP output, its columns joined with ``|`` as psql prints them
unaligned; it is parsed into the plan, the numbered assertions (with their directives and
diagnostics) and the file-level problems a TAP harness fails a file for: an SQL error, no plan, a
plan the file did not keep, assertions out of sequence, ``Bail out!``.

The parser is our own rather than tap.py's: pgTAP prints descriptions as given (``ok 3 - issue
#12``), which tap.py cuts at the first ``#`` where TAP::Harness only looks for ``# TODO`` /
``# SKIP``, and each result keeps the line of the statement that printed it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Protocol

import psycopg
from pglast import ast
from pglast.enums import TransactionStmtKind
from psycopg import sql

from . import testhelpers
from .database import connect
from .errors import MigrationError, SupamigrateError
from .migrations import located_error
from .server.binaries import sharedir
from .sql.statement import Statement
from .sql.text import SqlFile, SqlText


class Rewriter(Protocol):
    """What the migration runner hands extension statements to (``platform.extensions.ExtensionPolicy``)."""

    def wants(self, statement: Statement) -> bool: ...

    def __call__(self, conn: psycopg.Connection, statement: Statement) -> str: ...


# The files `supabase test db` runs: pg_prove --ext .pg --ext .sql -r supabase/tests
TEST_SUFFIXES = (".sql", ".pg")
SCHEMA = "extensions"
PACKAGE = "postgresql-{major}-pgtap"

# psql meta-commands that only change psql's display or variables; pgTAP files often start with them.
_HARMLESS_META = frozenset({"set", "unset", "pset", "timing", "t", "a", "x", "encoding", "echo", "qecho"})

_PLAN = re.compile(r"^1\.\.(\d+)(?:\s*#\s*(.*))?$")
_RESULT = re.compile(r"^(not\s+)?ok\b\s*(\d+)?\s*(?:-\s*)?(.*)$", re.IGNORECASE)
# A TAP directive: an unescaped "#" followed by TODO or SKIP.
_DIRECTIVE = re.compile(r"(?<!\\)#\s*(TODO|SKIP)\S*\s*(.*)$", re.IGNORECASE)
_BAIL_OUT = re.compile(r"^Bail out!\s*(.*)$", re.IGNORECASE)
# A call into database.dev's client (`select dbdev.install(...)`) in a test file.
_DBDEV_CALL = re.compile(r"\bdbdev\s*\.", re.IGNORECASE)
_BEGIN_KINDS = frozenset({TransactionStmtKind.TRANS_STMT_BEGIN, TransactionStmtKind.TRANS_STMT_START})


class PgTapMissing(SupamigrateError):
    """pgTAP is not installed on the server, or not created in the database."""


def is_test_file(path: Path, project_root: Path) -> bool:
    """Whether ``path`` is a file ``supabase test db`` runs for the project at ``project_root``."""
    if path.suffix not in TEST_SUFFIXES:
        return False
    tests_dir = (project_root / "supabase" / "tests").resolve()
    return path.resolve().is_relative_to(tests_dir)


def test_files(project_root: Path) -> list[Path]:
    """Every pgTAP file of the project, in path order."""
    tests_dir = project_root / "supabase" / "tests"
    if not tests_dir.is_dir():
        return []
    return sorted(p for p in tests_dir.rglob("*") if p.is_file() and p.suffix in TEST_SUFFIXES)


def available_on_disk(bindir: Path) -> bool:
    """Whether the server binaries in ``bindir`` have pgTAP installed beside them (its control file)."""
    # pg_config's answer, or the layout beside bin/ where there is none (the npm build of 17).
    return (sharedir(bindir) / "extension" / "pgtap.control").is_file()


def _server_major(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone()
    return int(row[0]) if row else 15


def install(conn: psycopg.Connection) -> str | None:
    """Create pgTAP in schema ``extensions`` (as the CLI does) when the server has it.

    Needs a connection that may create the extension (a superuser) with no open transaction.
    Returns pgTAP's version, or None when the server lacks it or the user may not create it.
    """
    row = conn.execute(
        "SELECT installed_version, default_version FROM pg_available_extensions WHERE name = 'pgtap'"
    ).fetchone()
    conn.rollback()
    if row is None:
        return None
    if row[0] is not None:
        return str(row[0])
    try:
        with conn.transaction():
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
            create = sql.SQL("CREATE EXTENSION IF NOT EXISTS pgtap WITH SCHEMA {}")
            conn.execute(create.format(sql.Identifier(SCHEMA)))
            conn.execute(_GRANT_PGTAP)
    except psycopg.errors.InsufficientPrivilege:
        return None
    return str(row[1])


# On the platform pgTAP is created by supabase_admin, so the project's own `ALTER DEFAULT
# PRIVILEGES ... REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC` (run as postgres) never reaches it. On a
# server where the URL's user both ran the migrations and creates pgTAP after them, that revoke
# would take EXECUTE from every pgTAP function and fail each test that calls one as
# `authenticated`; so pgTAP gets back the privileges a new function has by default.
_GRANT_PGTAP = """
DO $grant$
DECLARE
  routine regprocedure;
BEGIN
  FOR routine IN
    SELECT d.objid::regprocedure FROM pg_catalog.pg_depend d
     WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.deptype = 'e'
       AND d.refclassid = 'pg_catalog.pg_extension'::regclass
       AND d.refobjid = (SELECT oid FROM pg_catalog.pg_extension WHERE extname = 'pgtap')
  LOOP
    EXECUTE pg_catalog.format('GRANT EXECUTE ON ROUTINE %s TO PUBLIC', routine);
  END LOOP;
END
$grant$"""


def require(conn: psycopg.Connection) -> str:
    """pgTAP's version in the database of ``conn``; PgTapMissing says what to install when absent."""
    row = conn.execute(
        "SELECT e.extversion, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = 'pgtap'"
    ).fetchone()
    if row is not None:
        return str(row[0])
    available = conn.execute(
        "SELECT EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pgtap')"
    ).fetchone()
    raise missing_error(_server_major(conn), available=bool(available and available[0]))


def missing_error(major: int, *, available: bool) -> PgTapMissing:
    """The error for a database without pgTAP, naming exactly what to install or run."""
    package = PACKAGE.format(major=major)
    if available:
        return PgTapMissing(
            "pgTAP is installed on the server but not created in the test database",
            hint=f"a superuser must run `CREATE EXTENSION pgtap WITH SCHEMA {SCHEMA}`; the plugin does so"
            " when it builds the template, which needs the URL's user to be a superuser",
        )
    return PgTapMissing(
        f"pgTAP is not installed on this PostgreSQL {major} server",
        hint=f"install the Debian/Ubuntu package {package} (`apt-get install {package}`, or `make setup`"
        " as root), then run the tests again",
    )


@dataclass(frozen=True)
class Assertion:
    """One TAP result line (``ok 3 - description``) with its diagnostics and where it came from."""

    number: int
    ok: bool
    description: str
    directive: str | None = None  # "TODO" or "SKIP"
    reason: str = ""
    diagnostics: tuple[str, ...] = ()
    line: str = ""
    path: Path | None = None
    source_line: int | None = None  # line of the statement that printed it

    @property
    def title(self) -> str:
        """``3 - description``, as the assertion is named in reports."""
        return f"{self.number} - {self.description}" if self.description else str(self.number)

    @property
    def failed(self) -> bool:
        """A failure that counts: ``not ok`` without a TODO directive."""
        return not self.ok and self.directive != "TODO"

    def render(self) -> str:
        """The file, the assertion number and the TAP output, as a failure message."""
        where = f"{self.path}:{self.source_line}" if self.path and self.source_line else str(self.path or "")
        head = f"{where}: assertion {self.number} failed"
        head += f": {self.description}" if self.description else ""
        return "\n".join([head, self.line, *self.diagnostics])


@dataclass
class TapRun:
    """What one pgTAP file printed and how its run ended."""

    path: Path
    plan: int | None = None
    plans: int = 0
    skip_all: str | None = None
    assertions: list[Assertion] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    bail_out: str | None = None
    error: MigrationError | None = None

    @property
    def failed(self) -> list[Assertion]:
        return [a for a in self.assertions if a.failed]

    def problems(self) -> list[str]:
        """Why a TAP harness would fail the file as a whole (the failing assertions aside).

        Each names the file: an SQL error as ``path:line:col: SQLSTATE message`` and its
        DETAIL/HINT/CONTEXT lines, anything else as ``path: message``.
        """
        out = [self.error.render()] if self.error is not None else []
        out += [f"{self.path}: {p}" for p in self._plan_problems()]
        return out

    def _plan_problems(self) -> list[str]:
        out: list[str] = []
        if self.bail_out is not None:
            out.append(f"Bail out! {self.bail_out}".rstrip())
        if self.plans > 1:
            out.append(f"more than one plan ({self.plans} lines `1..N`)")
        ran = len(self.assertions)
        if self.plan is None and self.skip_all is None:
            if ran == 0 and self.error is None:
                out.append("no TAP output: the file printed no plan and ran no assertion (call plan(N))")
            elif ran:
                out.append(f"no plan: ran {ran} assertion(s) but printed no `1..N` line (call plan(N))")
        elif self.plan is not None and self.plan != ran:
            out.append(f"planned {self.plan} test(s) but ran {ran}")
        for expected, a in enumerate(self.assertions, 1):
            if a.number != expected:
                out.append(f"assertion {a.number} out of sequence (expected {expected})")
                break
        return out

    @property
    def ok(self) -> bool:
        return not self.failed and not self.problems()

    def summary(self) -> str:
        failed = len(self.failed)
        return f"{self.path}: {len(self.assertions)} assertion(s), {failed} failed" + (
            f", {len(self.problems())} file problem(s)" if self.problems() else ""
        )


class _Parser:
    """Turns chunks of TAP text (one per returned value) into a TapRun."""

    def __init__(self, run: TapRun) -> None:
        self.run = run
        self.pending: list[str] = []  # indented subtest output, shown with the next assertion

    def feed(self, text: str, source_line: int) -> None:
        last: int | None = None  # index of the assertion this chunk printed, for its "# ..." lines
        for raw in text.splitlines():
            line = raw.rstrip()
            if not line.strip():
                continue
            if line[:1].isspace():
                self.pending.append(line)
                continue
            if line.startswith("#"):
                if last is not None:
                    a = self.run.assertions[last]
                    self.run.assertions[last] = _with_diagnostics(a, (*a.diagnostics, line))
                else:
                    self.run.comments.append(line)
                continue
            m = _PLAN.match(line)
            if m:
                self.run.plans += 1
                self.run.plan = int(m.group(1))
                if self.run.plan == 0 and m.group(2):
                    self.run.skip_all = m.group(2)
                continue
            m = _BAIL_OUT.match(line)
            if m:
                self.run.bail_out = m.group(1)
                continue
            m = _RESULT.match(line)
            if m:
                self.run.assertions.append(self._assertion(m, line, source_line))
                last = len(self.run.assertions) - 1
                continue
            self.run.comments.append(line)  # not TAP: kept, as a harness would show it

    def _assertion(self, m: re.Match[str], line: str, source_line: int) -> Assertion:
        description, directive, reason = m.group(3).strip(), None, ""
        d = _DIRECTIVE.search(description)
        if d:
            directive, reason = d.group(1).upper(), d.group(2).strip()
            description = description[: d.start()].rstrip().removesuffix("-").rstrip()
        number = int(m.group(2)) if m.group(2) else len(self.run.assertions) + 1
        diagnostics, self.pending = tuple(self.pending), []
        return Assertion(
            number=number,
            ok=m.group(1) is None,
            description=description.replace("\\#", "#"),
            directive=directive,
            reason=reason,
            diagnostics=diagnostics,
            line=line,
            path=self.run.path,
            source_line=source_line,
        )


def _with_diagnostics(a: Assertion, diagnostics: tuple[str, ...]) -> Assertion:
    return Assertion(
        a.number, a.ok, a.description, a.directive, a.reason, diagnostics, a.line, a.path, a.source_line
    )


def parse_tap(text: str, path: Path = Path("<tap>")) -> TapRun:
    """Parse TAP text (as pg_prove reads it) into a TapRun; no database involved."""
    run = TapRun(path)
    _Parser(run).feed(text, 0)
    return run


@dataclass(frozen=True)
class TestFile(SqlFile):
    """A pgTAP file: SQL with, possibly, psql meta-command lines (``\\set QUIET 1``)."""

    __test__ = False  # not a pytest test class, whatever its name

    @cached_property
    def written(self) -> SqlText:
        """The file's text as written (``source`` has its meta-commands blanked out)."""
        return SqlFile(self.path).source

    @cached_property
    def meta_commands(self) -> tuple[tuple[int, str], ...]:
        """(offset, command) of each psql meta-command: a backslash outside a string or comment,
        to the end of its line (opening a line, or ending a query as ``... \\gset`` does)."""
        text = self.written.text
        found = []
        for t in self.written.tokens or ():
            if t.name == "ASCII_92":
                end = text.find("\n", t.start)
                found.append((t.start, text[t.start : end if end >= 0 else len(text)]))
        return tuple(found)

    @cached_property
    def source(self) -> SqlText:
        # Meta-command lines become blanks of the same length, so offsets still map to lines.
        text = self.written.text
        for offset, command in self.meta_commands:
            text = text[:offset] + " " * len(command) + text[offset + len(command) :]
        return SqlText(text)

    def unsupported_meta_command(self) -> MigrationError | None:
        """The first meta-command that cannot be ignored (``\\i`` and the like), as an error."""
        for offset, command in self.meta_commands:
            name = command[1:].split(maxsplit=1)[0] if len(command) > 1 else ""
            if name not in _HARMLESS_META:
                return MigrationError(
                    self.location(offset),
                    f"psql meta-command not supported: {command.strip()}",
                    hint="pgTAP files run statement by statement over a connection, not through psql;"
                    " only display settings (\\set, \\pset, \\unset, ...) are ignored, and psql variables"
                    " (\\gset, :name) are not kept. Inline the file, move shared setup into a migration or"
                    " seed, or read the value in SQL (a CTE, a temporary table)",
                )
        return None


def row_text(row: tuple[object, ...]) -> str:
    """A result row as psql prints it unaligned (``pg_prove`` reads that): values joined by ``|``."""
    return "|".join(_value_text(v) for v in row)


def _value_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


def _tap_lines(cur: psycopg.Cursor[tuple[object, ...]]) -> Iterator[str]:
    """Every row of every result ``cur`` holds, as text (one statement may have run several)."""
    while True:
        if cur.description:
            for row in cur.fetchall():
                yield row_text(row)
        if not cur.nextset():
            return


def _statement_sql(conn: psycopg.Connection, stmt: Statement, extensions: Rewriter | None) -> str:
    return extensions(conn, stmt) if extensions is not None and extensions.wants(stmt) else stmt.text


@contextmanager
def _notices(conn: psycopg.Connection, run: TapRun) -> Iterator[None]:
    def on_notice(diag: psycopg.errors.Diagnostic) -> None:
        run.notices.append(f"{diag.severity}: {diag.message_primary}")

    conn.add_notice_handler(on_notice)
    try:
        yield
    finally:
        conn.remove_notice_handler(on_notice)


def _prepared(path: Path) -> tuple[TestFile, TapRun, list[Statement] | None]:
    file = TestFile(path)
    run = TapRun(path)
    try:
        statements = list(file.statements)
    except MigrationError as exc:
        run.error = exc
        return file, run, None
    run.error = file.unsupported_meta_command()
    return file, run, None if run.error is not None else statements


def run_file(conn: psycopg.Connection, path: Path, *, extensions: Rewriter | None = None) -> TapRun:
    """Run one pgTAP file on ``conn`` and return its TAP, rolling back everything it did.

    Runs inside a transaction (a savepoint when ``conn`` is already in one) that is always rolled
    back; the file's own BEGIN/COMMIT/ROLLBACK are ignored, as the whole file is that transaction.
    An SQL error stops the file (as pg_prove's ON_ERROR_STOP) and is kept with its file:line:col.
    ``extensions`` answers the file's extension statements as the migration runner does.
    """
    file, run, statements = _prepared(path)
    if statements is None:
        return run
    with _notices(conn, run), conn.transaction(force_rollback=True):
        wanted = [s for s in statements if not (s.is_transaction_control or s.is_comment_only)]
        _run_statements(file, run, wanted, lambda stmt: conn.execute(_statement_sql(conn, stmt, extensions)))
    return run


def _run_statements(
    file: TestFile,
    run: TapRun,
    statements: Iterable[Statement],
    execute: Callable[[Statement], psycopg.Cursor[tuple[object, ...]]],
) -> None:
    """Feed the TAP rows of each statement to ``run``; the first error stops the file (ON_ERROR_STOP)."""
    parser = _Parser(run)
    for stmt in statements:
        try:
            lines = list(_tap_lines(execute(stmt)))
        except (psycopg.Error, SupamigrateError) as exc:
            run.error = _file_error(exc, file, stmt)
            return
        line = file.location(stmt.offset).line
        for text in lines:
            parser.feed(text, line)


def _file_error(exc: psycopg.Error | SupamigrateError, file: TestFile, stmt: Statement) -> MigrationError:
    if isinstance(exc, psycopg.Error):
        return located_error(exc, file, stmt)
    return MigrationError(file.location(stmt.start), exc.message, hint=exc.hint)


def run_session(conninfo: str, path: Path, *, extensions: Rewriter | None = None) -> TapRun:
    """Run one pgTAP file in a session of its own, as ``pg_prove`` runs it through psql.

    Statements run as written, in autocommit: what the file commits (a setup file that creates
    the helpers) stays in the database, its BEGIN ... ROLLBACK undoes what it wraps. The first
    SQL error stops the file (ON_ERROR_STOP) and ends the session, which rolls back a transaction
    left open.
    """
    file, run, statements = _prepared(path)
    if statements is None:
        return run
    # Never prepared, as psql never prepares: a repeated statement must not meet a cached plan
    # that the file's own DDL has since changed the result type of.
    with connect(conninfo, autocommit=True, prepare_threshold=None) as conn, _notices(conn, run):

        def execute(stmt: Statement) -> psycopg.Cursor[tuple[object, ...]]:
            rewritten = extensions is not None and extensions.wants(stmt)
            text = _statement_sql(conn, stmt, extensions)
            if not rewritten or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                return conn.execute(text)
            # What takes an extension statement's place may hold savepoints, which need a
            # transaction block; one statement is one transaction in autocommit anyway.
            with conn.transaction():
                return conn.execute(text)

        _run_statements(file, run, [s for s in statements if not s.is_comment_only], execute)
    return run


def leaves_nothing(path: Path) -> bool:
    """Whether the file is one ``BEGIN; ... ROLLBACK;``: running it cannot change the database."""
    try:
        statements = [s for s in TestFile(path).statements if not s.is_comment_only]
    except MigrationError:
        return False
    control = [i for i, s in enumerate(statements) if s.is_transaction_control]
    if control != [0, len(statements) - 1] or len(statements) < 2:
        return False
    first, last = (statements[i].tree for i in control)
    return (
        isinstance(first, ast.TransactionStmt) and first.kind in _BEGIN_KINDS
        and isinstance(last, ast.TransactionStmt) and last.kind == TransactionStmtKind.TRANS_STMT_ROLLBACK
    )


@dataclass
class TapSuite:
    """The pgTAP files of one run on one database, each run once, in name order, as ``pg_prove`` would.

    ``result(path)`` runs first the files before ``path`` that have not run yet: those ``wanted``
    (the run's other items, whose results are kept for them) and those that may commit (a setup
    file), so a file sees what it would see in a full run, whatever order its items are asked in
    (``pytest -k``, ``pytest -n``). A file that only rolls back and is not wanted is skipped.
    """

    __test__ = False  # not a pytest test class

    conninfo: str
    files: list[Path]
    wanted: Collection[Path] = ()
    extensions: Rewriter | None = None
    results: dict[Path, TapRun] = field(default_factory=dict)

    def result(self, path: Path) -> TapRun:
        """The TAP of ``path`` (one of ``files``), running it and the files before it when needed."""
        if path not in self.results:
            for before in self.files:
                if before == path:
                    break
                if before not in self.results and (before in self.wanted or not leaves_nothing(before)):
                    self.results[before] = run_session(self.conninfo, before, extensions=self.extensions)
            self.results[path] = run_session(self.conninfo, path, extensions=self.extensions)
        return self.results[path]


def prepare_database(conn: psycopg.Connection, files: Iterable[Path] | None = None) -> None:
    """What a test database has beside the template, made by a connection that may (the superuser).

    - The shim registry the build left (``supamigrate.shims``, when the migrations shim something)
      owned by ``postgres``, whom the files run as: an extension a file creates (the test
      helpers, pg_tle) is recorded there, as the superuser records those of the migrations.
    - ``dbdev.install`` when the project has no dbdev: database.dev's client is set up by hand in
      the dashboard, not by a migration, and the test files call it (``select
      dbdev.install('basejump-supabase_test_helpers')``). Given ``files``, only when one of them
      names ``dbdev.``: an extra schema would change what ``schemas_are()`` sees for everyone else.
    """
    with conn.transaction():
        conn.execute(_REGISTRY_FOR_POSTGRES)
        if files is not None and not any(_DBDEV_CALL.search(_read(p)) for p in files):
            return
        present = conn.execute("SELECT to_regnamespace(%s) IS NOT NULL", (testhelpers.DBDEV_SCHEMA,)).fetchone()
        if not (present and present[0]):
            conn.execute(testhelpers.dbdev_sql())


_REGISTRY_FOR_POSTGRES = """
DO $grant$
BEGIN
  IF pg_catalog.to_regclass('supamigrate.shims') IS NOT NULL AND pg_catalog.to_regrole('postgres') IS NOT NULL
     AND (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    -- Owner, as when postgres made it: the registry's DDL (COMMENT, GRANT) runs again per shim.
    ALTER SCHEMA supamigrate OWNER TO postgres;
    ALTER TABLE supamigrate.shims OWNER TO postgres;
  END IF;
END
$grant$"""


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
