"""CREATE EXTENSION as the platform answers it: the real extension, a shim, or a clear refusal.

On Supabase, ``postgres`` creates extensions the platform ships (pg_net, supabase_vault, pg_cron,
vector, ...). A plain server has only those whose packages are installed. The migration runner
hands every statement about an extension to an ``ExtensionPolicy``, which returns the SQL to run
in its place:

- an extension the server has (``pg_available_extensions``), or one already created: the
  statement itself, plus the grants the platform adds after creating some of them (pg_cron);
- an extension the project shims (``[platform] shims = [...]`` in ``supamigrate.toml``) that the
  server lacks: the shim's SQL, which builds the same schemas, tables, types and functions and
  records itself in ``supamigrate.shims`` (so DROP / COMMENT / ALTER EXTENSION work on it too);
- anything else: ``ExtensionUnavailable``, naming the extension and how to install or shim it.

pg_cron is special: its library must be preloaded and it can only be created in the database named
by ``cron.database_name``. ``server_settings`` gives the server options that make the database a
project is built in that database; elsewhere a shimmed pg_cron falls back to the shim.
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pglast
import psycopg
from pglast import ast
from pglast.enums import DropBehavior, ObjectType
from pglast.stream import RawStream
from psycopg import sql

from .. import testhelpers
from ..errors import ExtensionUnavailable as ExtensionUnavailable  # re-exported: it lived here
from ..errors import SupamigrateError
from ..findings import Finding, Level, ObjectLocation
from ..project import Project
from ..sql.statement import Statement
from .nested import NestedExtension, function_name, nested_extensions, plpgsql_body_kind

SHIM_SCHEMA = "supamigrate"
# Extensions with a shim, and the schema each creates its objects in (None: the one asked for).
SHIMS: dict[str, str | None] = {
    "pg_net": "net",
    "supabase_vault": "vault",
    "pg_cron": "cron",
    "pgjwt": None,
    "http": None,
    "pg_jsonschema": None,
    "vector": None,
    "pg_graphql": "graphql",
    "pgmq": "pgmq",
    "wrappers": None,
    "pgsodium": "pgsodium",
}
# What a test sees of each shim that differs from the real extension (the info line of `check`).
SHIM_NOTES: dict[str, str] = {
    "pg_net": "requests are recorded in net.http_request_queue, never sent",
    "supabase_vault": "secrets are encrypted with pgcrypto under a key kept beside them (tests only)",
    "pg_cron": "jobs are recorded and schedules checked, never run",
    "pgjwt": "sign and verify as pgjwt, in plain SQL",
    "http": "calls are recorded and answered from a mock table, never sent",
    "pg_jsonschema": "JSON Schema checks in PL/pgSQL (the common keywords)",
    "vector": "exact scans stand in for hnsw and ivfflat indexes (same results, slower)",
    "pg_graphql": "graphql.resolve answers that GraphQL is not served here",
    "pgmq": "queues as pgmq 1.5 keeps them; partitioned queues are refused",
    "wrappers": "foreign tables apply; reading one fails, as no remote service is reached",
    "pgsodium": "keys, hashes and HMACs as pgsodium; ciphertexts round-trip but are not libsodium's",
}
# Extensions every Supabase project has before its first migration, and the schema of each: the
# stub creates them, the real one where the server has it, else the shim.
PREINSTALLED: dict[str, str] = {"supabase_vault": "vault", "pg_graphql": "graphql"}
# Extensions a shim builds on, which must already exist (as they do on the platform).
SHIM_REQUIRES: dict[str, tuple[str, ...]] = {
    "pgjwt": ("pgcrypto",),
    "supabase_vault": ("pgcrypto",),
    "pgsodium": ("pgcrypto",),
}
# SQL the platform runs after creating an extension (supautils' after-create scripts).
AFTER_CREATE = {"pg_cron": "after_pg_cron.sql", "pg_net": "after_pg_net.sql"}
# Debian/Ubuntu packages (PGDG names) of extensions that are not part of postgresql-contrib.
PACKAGES = {
    "pg_cron": "postgresql-{major}-cron",
    "pgtap": "postgresql-{major}-pgtap",
    "plpgsql_check": "postgresql-{major}-plpgsql-check",
    "vector": "postgresql-{major}-pgvector",
    "http": "postgresql-{major}-http",
    "postgis": "postgresql-{major}-postgis-3",
    "pg_partman": "postgresql-{major}-partman",
    "hypopg": "postgresql-{major}-hypopg",
    "pg_repack": "postgresql-{major}-repack",
    "pgrouting": "postgresql-{major}-pgrouting",
    "rum": "postgresql-{major}-rum",
    "timescaledb": "timescaledb-2-postgresql-{major}",
    "pg_hashids": "postgresql-{major}-pg-hashids",
    "pgaudit": "postgresql-{major}-pgaudit",
    "orafce": "postgresql-{major}-orafce",
}
# Extensions real projects create that no shim can stand in for faithfully, and why.
UNSHIMMABLE = {
    "plv8": "plv8 runs the functions' JavaScript in V8, which SQL cannot imitate (and the platform no longer"
    " offers it from PostgreSQL 17 on); rewrite those functions in plpgsql or sql, or run against a server"
    " that has plv8 (--db-url)",
    "plcoffee": "plcoffee is plv8's CoffeeScript; rewrite those functions in plpgsql or sql",
    "plls": "plls is plv8's LiveScript; rewrite those functions in plpgsql or sql",
}
# pgvector's index methods, which the vector shim answers with hash indexes.
_VECTOR_METHODS = frozenset({"hnsw", "ivfflat"})
# The version each shim registers itself with in pg_extension: the version the platform ships.
VERSIONS: dict[str, str] = {
    "pg_net": "0.14.0",
    "supabase_vault": "0.3.1",
    "pg_cron": "1.6",
    "pgjwt": "0.2.0",
    "http": "1.6",
    "pg_jsonschema": "0.3.3",
    "vector": "0.8.0",
    "pg_graphql": "1.5.11",
    "pgmq": "1.5.1",
    "wrappers": "0.5.0",
    "pgsodium": "3.1.8",
}
# The catalog rows a shim created (those whose xmin is the transaction id of the savepoint its
# registry row was written in): the objects a real extension would have as members.
_MEMBERS = """
WITH sub AS (SELECT xmin AS xid FROM supamigrate.shims WHERE name = {name})
SELECT 'pg_namespace'::regclass AS classid, n.oid FROM pg_namespace n, sub WHERE n.xmin = sub.xid
  AND n.nspname <> ALL({kept})
UNION ALL SELECT 'pg_class'::regclass, c.oid FROM pg_class c, sub WHERE c.xmin = sub.xid
  AND (c.relkind IN ('r', 'v', 'm', 'p', 'c', 'f')
       OR (c.relkind = 'S' AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                            AND d.objid = c.oid AND d.deptype IN ('a', 'i'))))
UNION ALL SELECT 'pg_type'::regclass, t.oid FROM pg_type t, sub WHERE t.xmin = sub.xid
  AND (t.typrelid = 0
       OR t.typtype = 'c' AND EXISTS (SELECT FROM pg_class r WHERE r.oid = t.typrelid AND r.relkind = 'c'))
  AND NOT EXISTS (SELECT FROM pg_type b WHERE b.typarray = t.oid)
UNION ALL SELECT 'pg_proc'::regclass, p.oid FROM pg_proc p, sub WHERE p.xmin = sub.xid
UNION ALL SELECT 'pg_operator'::regclass, o.oid FROM pg_operator o, sub WHERE o.xmin = sub.xid
UNION ALL SELECT 'pg_opfamily'::regclass, f.oid FROM pg_opfamily f, sub WHERE f.xmin = sub.xid
UNION ALL SELECT 'pg_opclass'::regclass, f.oid FROM pg_opclass f, sub WHERE f.xmin = sub.xid
UNION ALL SELECT 'pg_cast'::regclass, k.oid FROM pg_cast k, sub WHERE k.xmin = sub.xid
UNION ALL SELECT 'pg_am'::regclass, a.oid FROM pg_am a, sub WHERE a.xmin = sub.xid
UNION ALL SELECT 'pg_foreign_data_wrapper'::regclass, w.oid FROM pg_foreign_data_wrapper w, sub WHERE w.xmin = sub.xid
"""
# Lists the shim's objects in its registry row, then registers the shim as the extension itself:
# a row in pg_extension and its objects as members (pg_depend 'e'), as CREATE EXTENSION leaves
# them. So pg_dump, advisors and \dx see the extension and none of its internals, and DROP
# EXTENSION drops it as it drops a real one.
_REGISTER = """
DO $register$
DECLARE
  ext oid;
BEGIN
  UPDATE supamigrate.shims SET objects = coalesce((
    SELECT jsonb_agg(jsonb_build_object('type', i.type, 'identity', i.identity) ORDER BY o.oid)
    FROM ({members}) o, pg_identify_object(o.classid, o.oid, 0) i), '[]')
  WHERE name = {name};
  -- Only a superuser writes catalogs; elsewhere the shim stays a set of plain objects.
  IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
    RETURN;
  END IF;
  ext := pg_catalog.pg_nextoid('pg_catalog.pg_extension', 'oid', 'pg_catalog.pg_extension_oid_index');
  INSERT INTO pg_catalog.pg_extension
    (oid, extname, extowner, extnamespace, extrelocatable, extversion, extconfig, extcondition)
  VALUES (ext, {name}, (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = current_user),
          pg_catalog.to_regnamespace({home}), false, {version}, NULL, NULL);
  INSERT INTO pg_catalog.pg_depend (classid, objid, objsubid, refclassid, refobjid, refobjsubid, deptype)
  VALUES ('pg_extension'::regclass, ext, 0, 'pg_namespace'::regclass, pg_catalog.to_regnamespace({home}), 0, 'n');
  INSERT INTO pg_catalog.pg_depend (classid, objid, objsubid, refclassid, refobjid, refobjsubid, deptype)
  SELECT o.classid, o.oid, 0, 'pg_extension'::regclass, ext, 0, 'e' FROM ({members}) o;
END
$register$
"""


# A shim made without a superuser (the test helpers in a test's own session) is not registered in
# pg_extension: its objects are dropped one by one, in reverse creation order, retrying those another
# of its objects still needs (a trigger's function goes with its table).
_DROP_ALL = """
DO $drop$
DECLARE
  pending text[] := {}::text[];
  blocked text[];
  statement text;
BEGIN
  WHILE pg_catalog.cardinality(pending) > 0 LOOP
    blocked := '{{}}';
    FOREACH statement IN ARRAY pending LOOP
      BEGIN
        EXECUTE statement;
      EXCEPTION WHEN dependent_objects_still_exist THEN
        blocked := blocked || statement;
      END;
    END LOOP;
    IF pg_catalog.cardinality(blocked) = pg_catalog.cardinality(pending) THEN
      EXECUTE blocked[1];
    END IF;
    pending := blocked;
  END LOOP;
END
$drop$"""
_DROP_KINDS = {
    "schema": "SCHEMA",
    "table": "TABLE",
    "view": "VIEW",
    "materialized view": "MATERIALIZED VIEW",
    "sequence": "SEQUENCE",
    "type": "TYPE",
    "composite type": "TYPE",
    "domain": "DOMAIN",
    "function": "FUNCTION",
    "procedure": "PROCEDURE",
    "aggregate": "AGGREGATE",
    "operator": "OPERATOR",
    "operator family": "OPERATOR FAMILY",
    "cast": "CAST",
    "access method": "ACCESS METHOD",
}


def shim_names() -> tuple[str, ...]:
    return tuple(sorted(SHIMS))


def _shim_text(filename: str) -> str:
    return resources.files(__package__).joinpath("shims", filename).read_text(encoding="utf-8")


def is_extension_statement(statement: Statement) -> bool:
    """Whether ``statement`` is CREATE / DROP / ALTER / COMMENT ON EXTENSION (the runner's cue)."""
    return statement.is_extension_statement


def is_vector_index(statement: Statement) -> bool:
    """Whether ``statement`` is CREATE INDEX ... USING hnsw / ivfflat (pgvector's methods)."""
    node = statement.tree if statement.keyword == "CREATE" else None
    return isinstance(node, ast.IndexStmt) and node.accessMethod in _VECTOR_METHODS


def created_extensions(statements: Iterable[Statement]) -> set[str]:
    """Names of the extensions that CREATE EXTENSION statements among ``statements`` create."""
    names: set[str] = set()
    for stmt in statements:
        node = stmt.tree if stmt.is_extension_statement else None
        if isinstance(node, ast.CreateExtensionStmt) and node.extname:
            names.add(node.extname)
    return names


def server_settings(created: Collection[str], *, database: str, pkglibdir: Path) -> str:
    """Server options (``-c name=value ...``) that the extensions in ``created`` need, or "".

    ``database`` is where the project is built (clones of it copy what it holds) and ``pkglibdir``
    where the server loads libraries from. Today only pg_cron needs any, and only when its library
    is installed (else the shim or a clear error takes over): it is preloaded, with its metadata
    database the one the project is built in. Background workers are turned off, so pg_cron's
    launcher never connects: it would keep the template from being cloned, and in tests no job
    should fire.
    """
    if "pg_cron" not in created or not (pkglibdir / "pg_cron.so").exists():
        return ""
    return f"-c shared_preload_libraries=pg_cron -c cron.database_name={database} -c max_worker_processes=0"


@dataclass(frozen=True)
class ExtensionPolicy:
    """How a project's migrations get their extensions: real ones, its shims, or a clear error."""

    shims: frozenset[str] = frozenset()
    # Functions whose PL/pgSQL body creates extensions, by name: a statement that calls one runs
    # with the platform's rights to create them (filled as their CREATE FUNCTION goes by).
    installers: dict[str, tuple[NestedExtension, ...]] = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def for_project(cls, project: Project) -> ExtensionPolicy:
        """``[platform] shims`` of the project's ``supamigrate.toml``: every shim when absent or
        ``"auto"`` (each used only where the server lacks the real extension), else the names
        listed, each of which must name a shim."""
        names = project.tool.platform.shims
        if names is None:
            return cls(frozenset(SHIMS))
        project.tool.require_known("platform", "shims", names, shim_names(), "shims")
        return cls(frozenset(names))

    def wants(self, statement: Statement) -> bool:
        """Extension statements, pgvector index statements when vector may be shimmed, DO blocks
        and functions that create extensions, and statements that call such functions."""
        return (
            statement.is_extension_statement
            or ("vector" in self.shims and is_vector_index(statement))
            or bool(nested_extensions(statement))
            or self._calls_installer(statement)
            or isinstance(statement.tree, ast.CreateFdwStmt)
            or _sets_pgrst(statement)
        )

    def __call__(self, conn: psycopg.Connection, statement: Statement) -> str:
        """The SQL to run in place of an extension ``statement`` (often its own text)."""
        node, text = statement.tree, statement.text
        kind = plpgsql_body_kind(statement)
        if kind == "function":
            name = function_name(statement)
            if name:
                self.installers[name.lower()] = nested_extensions(statement)
            return text
        if kind == "do" or self._calls_installer(statement):
            return self._with_nested(conn, statement)
        if _sets_pgrst(statement):
            # Any PostgREST setting, also one newer than the stub's GRANT SET list.
            return _elevated(conn, text)
        if isinstance(node, ast.CreateFdwStmt):
            # Supautils lets postgres create a foreign data wrapper (Wrappers' are made so), which
            # plain PostgreSQL keeps for superusers (which alone may own one); postgres may use it.
            owner = sql.SQL("GRANT USAGE ON FOREIGN DATA WRAPPER {} TO {{role}} WITH GRANT OPTION").format(
                sql.Identifier(str(node.fdwname))
            )
            return _elevated(conn, text, then=owner.as_string(conn))
        if isinstance(node, ast.IndexStmt):
            # The shim's hnsw and ivfflat are hash indexes, which know no m, ef_construction or
            # lists: drop the tuning options, which change speed, never results.
            if node.options and _shim_installed(conn, "vector"):
                index = copy.deepcopy(node)  # the statement's tree stays as parsed
                index.options = None
                return str(RawStream()(index))
            return text
        if isinstance(node, ast.CreateExtensionStmt):
            return self._create(conn, text, node)
        if isinstance(node, ast.DropStmt) and node.removeType == ObjectType.OBJECT_EXTENSION:
            return self._drop(conn, text, node)
        if isinstance(node, ast.CommentStmt) and node.objtype == ObjectType.OBJECT_EXTENSION:
            name = _string(node.object)
            return "SELECT" if name and _shim_installed(conn, name) else text
        if isinstance(node, ast.AlterExtensionStmt) and node.extname and _shim_installed(conn, node.extname):
            return "SELECT"  # ALTER EXTENSION ... UPDATE: a shim has one version
        if isinstance(node, (ast.AlterExtensionContentsStmt, ast.AlterObjectSchemaStmt)):
            name = node.extname if isinstance(node, ast.AlterExtensionContentsStmt) else _string(node.object)
            if name and _shim_installed(conn, name):
                raise ExtensionUnavailable(
                    f"extension {name} is a supamigrate shim here;"
                    " ALTER EXTENSION cannot change its members or schema",
                    hint="create it in the schema you want from the start, as the platform's dashboard does",
                )
        return text

    # -- CREATE EXTENSION ---------------------------------------------------------------------

    # -- CREATE EXTENSION inside PL/pgSQL -----------------------------------------------------

    def _calls_installer(self, statement: Statement) -> bool:
        if not self.installers or plpgsql_body_kind(statement) == "function":
            return False
        text = statement.text.lower()
        return any(re.search(rf"\b{re.escape(name)}\s*\(", text) for name in self.installers)

    def _with_nested(self, conn: psycopg.Connection, statement: Statement) -> str:
        """A DO block with its CREATE EXTENSION statements answered as top-level ones are, or a
        call of a function that creates extensions; either runs with the rights to create them."""
        text = statement.text
        cursor = 0
        for nested in nested_extensions(statement):
            at = text.find(nested.source, cursor)
            if at < 0:
                continue
            # Base64, so that no quote or dollar tag of the answer can end the body it goes into.
            encoded = base64.b64encode(self._nested_sql(conn, nested).encode()).decode()
            answer = f"pg_catalog.convert_from(pg_catalog.decode('{encoded}', 'base64'), 'UTF8')"
            replacement = answer if nested.dynamic else f"EXECUTE {answer}"
            text = text[:at] + replacement + text[at + len(nested.source) :]
            cursor = at + len(replacement)
        before: list[str] = []
        lowered = statement.text.lower()
        for name, creates in self.installers.items():
            if not re.search(rf"\b{re.escape(name)}\s*\(", lowered):
                continue
            # The function's body is the project's and stays as written: a shim it creates
            # IF NOT EXISTS is created first, so that its CREATE EXTENSION finds it there.
            for nested in creates:
                if not isinstance(nested.node, ast.CreateExtensionStmt):
                    continue
                ext = str(nested.node.extname)
                wanted = nested.node.if_not_exists and ext in self.shims
                if wanted and not _extension_exists(conn, ext) and not _available(conn, ext):
                    before.append(self._shim_sql(conn, ext, _schema_option(nested.node)))
        return _elevated(conn, ";\n".join([*before, text]))

    def _nested_sql(self, conn: psycopg.Connection, nested: NestedExtension) -> str:
        """What a CREATE EXTENSION inside PL/pgSQL runs: as at top level, or an error raised only
        if it is reached (a body may well create an extension only where the server has it)."""
        statement = str(RawStream()(nested.node))
        if isinstance(nested.node, ast.CreateFdwStmt):
            # The block runs elevated; the wrapper is for the role the migration acts as.
            acting = str(_scalar(conn, "SELECT current_user", ()))
            grant = sql.SQL("GRANT USAGE ON FOREIGN DATA WRAPPER {} TO {} WITH GRANT OPTION").format(
                sql.Identifier(str(nested.node.fdwname)), sql.Identifier(acting)
            )
            return f"{statement};\n{grant.as_string(conn)}"
        try:
            return self._create(conn, statement, nested.node, nested=True)
        except SupamigrateError as exc:
            return _raise_sql(
                f"{exc.message} (CREATE EXTENSION at line {nested.line} of the PL/pgSQL body)",
                "0A000",
                hint=exc.hint,
            )

    # -- CREATE EXTENSION ---------------------------------------------------------------------

    def _create(
        self, conn: psycopg.Connection, statement: str, node: ast.CreateExtensionStmt, *, nested: bool = False
    ) -> str:
        name = str(node.extname)
        options = {o.defname: o.arg for o in node.options or ()}
        if name in PREINSTALLED and _shim_installed(conn, name):
            # Projects written before the platform preinstalled it create it themselves, with or
            # without IF NOT EXISTS; the platform's copy answers both.
            return "SELECT"
        if _scalar(conn, "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = %s)", (name,)):
            return statement
        if _shim_installed(conn, name):
            if node.if_not_exists:
                return "SELECT"
            return _raise_sql(f'extension "{name}" already exists', "42710")
        if name in testhelpers.BUILTINS:
            # Built in, no opt-in (the test helpers from database.dev): ours, any version clause.
            return self._shim_sql(conn, name, None, body=testhelpers.extension_sql(name))
        tle = _tle_sql(conn, name, options.get("new_version"))
        if tle is not None:  # installed with pgtle.install_extension (the pg_tle stand-in)
            schema_arg = options.get("schema")
            return self._shim_sql(conn, name, _string(schema_arg) if schema_arg else None, body=tle)
        available = bool(
            _scalar(conn, "SELECT EXISTS (SELECT FROM pg_available_extensions WHERE name = %s)", (name,))
        )
        cron_problem = _cron_problem(conn) if name == "pg_cron" and available else None
        if available and cron_problem is None:
            after = AFTER_CREATE.get(name)
            return statement + (";\n" + _shim_text(after) if after else "")
        if name in testhelpers.FALLBACKS:
            return self._shim_sql(conn, name, None, body=testhelpers.extension_sql(name))
        if name in self.shims:
            schema_arg = options.get("schema")
            schema = _string(schema_arg) if schema_arg is not None else None
            return self._shim_sql(conn, name, schema, nested=nested)
        raise _unavailable(conn, name, cron_problem, shim=name in SHIMS)

    def _shim_sql(
        self, conn: psycopg.Connection, name: str, schema: str | None, body: str | None = None, *, nested: bool = False
    ) -> str:
        own = SHIMS[name] if body is None else testhelpers.schema_of(name)
        target = own or schema or str(_scalar(conn, "SELECT current_schema()", ()) or "public")
        for needed in SHIM_REQUIRES.get(name, ()):
            if not _scalar(conn, "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = %s)", (needed,)):
                raise ExtensionUnavailable(
                    f"the {name} shim needs extension {needed}, which this database does not have",
                    hint=f"create it first (`create extension {needed} with schema extensions`),"
                    " as the platform has it",
                )
        body = _shim_text(f"{name}.sql") if body is None else body
        pgcrypto = _scalar(
            conn, "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'pgcrypto'", ()
        )
        body = body.replace("@extschema:pgcrypto@", str(pgcrypto or "extensions"))
        body = body.replace("@extschema_name@", target.replace("'", "''"))
        body = body.replace("@extschema@", sql.Identifier(target).as_string(conn))
        after = AFTER_CREATE.get(name)
        registry = sql.SQL(
            "CREATE SCHEMA IF NOT EXISTS {schema};\n"
            "CREATE TABLE IF NOT EXISTS {schema}.shims (name text PRIMARY KEY, schema text NOT NULL,"
            " objects jsonb NOT NULL DEFAULT '[]', installed_at timestamptz NOT NULL DEFAULT now());\n"
            "COMMENT ON SCHEMA {schema} IS 'supamigrate: extensions shimmed in this database (tests only)';\n"
            # postgres owns the registry, as if it had made it: a pgTAP file or a test shims what
            # it creates in its own session (the test helpers, the http shim's request log) as
            # postgres, which is not a superuser, in a registry the stub's superuser made.
            "ALTER SCHEMA {schema} OWNER TO postgres;\n"
            "ALTER TABLE {schema}.shims OWNER TO postgres;\n"
        ).format(schema=sql.Identifier(SHIM_SCHEMA))
        if _scalar(conn, "SELECT to_regclass('supamigrate.shims') IS NOT NULL", ()):
            registry = sql.Composed([])  # CREATE ... IF NOT EXISTS still needs CREATE on the schema
        record = sql.SQL("INSERT INTO {}.shims (name, schema) VALUES ({}, {});\n").format(
            sql.Identifier(SHIM_SCHEMA), sql.Literal(name), sql.Literal(target)
        )
        # A schema that existed before (the platform makes vault) is the project's, not the shim's,
        # even when the shim's grants touched it.
        exists = "SELECT to_regnamespace(%s) IS NOT NULL"
        kept = [s for s in (own, target) if s and _scalar(conn, exists, (s,))]
        # Where pg_extension says the extension lives: the schema asked for, else the shim's own.
        home = schema if schema and _scalar(conn, exists, (schema,)) else own or target
        members = sql.SQL(_MEMBERS).format(name=sql.Literal(name), kept=sql.Literal(kept)).as_string(conn)
        register = sql.SQL(_REGISTER.replace("{members}", members.replace("{", "{{").replace("}", "}}"))).format(
            name=sql.Literal(name), home=sql.Literal(home), version=sql.Literal(VERSIONS.get(name, "1.0"))
        )
        if nested:
            # Inside PL/pgSQL a block with an exception clause is the savepoint.
            return (
                "DO $supamigrate_shim$\nBEGIN\n"
                f"  EXECUTE {_literal(conn, registry.as_string(conn))};\n"
                "  BEGIN\n"
                f"    EXECUTE {_literal(conn, record.as_string(conn))};\n"
                f"    EXECUTE {_literal(conn, body)};\n"
                f"    EXECUTE {_literal(conn, register.as_string(conn))};\n"
                "  EXCEPTION WHEN OTHERS THEN RAISE;\n  END;\n"
                + (f"  EXECUTE {_literal(conn, _shim_text(after))};\n" if after else "")
                + "END\n$supamigrate_shim$"
            )
        # A savepoint gives the shim's catalog rows a transaction id of their own, by which the
        # registry finds them again (for DROP EXTENSION).
        return "\n".join(
            [
                registry.as_string(conn),
                "SAVEPOINT supamigrate_shim;",
                record.as_string(conn),
                body,
                ";",
                register.as_string(conn) + ";",
                "RELEASE SAVEPOINT supamigrate_shim;",
                _shim_text(after) if after else "",
            ]
        )

    # -- DROP EXTENSION -----------------------------------------------------------------------

    def _drop(self, conn: psycopg.Connection, statement: str, node: ast.DropStmt) -> str:
        # A shim is registered as the extension itself, so DROP EXTENSION drops its members as it
        # drops a real extension's; only its registry row is left to remove.
        names = [_string(o) or "" for o in node.objects or ()]
        shimmed = [n for n in names if _shim_installed(conn, n)]
        if not shimmed:
            return statement
        forget = sql.SQL("DELETE FROM {}.shims WHERE name = ANY({})").format(
            sql.Identifier(SHIM_SCHEMA), sql.Literal(shimmed)
        )
        registered = [n for n in names if _scalar(conn, _REGISTERED, (n,))]
        if len(registered) == len(names):
            return statement + ";\n" + forget.as_string(conn)
        behavior = "CASCADE" if node.behavior == DropBehavior.DROP_CASCADE else "RESTRICT"
        parts = [_drop_sql(conn, node, registered, behavior)] if registered else []
        for name in shimmed:
            if name in registered:
                continue
            row = conn.execute(
                sql.SQL("SELECT objects FROM {}.shims WHERE name = %s").format(sql.Identifier(SHIM_SCHEMA)), (name,)
            ).fetchone()
            objects: list[dict[str, str]] = list(row[0]) if row else []
            drops = [
                f"DROP {_DROP_KINDS[obj['type']]} IF EXISTS {obj['identity']} {behavior}"
                for obj in reversed(objects)
                if obj["type"] in _DROP_KINDS
            ]
            parts.append(sql.SQL(_DROP_ALL).format(sql.Literal(drops)).as_string(conn))
        parts.append(forget.as_string(conn))
        return ";\n".join(parts)


_REGISTERED = "SELECT EXISTS (SELECT FROM pg_catalog.pg_extension WHERE extname = %s)"


def _drop_sql(conn: psycopg.Connection, node: ast.DropStmt, names: list[str], behavior: str) -> str:
    """DROP EXTENSION of ``names`` only, as ``node`` wrote it (IF EXISTS, CASCADE)."""
    return (
        sql.SQL("DROP EXTENSION {}{} {}")
        .format(
            sql.SQL("IF EXISTS ") if node.missing_ok else sql.SQL(""),
            sql.SQL(", ").join(sql.Identifier(n) for n in names),
            sql.SQL(behavior),
        )
        .as_string(conn)
    )


def shim_findings(conn: psycopg.Connection) -> list[Finding]:
    """One info finding per extension the project's migrations got from a shim (not the ones every
    project starts with), saying what differs from the real extension."""
    if not _scalar(conn, "SELECT to_regclass('supamigrate.shims') IS NOT NULL", ()):
        return []
    rows = conn.execute("SELECT name FROM supamigrate.shims ORDER BY name").fetchall()
    conn.rollback()
    return [
        Finding(
            Level.INFO,
            "shimmed-extension",
            f"{name} shimmed: {SHIM_NOTES.get(name, 'a stand-in written by supamigrate')}",
            ObjectLocation(f"extension {name}"),
            hint=f'set `shims = []` (or a list without "{name}") under [platform] in supamigrate.toml to'
            " require the real extension",
        )
        for (name,) in rows
        if name not in PREINSTALLED
    ]


def preinstall(conn: psycopg.Connection) -> None:
    """Create the extensions every Supabase project starts with (``PREINSTALLED``), real or shimmed.

    Runs as the stub does: a superuser, inside the stub's transaction.
    """
    policy = ExtensionPolicy(frozenset(PREINSTALLED))
    for name, schema in PREINSTALLED.items():
        text = f"CREATE EXTENSION IF NOT EXISTS {name} WITH SCHEMA {schema}"
        node = pglast.parse_sql(text)[0].stmt
        assert isinstance(node, ast.CreateExtensionStmt)
        conn.execute(policy._create(conn, text, node))


def _string(node: Any) -> str | None:
    if isinstance(node, ast.String):
        return str(node.sval)
    return None


def _literal(conn: psycopg.Connection, text: str) -> str:
    return sql.Literal(text).as_string(conn)


def _scalar(conn: psycopg.Connection, query: str, params: tuple[object, ...]) -> Any:
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def _tle_sql(conn: psycopg.Connection, name: str, version: Any) -> str | None:
    """The SQL pgtle.install_extension() was given for ``name`` (that version, else the default)."""
    if not _scalar(conn, "SELECT to_regclass(%s) IS NOT NULL", (testhelpers.TLE_TABLE,)):
        return None
    wanted = _string(version) if version is not None else None
    row = conn.execute(
        sql.SQL(
            "SELECT coalesce(ext, '') FROM {} WHERE name = %s"
            " AND (version = %s::text OR %s::text IS NULL AND is_default)"
        ).format(sql.SQL(testhelpers.TLE_TABLE)),
        (name, wanted, wanted),
    ).fetchone()
    return str(row[0]) if row else None


def _shim_installed(conn: psycopg.Connection, name: str) -> bool:
    if not _scalar(conn, "SELECT to_regclass('supamigrate.shims') IS NOT NULL", ()):
        return False
    return bool(_scalar(conn, "SELECT EXISTS (SELECT FROM supamigrate.shims WHERE name = %s)", (name,)))


def _raise_sql(message: str, sqlstate: str, *, hint: str | None = None) -> str:
    literal = message.replace("'", "''")
    extra = ", HINT = '{}'".format(hint.replace("'", "''")) if hint else ""
    return f"DO $raise$ BEGIN RAISE EXCEPTION '{literal}' USING ERRCODE = '{sqlstate}'{extra}; END $raise$"


def _sets_pgrst(statement: Statement) -> bool:
    """ALTER ROLE ... SET pgrst.* (PostgREST's in-database configuration), which supautils allows."""
    node = statement.tree
    if not isinstance(node, ast.AlterRoleSetStmt) or node.setstmt is None:
        return False
    return str(node.setstmt.name or "").startswith("pgrst.")


def _elevated(conn: psycopg.Connection, text: str, *, then: str = "") -> str:
    """``text`` run as the session's superuser when the session acts as another role, as the
    runner runs a top-level extension statement (supautils' rights on the platform); ``then`` runs
    after it, still elevated, with ``{role}`` standing for the acting role's name."""
    row = conn.execute(
        "SELECT current_user, session_user, (SELECT rolsuper FROM pg_roles WHERE rolname = session_user)"
    ).fetchone()
    acting = str(row[0]) if row else ""
    after = then.replace("{role}", sql.Identifier(acting).as_string(conn)) if then else ""
    if row is None or row[0] == row[1] or not row[2]:
        return f"{text};\n{after}" if after else text
    back = sql.SQL("SET ROLE {}").format(sql.Identifier(acting)).as_string(conn)
    return f"RESET ROLE;\n{text};\n{after + ';' if after else ''}\n{back}"


def _extension_exists(conn: psycopg.Connection, name: str) -> bool:
    return bool(_scalar(conn, "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = %s)", (name,)))


def _available(conn: psycopg.Connection, name: str) -> bool:
    return bool(_scalar(conn, "SELECT EXISTS (SELECT FROM pg_available_extensions WHERE name = %s)", (name,)))


def _schema_option(node: ast.CreateExtensionStmt) -> str | None:
    return next((_string(o.arg) for o in node.options or () if o.defname == "schema"), None)


def _cron_problem(conn: psycopg.Connection) -> str | None:
    """Why the installed pg_cron cannot be created in this database, or None when it can."""
    row = conn.execute(
        "SELECT current_setting('cron.database_name', true), current_database(),"
        " current_setting('shared_preload_libraries')"
    ).fetchone()
    cron_db, here, preload = row if row else (None, None, "")
    if cron_db is None or "pg_cron" not in str(preload):
        return "pg_cron is installed but not preloaded (it needs shared_preload_libraries = 'pg_cron')"
    if cron_db != here:
        return f"pg_cron can only be created in database {cron_db} (cron.database_name), and this is {here}"
    return None


def _unavailable(
    conn: psycopg.Connection, name: str, cron_problem: str | None, *, shim: bool
) -> ExtensionUnavailable:
    """The error for an extension this server cannot create: what is missing and how to get it."""
    major = int(str(_scalar(conn, "SHOW server_version_num", ()) or "150000")) // 10000
    if cron_problem:
        message = f"extension {name} cannot be created here: {cron_problem}"
        ways = [
            "every supamigrate command (check, dump, lint --plpgsql) and the pytest plugin start their server"
            " with pg_cron preloaded for the database they build; on your own server set"
            " shared_preload_libraries = 'pg_cron' and cron.database_name to this database"
        ]
    elif name in UNSHIMMABLE:
        message = f'extension "{name}" is not available on this server (PostgreSQL {major}), and no shim can be'
        message += " faithful to it"
        return ExtensionUnavailable(message, hint=UNSHIMMABLE[name].format(major=major))
    else:
        message = f'extension "{name}" is not available on this server (PostgreSQL {major}), nor shimmed'
        package = PACKAGES.get(name, "").format(major=major)
        if package:
            ways = [f"install it on the server (`apt-get install {package}` on Debian/Ubuntu)"]
        elif shim:
            ways = [f"{name} has no Debian package; run against a server that has it (--db-url)"]
        else:
            ways = [f"install the package that provides {name} for PostgreSQL {major} on the server"]
    if shim:
        ways.append(f'or shim it: add "{name}" to `shims` under [platform] in supamigrate.toml')
    else:
        ways.append(f"supamigrate has no shim for {name} (shims exist for: {', '.join(shim_names())})")
    return ExtensionUnavailable(message, hint="; ".join(ways))
