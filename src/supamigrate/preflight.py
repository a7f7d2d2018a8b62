"""Preflight: what ``supabase db push`` would meet on a target database, found without writing.

The connection is read-only by construction: the session's transactions default to READ ONLY
and all the work happens in one read-only transaction that is rolled back, so it is safe against
any PostgreSQL, a shared Supabase instance included. It reports:

- the history errors ``supabase db push`` raises (remote versions missing locally, local files
  older than the last remote one) and which migrations are pending;
- objects the pending migrations create that already exist on the target, with their shape;
- relations the pending migrations refer to that resolve differently on the target than in the
  project (an unqualified ``users`` finding another project's ``public.users``);
- platform objects, functions and roles the migrations use that the target lacks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from . import ddl
from .database import connect, redact
from .ddl import Creation, Name
from .findings import FileLocation, Finding, Level, Location, ObjectLocation, failing
from .migrations import Migration, MigrationSet, Plan, recorded_history
from .platform import PLATFORM_SCHEMAS, stub_files
from .project import Project
from .sql.text import SqlText

# How migrations resolve unqualified names: the search_path of role postgres on Supabase.
MIGRATION_SEARCH_PATH = ("$user", "public", "extensions")
MIGRATION_ROLE = "postgres"
PLATFORM_ROLES = ("anon", "authenticated", "service_role")
SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")
ROW_COUNT_CAP = 10_000
SESSION_SETTINGS = (
    "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
    "SET statement_timeout = '30s'",
    "SET lock_timeout = '3s'",
    "SET idle_in_transaction_session_timeout = '60s'",
    # Types print the way migrations name them (public types unqualified).
    "SET search_path = public, extensions",
)
_SERIALS = {
    "serial": "integer",
    "serial4": "integer",
    "bigserial": "bigint",
    "serial8": "bigint",
    "smallserial": "smallint",
    "serial2": "smallint",
}


def open_read_only(db_url: str) -> psycopg.Connection:
    """A connection whose every transaction is READ ONLY (the password never shows in errors)."""
    conn = connect(db_url, autocommit=True, application_name="supamigrate preflight")
    try:
        for statement in SESSION_SETTINGS:
            conn.execute(statement)
        conn.autocommit = False
        conn.read_only = True
    except BaseException:
        conn.close()
        raise
    return conn


@dataclass(frozen=True)
class Relation:
    """A relation found on the target: kind, columns (name, type) and, for tables, a row count."""

    schema: str
    name: str
    kind: str
    columns: tuple[tuple[str, str], ...]
    rows: str = ""

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def describe(self) -> str:
        cols = ", ".join(f"{n} {t}" for n, t in self.columns)
        rows = f"; {self.rows}" if self.rows else ""
        return f"{self.kind} {self.qualified} ({cols}{rows})"


_RELKIND = {
    "r": "table",
    "p": "table",
    "v": "view",
    "m": "materialized view",
    "i": "index",
    "I": "index",
    "S": "sequence",
    "f": "foreign table",
    "c": "composite type",
}


class Target:
    """Lookups on the target database, each cached; failures inside stay in their savepoint."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.schemas = {str(r[0]) for r in conn.execute("SELECT nspname FROM pg_catalog.pg_namespace")}
        self.roles = {str(r[0]) for r in conn.execute("SELECT rolname FROM pg_catalog.pg_roles")}
        self._relations: dict[tuple[str, str], Relation | None] = {}
        self._types: dict[str, str] = {}

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        try:
            with self.conn.transaction():
                yield
        except psycopg.Error:
            pass

    def relation(self, schema: str, name: str) -> Relation | None:
        key = (schema, name)
        if key not in self._relations:
            self._relations[key] = self._load_relation(schema, name)
        return self._relations[key]

    def _load_relation(self, schema: str, name: str) -> Relation | None:
        row = self.conn.execute(
            "SELECT c.oid, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
            " ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
            (schema, name),
        ).fetchone()
        if row is None:
            return None
        oid, relkind = row
        columns = tuple(
            (str(n), str(t))
            for n, t in self.conn.execute(
                "SELECT attname, pg_catalog.format_type(atttypid, NULL) FROM pg_catalog.pg_attribute"
                " WHERE attrelid = %s AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
                (oid,),
            )
        )
        kind = _RELKIND.get(str(relkind), "relation")
        rows = self._row_count(oid) if kind in ("table", "materialized view") else ""
        return Relation(schema, name, kind, columns, rows)

    def _row_count(self, oid: int) -> str:
        counted: list[int] = []
        with self._savepoint():
            regclass = self.conn.execute("SELECT %s::regclass::text", (oid,)).fetchone()
            assert regclass is not None
            query = f"SELECT count(*) FROM (SELECT 1 FROM {regclass[0]} LIMIT {ROW_COUNT_CAP + 1}) t"
            found = self.conn.execute(query).fetchone()  # regclass prints the name quoted
            counted.append(int(found[0]) if found else 0)
        if counted:
            n = counted[0]
            return (
                f"more than {ROW_COUNT_CAP} rows" if n > ROW_COUNT_CAP else f"{n} row{'s' if n != 1 else ''}"
            )
        estimate = self.conn.execute(
            "SELECT reltuples::bigint FROM pg_catalog.pg_class WHERE oid = %s", (oid,)
        )
        value = estimate.fetchone()
        return f"about {max(int(value[0]), 0)} rows (not readable)" if value else ""

    def canonical_type(self, text: str) -> str:
        """A column type as written, spelled as the target spells it (timestamptz: timestamp with tz)."""
        key = text.lower()
        if key not in self._types:
            written = _SERIALS.get(key, key)
            found: list[str] = []
            with self._savepoint():
                row = self.conn.execute(
                    "SELECT pg_catalog.format_type(pg_catalog.to_regtype(%s), NULL)", (written,)
                ).fetchone()
                if row and row[0]:
                    found.append(str(row[0]))
            if found:
                self._types[key] = found[0]
            else:
                schema, _, bare = written.rpartition(".")
                self._types[key] = bare if schema in ("public", "extensions", "") else written
        return self._types[key]

    def type_info(self, schema: str, name: str) -> tuple[str, tuple[str, ...]] | None:
        row = self.conn.execute(
            "SELECT t.typtype, ARRAY(SELECT enumlabel FROM pg_catalog.pg_enum e WHERE e.enumtypid = t.oid"
            " ORDER BY enumsortorder) FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n"
            " ON n.oid = t.typnamespace WHERE n.nspname = %s AND t.typname = %s",
            (schema, name),
        ).fetchone()
        return (str(row[0]), tuple(row[1])) if row else None

    def function(self, schema: str, name: str, arguments: tuple[str, ...] | None) -> bool:
        """Whether ``schema.name`` exists (with exactly ``arguments``, when given)."""
        if arguments is None:
            row = self.conn.execute(
                "SELECT EXISTS (SELECT FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n"
                " ON n.oid = p.pronamespace WHERE n.nspname = %s AND p.proname = %s)",
                (schema, name),
            ).fetchone()
            return bool(row and row[0])
        found: list[bool] = []
        with self._savepoint():
            signature = f'"{schema}"."{name}"({", ".join(arguments)})'
            row = self.conn.execute(
                "SELECT pg_catalog.to_regprocedure(%s) IS NOT NULL", (signature,)
            ).fetchone()
            found.append(bool(row and row[0]))
        return bool(found and found[0])

    def extension_schema(self, name: str) -> str | None:
        row = self.conn.execute(
            "SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n"
            " ON n.oid = e.extnamespace WHERE e.extname = %s",
            (name,),
        ).fetchone()
        return str(row[0]) if row else None

    def table_object(self, kind: str, table: Relation, name: str) -> bool:
        """Whether ``table`` has the policy or trigger ``name``."""
        query = (
            "SELECT EXISTS (SELECT FROM pg_catalog.pg_policy WHERE polrelid = %s::regclass AND polname = %s)"
            if kind == "policy"
            else "SELECT EXISTS (SELECT FROM pg_catalog.pg_trigger"
            " WHERE tgrelid = %s::regclass AND tgname = %s)"
        )
        row = self.conn.execute(query, (f'"{table.schema}"."{table.name}"', name)).fetchone()
        return bool(row and row[0])


@dataclass
class _Local:
    """Objects the project defines: the platform stub's and those of its migrations so far."""

    relations: dict[tuple[str, str], str] = field(default_factory=dict)  # -> origin
    types: set[tuple[str, str]] = field(default_factory=set)
    functions: set[tuple[str, str]] = field(default_factory=set)
    schemas: set[str] = field(default_factory=lambda: {"public"})
    roles: set[str] = field(default_factory=set)


@dataclass
class PreflightReport:
    """What preflight found on the target; ``ok`` is false when a finding reaches ``fail_on``."""

    target: str
    project: Path
    server_version: str = ""
    recorded: list[str] = field(default_factory=list)
    pending: list[Migration] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    fail_on: str = "error"
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not failing(self.findings, self.fail_on)


class _Preflight:
    def __init__(self, project: Project, target: Target, report: PreflightReport) -> None:
        self.project = project
        self.target = target
        self.report = report
        self.local = _Local()
        # Relations the pending migrations create or drop, as the target will see them in turn.
        self.pending_relations: set[tuple[str, str]] = set()
        self.pending_dropped: set[tuple[str, str]] = set()
        # Pending CREATE ... IF NOT EXISTS that the target's existing object will swallow.
        self.swallowed: dict[tuple[str, str], Relation] = {}
        self.pending_functions: set[tuple[str, str]] = set()
        self.pending_roles: set[str] = set()
        self.pending_schemas: set[str] = set()

    # -- reporting ---------------------------------------------------------------------------

    def where(self, m: Migration, offset: int) -> FileLocation:
        loc = m.location(offset)
        return FileLocation(loc.path, loc.line, loc.column).relative_to(self.project.root)

    def add(
        self, level: str, code: str, message: str, where: Location | None = None, hint: str | None = None
    ) -> None:
        finding = Finding(Level(level), code, message, where, hint)
        if finding not in self.report.findings:
            self.report.findings.append(finding)

    # -- the project's own objects -------------------------------------------------------------

    def learn(self, facts: ddl.Facts, path: tuple[str, ...], origin: str) -> None:
        """Record what a statement of the stub or of a migration creates and drops."""
        home = _creation_schema(path)
        for c in facts.creations:
            schema = c.name.schema or home
            if c.kind == "schema":
                self.local.schemas.add(c.name.name)
            elif schema is None:
                continue
            elif c.kind in ddl.RELATION_KINDS:
                self.local.relations[(schema, c.name.name)] = origin
            elif c.kind == "type":
                self.local.types.add((schema, c.name.name))
                if c.labels is None:  # a composite type is also a relation
                    self.local.relations.setdefault((schema, c.name.name), origin)
            elif c.kind in ("function", "procedure"):
                self.local.functions.add((schema, c.name.name))
        for d in facts.drops:
            schema = d.name.schema or home
            if schema and d.kind in ddl.RELATION_KINDS:
                self.local.relations.pop((schema, d.name.name), None)
        self.local.roles.update(facts.created_roles)

    def learn_stub(self) -> None:
        for f in stub_files():
            for stmt in SqlText(f.text).statements():
                facts = ddl.analyse(stmt.text)
                if facts is not None:
                    self.learn(facts, MIGRATION_SEARCH_PATH, "platform")

    # -- resolution ------------------------------------------------------------------------------

    def local_resolves(self, name: Name, path: tuple[str, ...]) -> tuple[str, str] | None:
        for schema in [name.schema] if name.schema else _schemas(path):
            if (schema, name.name) in self.local.relations:
                return (schema, name.name)
        return None

    def target_has(self, schema: str, name: str) -> bool:
        if (schema, name) in self.pending_dropped:
            return (schema, name) in self.pending_relations
        return (schema, name) in self.pending_relations or self.target.relation(schema, name) is not None

    def target_resolves(self, name: Name, path: tuple[str, ...]) -> tuple[str, str] | None:
        for schema in [name.schema] if name.schema else _schemas(path):
            if self.target_has(schema, name.name):
                return (schema, name.name)
        return None

    def foreign(self, key: tuple[str, str]) -> Relation | None:
        """The target's relation at ``key`` unless it is the project's (or will be, once pushed)."""
        if key in self.swallowed:
            return self.swallowed[key]
        if key in self.pending_relations or key in self.local.relations:
            return None
        return self.target.relation(*key)

    # -- checks on one pending statement ---------------------------------------------------------

    def check_references(self, m: Migration, offset: int, facts: ddl.Facts, path: tuple[str, ...]) -> None:
        where = self.where(m, offset)
        for ref in facts.references:
            if ref.name.schema in SYSTEM_SCHEMAS:
                continue
            local = self.local_resolves(ref.name, path)
            remote = self.target_resolves(ref.name, path)
            label = f"{ref.name}" + (f" ({ref.context})" if ref.context else "")
            if remote is not None and remote in self.swallowed:
                existing = self.swallowed[remote]
                self.add(
                    "error",
                    "reference-resolves-differently",
                    f"{label} resolves to the target's existing {existing.describe()},"
                    " not to the table the migrations create (CREATE ... IF NOT EXISTS skipped it)",
                    where,
                    hint="rename your table or use another schema; the target's one belongs to someone else",
                )
                continue
            if local == remote:
                continue
            if remote is None:
                # Not on the target, though the platform or an applied migration made it locally.
                if local is not None:
                    self.add(
                        "error",
                        "missing-on-target",
                        f"{label} refers to {local[0]}.{local[1]}, which the target does not have",
                        where,
                        hint="the target lacks an object the migrations rely on; is it the right database?",
                    )
                continue
            if ref.name.schema in PLATFORM_SCHEMAS:
                continue  # the platform's objects exist on Supabase even where the stub leaves them out
            foreign = self.foreign(remote)
            if foreign is None:
                continue
            locally = f"to {local[0]}.{local[1]}" if local else "to nothing (no migration creates it)"
            self.add(
                "error",
                "reference-resolves-differently",
                f"{label} resolves {locally} in the project, but on the target to {foreign.describe()},"
                " which the migrations did not create",
                where,
                hint=f"schema-qualify the name (auth.{ref.name.name}, public.{ref.name.name}, ...) and create"
                " what you reference in a migration",
            )

    def check_creation(self, m: Migration, offset: int, c: Creation, path: tuple[str, ...]) -> None:
        where = self.where(m, offset)
        schema = c.name.schema or _creation_schema(path)
        if c.kind == "schema":
            if (
                c.name.name in self.target.schemas
                and c.mode == "create"
                and c.name.name not in self.pending_schemas
            ):
                self.add(
                    "error",
                    "object-exists",
                    f"schema {c.name.name} already exists on the target",
                    where,
                    hint="use CREATE SCHEMA IF NOT EXISTS, or another name",
                )
            self.pending_schemas.add(c.name.name)
            return
        if c.kind == "extension":
            self.check_extension(where, c)
            return
        if schema is None:
            return
        key = (schema, c.name.name)
        if c.kind in ddl.RELATION_KINDS:
            self.check_relation(where, c, key)
        elif c.kind == "type":
            self.check_type(where, c, key)
        elif c.kind in ("function", "procedure"):
            self.check_function(where, c, key)
        elif c.kind in ("policy", "trigger") and c.on is not None:
            table_key = (c.on.schema or _creation_schema(path) or "public", c.on.name)
            table = self.target.relation(*table_key)
            if table is None or table_key in self.pending_relations:
                return
            if c.mode != "or_replace" and self.target.table_object(c.kind, table, c.name.name):
                self.add(
                    "error",
                    "object-exists",
                    f"{c.kind} {c.name.name} on {table.qualified} already exists on the target",
                    where,
                    hint=f"drop it first (DROP {c.kind.upper()} IF EXISTS ...) or choose another name",
                )

    def check_relation(self, where: FileLocation, c: Creation, key: tuple[str, str]) -> None:
        existing = (
            None
            if key in self.pending_relations or key in self.pending_dropped
            else self.target.relation(*key)
        )
        self.pending_relations.add(key)
        if existing is None:
            return
        name = f"{key[0]}.{key[1]}"
        if existing.kind != c.kind:
            self.add(
                "error",
                "object-exists",
                f"the migration creates {c.kind} {name}, but the target already has {existing.describe()}",
                where,
                hint="choose another name or schema; the target's object is not yours",
            )
            return
        if c.kind != "table" or c.columns is None:
            level = "warning" if c.mode != "create" else "error"
            verb = (
                "replaces"
                if c.mode == "or_replace"
                else ("skips creating" if c.mode == "if_not_exists" else "fails on")
            )
            self.add(
                level,
                "object-exists",
                f"{c.kind} {name} already exists on the target; the migration {verb} it",
                where,
                hint="check that the target's object is the one your migrations expect",
            )
            return
        expected = [(n, self.target.canonical_type(t)) for n, t in c.columns]
        differences = _shape_differences(expected, existing.columns)
        if c.mode == "if_not_exists":
            if differences:
                self.swallowed[key] = existing
                self.add(
                    "error",
                    "object-exists",
                    f"table {name} already exists on the target with another shape"
                    f" ({'; '.join(differences)}):"
                    f" CREATE TABLE IF NOT EXISTS will skip it and leave the target's {existing.describe()}",
                    where,
                    hint="the target's table belongs to something else: use another name or schema",
                )
            else:
                self.add(
                    "warning",
                    "object-exists",
                    f"table {name} already exists on the target with the same columns ({existing.rows});"
                    " CREATE TABLE IF NOT EXISTS will skip it",
                    where,
                )
            return
        shape = f" with another shape ({'; '.join(differences)})" if differences else " with the same columns"
        self.add(
            "error",
            "object-exists",
            f"table {name} already exists on the target{shape}: {existing.describe()};"
            " the migration will fail (42P07 duplicate_table)",
            where,
            hint="the target's table belongs to something else: use another name or schema",
        )

    def check_type(self, where: FileLocation, c: Creation, key: tuple[str, str]) -> None:
        info = self.target.type_info(*key)
        if info is None or key in self.local.types:
            return
        kind, labels = info
        detail = f" (an enum of {', '.join(labels)})" if kind == "e" else ""
        if c.labels is not None and kind == "e" and tuple(labels) == c.labels:
            detail = " (an enum with the same labels)"
        self.add(
            "error",
            "object-exists",
            f"type {key[0]}.{key[1]} already exists on the target{detail}; the migration will fail (42710)",
            where,
            hint="choose another type name or schema",
        )

    def check_function(self, where: FileLocation, c: Creation, key: tuple[str, str]) -> None:
        if key in self.pending_functions:
            return
        self.pending_functions.add(key)
        if key in self.local.functions or not self.target.function(*key, c.arguments or ()):
            return
        signature = f"{key[0]}.{key[1]}({', '.join(c.arguments or ())})"
        if c.mode == "or_replace":
            self.add(
                "warning",
                "object-exists",
                f"{c.kind} {signature} already exists on the target; CREATE OR REPLACE will replace it",
                where,
                hint="make sure replacing the target's function is intended",
            )
        else:
            self.add(
                "error",
                "object-exists",
                f"{c.kind} {signature} already exists on the target; the migration will fail (42723)",
                where,
                hint="use CREATE OR REPLACE if it is yours, or another name",
            )

    def check_extension(self, where: FileLocation, c: Creation) -> None:
        installed = self.target.extension_schema(c.name.name)
        if installed is None:
            return
        if c.mode == "create":
            self.add(
                "error",
                "object-exists",
                f"extension {c.name.name} is already installed on the target (in {installed})",
                where,
                hint="use CREATE EXTENSION IF NOT EXISTS",
            )
        elif c.schema_option and c.schema_option != installed:
            self.add(
                "warning",
                "object-exists",
                f"extension {c.name.name} is installed in {installed} on the target,"
                f" not in {c.schema_option}",
                where,
                hint=f"qualify its objects as {installed}.<name>, or move it",
            )

    def check_drops(self, m: Migration, offset: int, facts: ddl.Facts, path: tuple[str, ...]) -> None:
        for d in facts.drops:
            schema = d.name.schema or _creation_schema(path)
            if schema is None or d.kind not in ddl.RELATION_KINDS:
                continue
            key = (schema, d.name.name)
            existing = self.foreign(key)
            if existing is not None and key not in self.local.relations:
                self.add(
                    "error",
                    "drops-foreign-object",
                    f"the migration drops the target's {existing.describe()},"
                    " which the migrations did not create",
                    self.where(m, offset),
                    hint="drop only what your migrations created",
                )
            self.pending_dropped.add(key)
            self.pending_relations.discard(key)

    def check_uses(self, m: Migration, offset: int, facts: ddl.Facts) -> None:
        where = self.where(m, offset)
        for fn in facts.functions:
            key = (fn.schema or "", fn.name)
            if key[0] in SYSTEM_SCHEMAS or key in self.pending_functions:
                continue
            if not self.target.function(key[0], key[1], None):
                self.add(
                    "error",
                    "missing-on-target",
                    f"function {key[0]}.{key[1]}() is not on the target",
                    where,
                    hint="install what provides it first (the platform, an extension, an earlier migration)",
                )
        for role in facts.roles:
            if role in self.target.roles or role in self.pending_roles or role.lower() == "public":
                continue
            self.add(
                "error",
                "missing-on-target",
                f"role {role} does not exist on the target",
                where,
                hint="a Supabase database has anon, authenticated and service_role; create other roles first",
            )
        self.pending_roles.update(facts.created_roles)

    # -- the whole run ---------------------------------------------------------------------------

    def run(self, mset: MigrationSet, plan: Plan) -> None:
        self.learn_stub()
        pending = {m.version for m in plan.pending}
        for m in mset.migrations:
            path: tuple[str, ...] = MIGRATION_SEARCH_PATH
            for stmt in m.statements:
                facts = ddl.analyse(stmt.text)
                if facts is None:
                    continue
                if facts.search_path is not None:
                    path = facts.search_path or ()
                if m.version in pending:
                    offset = stmt.offset + facts.start
                    self.check_references(m, offset, facts, path)
                    self.check_drops(m, offset, facts, path)
                    for c in facts.creations:
                        self.check_creation(m, offset, c, path)
                    self.check_uses(m, offset, facts)
                self.learn(facts, path, "pending" if m.version in pending else "applied")


def _schemas(path: tuple[str, ...]) -> list[str]:
    return [MIGRATION_ROLE if s == "$user" else s for s in path]


def _creation_schema(path: tuple[str, ...]) -> str | None:
    """Where an unqualified CREATE puts its object: the first schema of the path that exists.

    ``$user`` (a schema named postgres) does not exist on Supabase, so that is ``public``.
    """
    for schema in path:
        if schema != "$user":
            return schema
    return None


def _shape_differences(expected: list[tuple[str, str]], actual: tuple[tuple[str, str], ...]) -> list[str]:
    mine, theirs = dict(expected), dict(actual)
    out = []
    only_target = [n for n in theirs if n not in mine]
    only_local = [n for n in mine if n not in theirs]
    if only_target:
        out.append("only on the target: " + ", ".join(only_target))
    if only_local:
        out.append("only in the migration: " + ", ".join(only_local))
    for n, t in mine.items():
        if n in theirs and theirs[n] != t:
            out.append(f"{n} is {theirs[n]} on the target, {t} in the migration")
    return out


def check_platform(target: Target, report: PreflightReport, uses_platform: bool) -> None:
    """Whether the target has what a Supabase database has before any migration."""
    missing = []
    if "auth" not in target.schemas:
        missing.append("schema auth")
    elif target.relation("auth", "users") is None:
        missing.append("table auth.users")
    missing += [f"role {r}" for r in PLATFORM_ROLES if r not in target.roles]
    if not missing:
        return
    report.findings.append(
        Finding(
            Level.ERROR if uses_platform else Level.WARNING,
            "platform-missing",
            f"the target lacks the Supabase platform schema the migrations expect: {', '.join(missing)}",
            hint="preflight the Supabase project's database; a plain PostgreSQL gets the platform stub"
            " from `supamigrate apply`",
        )
    )


def _uses_platform(mset: MigrationSet, plan: Plan) -> bool:
    for m in plan.pending:
        for stmt in m.statements:
            facts = ddl.analyse(stmt.text)
            if facts is None:
                continue
            if any(r.name.schema == "auth" for r in facts.references) or any(
                f.schema == "auth" for f in facts.functions
            ):
                return True
            if set(facts.roles) & set(PLATFORM_ROLES):
                return True
    return False


def history_findings(plan: Plan, report: PreflightReport, root: Path) -> None:
    """The two errors ``supabase db push`` raises, changed files, and what is pending."""
    if plan.missing_locally:
        report.findings.append(
            Finding(
                Level.ERROR,
                "history-missing-locally",
                "Remote migration versions not found in local migrations directory: "
                + ", ".join(plan.missing_locally),
                ObjectLocation("supabase_migrations.schema_migrations"),
                hint="this database was migrated from another directory (or project); pull them with"
                " `supabase db pull`, or mark them reverted with"
                " `supabase migration repair --status reverted <version>`",
            )
        )
    if plan.out_of_order:
        report.findings.append(
            Finding(
                Level.ERROR,
                "history-out-of-order",
                "Found local migration files to be inserted before the last migration on remote database: "
                + ", ".join(m.filename for m in plan.out_of_order),
                FileLocation(Path("supabase/migrations")),
                hint="rename them to a later version (`supamigrate new`), or push with --include-all",
            )
        )
    for m in plan.changed:
        report.findings.append(
            Finding(
                Level.WARNING,
                "history-changed",
                f"{m.filename} was applied, but its statements differ from those recorded on the target",
                _relative(m.path, root),
                hint="write a new migration instead of editing an applied one",
            )
        )
    for m in plan.pending:
        report.findings.append(
            Finding(Level.INFO, "pending", f"{m.filename} would be applied", _relative(m.path, root))
        )
    if not plan.pending:
        report.findings.append(
            Finding(Level.INFO, "up-to-date", "no migration is pending: the target is up to date")
        )


def _relative(path: Path, root: Path) -> FileLocation:
    return FileLocation(path).relative_to(root)


def preflight(project: Project, db_url: str, *, fail_on: str = "error") -> PreflightReport:
    """Compare the project's migrations with the database at ``db_url`` without writing to it."""
    started = time.perf_counter()
    report = PreflightReport(redact(db_url), project.root, fail_on=fail_on)
    mset = MigrationSet.discover(project.migrations_dir)
    with open_read_only(db_url) as conn:
        try:
            with conn.transaction(force_rollback=True):
                row = conn.execute("SHOW server_version").fetchone()
                report.server_version = str(row[0]) if row else ""
                recorded = recorded_history(conn)
                report.recorded = [r.version for r in recorded]
                plan = Plan.make(mset, recorded)
                report.pending = list(plan.pending)
                history_findings(plan, report, project.root)
                target = Target(conn)
                check_platform(target, report, _uses_platform(mset, plan))
                _Preflight(project, target, report).run(mset, plan)
        finally:
            conn.rollback()
    report.seconds = time.perf_counter() - started
    return report
