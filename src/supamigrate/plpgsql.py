"""plpgsql_check on every PL/pgSQL function of a migrated database, as ``supabase db lint`` runs it.

Like the CLI: the extension is created inside a transaction that is always rolled back, functions
of the user schemas (the CLI's internal schemas left out) are checked with
``plpgsql_check_function(oid, format := 'json')``, and each issue's level is matched by prefix
(``warning extra`` is a warning). Unlike the CLI, trigger functions are checked too, against each
table whose triggers call them, and every problem is placed in the migration file that created
the function: the CREATE FUNCTION statement is found by parsing the migrations with pglast, and
the issue's line in the function body becomes a line of that file. Each problem is a
``findings.Finding`` (``problem`` makes one); ``report.plpgsql_text`` renders it as the CLI does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pglast
import psycopg
from psycopg import sql

from .build import ProjectDatabase, ServerChoice, Target
from .cache import Cache
from .database import connect, unique_name
from .errors import SqlLocation, SupamigrateError
from .findings import FileLocation, Finding, Level, failing
from .migrations import Migration, MigrationSet
from .platform import PLATFORM_SCHEMAS
from .project import Project
from .sql.statement import Statement

LEVELS = (Level.WARNING, Level.ERROR)  # the CLI's --level choices, lowest first
PACKAGE = "postgresql-{major}-plpgsql-check"

# Schemas `supabase db lint` leaves out when no --schema is given (LIKE patterns).
INTERNAL_SCHEMAS = (
    "information_schema", "pg\\_%", "\\_analytics", "\\_realtime", "\\_supavisor", "auth", "extensions",
    "pgbouncer", "realtime", "storage", "supabase\\_functions", "supabase\\_migrations", "cron", "dbdev",
    "graphql", "graphql\\_public", "net", "pgmq", "pgsodium", "pgsodium\\_masks", "pgtle", "repack",
    "tiger", "tiger\\_data", "timescaledb\\_%", "\\_timescaledb\\_%", "topology", "vault",
)

# Functions written in PL/pgSQL that are not part of an extension; trigger functions with the
# tables whose (non-internal) triggers call them, and the names those triggers give their
# transition tables (REFERENCING NEW TABLE AS ...), which the function's queries read.
_FUNCTIONS = """
SELECT p.oid, format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),
       n.nspname, p.proname, p.prosrc, p.prorettype = 'trigger'::regtype,
       array(SELECT DISTINCT ARRAY[format('%I.%I', tn.nspname, c.relname), t.tgnewtable, t.tgoldtable]
             FROM pg_trigger t
             JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace tn ON tn.oid = c.relnamespace
             WHERE t.tgfoid = p.oid AND NOT t.tgisinternal ORDER BY 1)
FROM pg_proc p
JOIN pg_namespace n ON n.oid = p.pronamespace
JOIN pg_language l ON l.oid = p.prolang
WHERE l.lanname = 'plpgsql'
  AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                  AND d.deptype = 'e')
  AND {schemas}
ORDER BY n.nspname, p.proname, p.oid
"""


# SQLSTATEs of a name that does not resolve: a relation, a function, a type or object, a schema.
UNDEFINED = frozenset({"42P01", "42883", "42704", "3F000"})
_QUALIFIED = re.compile(r'"?([A-Za-z_][\w$]*)"?\s*\.\s*"?[A-Za-z_][\w$]*"?')
_SCHEMA = re.compile(r'schema "([^"]+)"')


def stub_gap(message: str, sqlstate: str | None) -> str | None:
    """The platform schema a "does not exist" error points into (``auth`` for ``relation
    "auth.flow_state" does not exist``), or None.

    The migrations ran, so the function was created; what it names in a platform schema is
    the platform's, and missing here it is most likely a gap in the stub (or a typo the
    platform would refuse too): not reported as the project's error.
    """
    if sqlstate not in UNDEFINED:
        return None
    names = [m.group(1) for m in _QUALIFIED.finditer(message)] + [m.group(1) for m in _SCHEMA.finditer(message)]
    return next((n for n in names if n in PLATFORM_SCHEMAS and n != "supamigrate"), None)


def level_rank(level: str) -> int:
    """0 for a warning, 1 for an error, -1 for anything else (matched by prefix, as the CLI)."""
    named = Level.named(level)
    return LEVELS.index(named) if named in LEVELS else -1


def problem(
    function: str,
    level: str,
    message: str,
    location: SqlLocation | None = None,
    *,
    table: str | None = None,
    hint: str | None = None,
    query: str | None = None,
    sqlstate: str | None = None,
    body_line: int | None = None,
    statement: str | None = None,
    pg_detail: str | None = None,
    context: str | None = None,
) -> Finding:
    """One plpgsql_check issue as a finding, placed in the migration that created the function.

    The message names the function (and ``table``, the one a trigger function was checked
    against). The level is ``error`` for plpgsql_check's errors and ``warning`` for the rest;
    plpgsql_check's own name for it (``warning extra``, ``performance``) is kept in ``extras`` as
    ``plpgsql_level``, with the function, table, sqlstate, ``body_line`` (the line in the body,
    as plpgsql_check counts), ``statement`` (its kind: "SQL statement", "assignment"), the
    server's DETAIL as ``pg_detail`` and its CONTEXT. The query is the finding's detail. An
    error naming a missing object of a platform schema (``stub_gap``) is a warning that says so.
    """
    on = f" (trigger on {table})" if table else ""
    gap = stub_gap(message, sqlstate) if level_rank(level) == level_rank("error") else None
    if gap:
        message += f" (not in supamigrate's platform stub of {gap}: if the platform has it, the stub lacks it)"
        hint = hint or (
            f"check the name against Supabase's {gap} schema; if it is right, this is a gap of supamigrate's"
            " stub, not an error of the project"
        )
    extras = {
        "function": function,
        "table": table,
        "plpgsql_level": level,
        "sqlstate": sqlstate,
        "body_line": body_line,
        "statement": statement,
        "pg_detail": pg_detail,
        "context": context,
        "stub_gap": gap,
    }
    return Finding(
        Level.ERROR if level_rank(level) == level_rank("error") and not gap else Level.WARNING,
        "plpgsql_check",
        f"{function}{on}: {message}",
        FileLocation(location.path, location.line, location.column) if location else None,
        hint=hint,
        detail=query,
        source="plpgsql_check",
        extras=extras,
    )


@dataclass
class Report:
    """What plpgsql_check found, which functions it checked and which it could not."""

    problems: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    unchecked: list[tuple[str, str]] = field(default_factory=list)  # (function, why)

    def shown(self, level: str = "warning") -> list[Finding]:
        """Problems at ``level`` or above (the CLI's --level; other levels are never shown)."""
        minimum = level_rank(level)
        return [p for p in self.problems if level_rank(p.extras["plpgsql_level"]) >= minimum]

    def fails(self, fail_on: str) -> bool:
        """Whether ``--fail-on`` turns this report into a non-zero exit."""
        return bool(failing(self.shown(), fail_on))


@dataclass(frozen=True)
class Definition:
    """A CREATE FUNCTION / PROCEDURE statement of a migration, and where its body starts."""

    migration: Migration
    schema: str | None
    name: str
    body: str | None
    body_offset: int | None  # offset in the file of the body's first character
    offset: int  # offset in the file of the statement's CREATE


def definitions(mset: MigrationSet) -> list[Definition]:
    """Every CREATE FUNCTION / PROCEDURE of the migrations, in apply order."""
    found: list[Definition] = []
    for m in mset.migrations:
        for stmt in m.statements:
            if stmt.keyword != "CREATE":
                continue  # never parsed just to learn it is no CREATE FUNCTION
            node = stmt.tree
            if not isinstance(node, pglast.ast.CreateFunctionStmt):
                continue
            names = [n.sval for n in node.funcname or ()]
            body, body_at = _body(node, stmt)
            found.append(
                Definition(
                    migration=m,
                    schema=names[-2] if len(names) > 1 else None,
                    name=names[-1],
                    body=body,
                    body_offset=stmt.offset + body_at if body_at is not None else None,
                    offset=stmt.start,
                )
            )
    return found


def _body(node: pglast.ast.CreateFunctionStmt, stmt: Statement) -> tuple[str | None, int | None]:
    """The body of a CREATE FUNCTION and the offset in the statement's text of its first character."""
    text = stmt.text
    for opt in node.options or ():
        if opt.defname != "as" or not opt.arg:
            continue
        body = opt.arg[0].sval
        location = getattr(opt, "arg_location", None)
        # The string constant holding the body: at the parser's location, else the one that is it.
        for t in stmt.tokens:
            if t.name != "SCONST":
                continue
            literal = text[t.start : t.end + 1]
            if t.start == location or literal.endswith(body + literal[: _opening(literal)]):
                return body, t.start + _opening(literal)
        return body, None
    return None, None


def _opening(literal: str) -> int:
    """Length of a string constant's opening delimiter: $tag$, E' or '."""
    if literal.startswith("$"):
        return literal.index("$", 1) + 1
    return literal.index("'") + 1


def _definition_for(defs: Sequence[Definition], schema: str, name: str, prosrc: str) -> Definition | None:
    """The statement that created the live function: the last one whose body is the live body."""
    same_name = [d for d in defs if d.name == name and d.schema in (None, schema)]
    exact = [d for d in same_name if d.body == prosrc]
    if exact:
        return exact[-1]
    return same_name[-1] if same_name else None


def _place(
    defn: Definition | None, prosrc: str, issue: dict[str, Any]
) -> tuple[SqlLocation | None, int | None]:
    """The file location of an issue: its statement's line in the body, moved into the file."""
    statement = issue.get("statement") or {}
    line = int(statement["lineNumber"]) if statement.get("lineNumber") else None
    if defn is None:
        return None, line
    m = defn.migration
    if line is None or defn.body_offset is None:
        return m.location(defn.offset), line
    body = defn.body if defn.body is not None else prosrc
    lines = body.split("\n")
    line_at = sum(len(text) + 1 for text in lines[: line - 1])
    offset = line_at
    query = issue.get("query") or {}
    if query.get("text") and query.get("position"):
        # plpgsql_check's query text keeps the source's length (INTO is blanked, not cut), so
        # the error position inside it is a position inside the body once the query is found.
        head = query["text"].lstrip().split("  ", 1)[0].split("\n", 1)[0]
        start = body.find(head, line_at) if head else -1
        if start >= 0:
            lead = len(query["text"]) - len(query["text"].lstrip())
            offset = start - lead + int(query["position"]) - 1
    else:
        offset += len(lines[line - 1]) - len(lines[line - 1].lstrip()) if line <= len(lines) else 0
    return m.location(defn.body_offset + offset), line


@dataclass(frozen=True)
class TriggerUse:
    """A table a trigger function is checked on, and its trigger's transition table names."""

    table: str
    new_table: str | None = None
    old_table: str | None = None


def _issues(conn: psycopg.Connection, oid: int, use: TriggerUse | None) -> list[dict[str, Any]]:
    if use is None:
        query = sql.SQL("SELECT plpgsql_check_function({}::oid::regprocedure, format := 'json')").format(
            sql.Literal(oid)
        )
    else:
        # Without the names, every query on a transition table fails: relation does not exist.
        query = sql.SQL(
            "SELECT plpgsql_check_function({}::oid::regprocedure, {}::regclass, format := 'json',"
            " newtable := {}, oldtable := {})"
        ).format(sql.Literal(oid), sql.Literal(use.table), sql.Literal(use.new_table), sql.Literal(use.old_table))
    rows = conn.execute(query).fetchall()
    text = "\n".join(str(r[0]) for r in rows if r[0])
    if not text.strip():
        return []
    issues: list[dict[str, Any]] = json.loads(text).get("issues") or []
    return issues


def _ensure_extension(conn: psycopg.Connection) -> None:
    available = conn.execute(
        "SELECT current_setting('server_version_num')::int / 10000,"
        " EXISTS (SELECT FROM pg_available_extensions WHERE name = 'plpgsql_check')"
    ).fetchone()
    assert available is not None
    major, present = available
    if not present:
        package = PACKAGE.format(major=major)
        raise SupamigrateError(
            f"plpgsql_check is not installed on this PostgreSQL {major} server",
            hint=f"install the Debian/Ubuntu package {package} (`apt-get install {package}`, or `make setup`"
            " as root)",
        )
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS plpgsql_check")
    except psycopg.errors.InsufficientPrivilege as exc:
        raise SupamigrateError(
            f"cannot create plpgsql_check: {exc.diag.message_primary}",
            hint="connect as a superuser (the ephemeral server's connection is one)",
            pg_error=exc,
        ) from exc


def _check_one(
    conn: psycopg.Connection,
    oid: int,
    signature: str,
    prosrc: str,
    defn: Definition | None,
    uses: Sequence[TriggerUse | None],
) -> list[Finding]:
    """The problems of one function; a trigger function's, checked on each of its tables (with
    each trigger's transition tables), a problem reported once."""
    problems: list[Finding] = []
    seen: set[tuple[str, str, int | None]] = set()
    for use in uses:
        table = use.table if use else None
        try:
            with conn.transaction():
                issues = _issues(conn, oid, use)
        except psycopg.Error as exc:
            message = f"plpgsql_check failed: {exc.diag.message_primary}"
            issues = [{"level": "error", "message": message, "sqlState": exc.diag.sqlstate}]
        for issue in issues:
            location, body_line = _place(defn, prosrc, issue)
            key = (str(issue.get("level")), str(issue.get("message")), body_line)
            if key in seen:
                continue
            seen.add(key)
            query = issue.get("query") or {}
            problems.append(
                problem(
                    signature,
                    str(issue.get("level") or "error"),
                    str(issue.get("message") or ""),
                    location,
                    table=table,
                    hint=issue.get("hint"),
                    query=query.get("text"),
                    sqlstate=issue.get("sqlState"),
                    body_line=body_line,
                    statement=(issue.get("statement") or {}).get("text"),
                    pg_detail=issue.get("detail"),
                    context=issue.get("context"),
                )
            )
    return problems


def check_functions(
    conn: psycopg.Connection, mset: MigrationSet, *, schemas: Sequence[str] | None = None
) -> Report:
    """Run plpgsql_check on the PL/pgSQL functions of the database of ``conn``.

    ``conn`` needs no open transaction and the right to create the extension (a superuser).
    ``schemas`` limits the check (the CLI's --schema); by default every schema but the CLI's
    internal ones. Nothing is left behind: all of it runs in a transaction rolled back at the end.
    """
    report = Report()
    defs = definitions(mset)
    with conn.transaction(force_rollback=True):
        _ensure_extension(conn)
        if schemas:
            where = sql.SQL("n.nspname = ANY({})").format(sql.Literal(list(schemas)))
        else:
            where = sql.SQL("n.nspname NOT LIKE ALL({})").format(sql.Literal(list(INTERNAL_SCHEMAS)))
        rows = conn.execute(sql.SQL(_FUNCTIONS).format(schemas=where)).fetchall()
        for oid, signature, schema, name, prosrc, is_trigger, tables in rows:
            if is_trigger and not tables:
                report.unchecked.append((signature, "no trigger calls it, and plpgsql_check needs a table"))
                continue
            defn = _definition_for(defs, schema, name, prosrc)
            on = [TriggerUse(*t) for t in tables] if is_trigger else [None]
            report.problems += _check_one(conn, oid, signature, prosrc, defn, on)
            report.checked.append(signature)
    return report


def check_project(
    project: Project,
    *,
    pg_bin: Path | None = None,
    os_user: str | None = None,
    run_root: Path | None = None,
    cache: Cache | None = None,
    schemas: Sequence[str] | None = None,
    statement_timeout_ms: int | None = None,
) -> Report:
    """Build the project (stub and migrations) on an ephemeral server and check its functions.

    The seed is left out: it cannot change a function. The server is gone when this returns.
    """
    with ProjectDatabase.start(
        project,
        target=Target.WORKING,
        name=unique_name("supamigrate_plpgsql"),
        server=ServerChoice(pg_bin=pg_bin, os_user=os_user, run_root=run_root, cache=cache),
        seed=False,
        statement_timeout_ms=statement_timeout_ms,
    ) as built, connect(built.conninfo) as conn:
        return check_functions(conn, MigrationSet.discover(project.migrations_dir), schemas=schemas)
