"""A reviewable snapshot of the schema the migrations produce: ``pg_dump --schema-only`` of the
user schemas, with the lines that change from run to run taken out.

The snapshot lives in ``supabase/schema.sql``. ``supamigrate dump`` writes it; ``check`` fails
with a unified diff when the committed one no longer matches what the migrations build, so a
reviewer sees each migration's effect on the schema in the same pull request.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from .database import connect, redact
from .errors import SupamigrateError
from .platform import PLATFORM_SCHEMAS

SNAPSHOT = Path("supabase") / "schema.sql"
HEADER = (
    "-- Schema snapshot of supabase/migrations, written by `supamigrate dump`; do not edit.\n"
    "-- `supamigrate check` fails when it differs from what the migrations build: run\n"
    "-- `supamigrate dump` and commit the result with the migration that changed it.\n"
)
PG_DUMP_TIMEOUT_S = 120

# Lines of pg_dump output that differ between runs or server builds without a schema change.
_VOLATILE = re.compile(
    r"^(?:\\restrict |\\unrestrict |-- Dumped from database version |-- Dumped by pg_dump version )"
)
_BLANK_RUNS = re.compile(r"\n{3,}")
# What pg_dump 17 writes differently from 15 for the same schema, so that a snapshot committed on
# one major is current on the other (config.toml's major_version may be tested on either):
# pg_dump 17 sets transaction_timeout (new in 17) in its preamble, and before 17 pg_dump wrote two
# spaces before TO/FROM in ALTER DEFAULT PRIVILEGES (one in 17). The snapshot keeps 17's spelling.
_SINCE_17 = re.compile(r"^SET transaction_timeout = 0;$")
_DEFAULT_ACL_SPACES = re.compile(r"^(ALTER DEFAULT PRIVILEGES .* ON [A-Z]+) {2}(TO|FROM) ")


def version_neutral(text: str) -> str:
    """``text`` with the lines that only pg_dump's major changes spelled one way (17's)."""
    lines = (_DEFAULT_ACL_SPACES.sub(r"\1 \2 ", line) for line in text.splitlines(keepends=True))
    return "".join(line for line in lines if not _SINCE_17.match(line.rstrip("\n")))


def user_schemas(conn: psycopg.Connection) -> list[str]:
    """Schemas that belong to the project: not the platform's, not PostgreSQL's, not an extension's."""
    rows = conn.execute(
        "SELECT n.nspname FROM pg_catalog.pg_namespace n"
        " WHERE n.nspname <> ALL(%s) AND n.nspname !~ '^pg_'"
        " AND NOT EXISTS (SELECT FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_namespace'::regclass"
        "   AND d.objid = n.oid AND d.deptype = 'e')"
        " ORDER BY n.nspname",
        (list(PLATFORM_SCHEMAS),),
    ).fetchall()
    return [str(r[0]) for r in rows]


def normalise(raw: str) -> str:
    """pg_dump output without its volatile lines, blank runs collapsed, under our header."""
    kept = [line for line in version_neutral(raw).splitlines() if not _VOLATILE.match(line)]
    body = _BLANK_RUNS.sub("\n\n", "\n".join(kept)).strip("\n")
    return f"{HEADER}\n{body}\n"


def pg_dump(bindir: Path, conninfo: str, schemas: list[str]) -> str:
    """Run ``pg_dump --schema-only`` for ``schemas``; the password travels in the environment."""
    exe = bindir / "pg_dump"
    if not os.access(exe, os.X_OK):
        raise SupamigrateError(
            f"pg_dump not found in {bindir}",
            hint="install the PostgreSQL client of the server's version (postgresql-client-<major>)",
        )
    params = conninfo_to_dict(conninfo)
    env = dict(os.environ)
    password = params.pop("password", None)
    if password:
        env["PGPASSWORD"] = str(password)
    args = [str(exe), "--schema-only", "--no-tablespaces"]
    for schema in schemas:
        args += ["--schema", _exact(schema)]
    args += ["--dbname", make_conninfo("", **params)]
    proc = subprocess.run(args, capture_output=True, text=True, env=env, timeout=PG_DUMP_TIMEOUT_S, cwd="/")
    if proc.returncode != 0:
        reason = proc.stderr.strip()
        if password:
            reason = reason.replace(str(password), "***")
        raise SupamigrateError(
            f"pg_dump of {redact(conninfo)} failed ({proc.returncode}): {reason}",
            hint="pg_dump must be at least the server's version; pass --pg-bin to choose the binaries",
        )
    return proc.stdout


def _exact(name: str) -> str:
    """A pg_dump pattern matching exactly ``name`` (patterns treat ``*``, ``?`` and ``.`` specially)."""
    return '"' + name.replace('"', '""') + '"'


def dump_schema(bindir: Path, conninfo: str) -> str:
    """The normalised schema snapshot of the database at ``conninfo`` (user schemas only)."""
    with connect(conninfo) as conn:
        schemas = user_schemas(conn)
    if not schemas:
        return normalise("")
    return normalise(pg_dump(bindir, conninfo, schemas))


def snapshot_diff(committed: str, current: str, name: str = str(SNAPSHOT)) -> str:
    """A unified diff from the committed snapshot to the current one ('' when they are equal).

    A snapshot written by another major's pg_dump is read as this one's would be (version_neutral).
    """
    committed = version_neutral(committed)
    if committed == current:
        return ""
    return "".join(
        difflib.unified_diff(
            committed.splitlines(keepends=True),
            current.splitlines(keepends=True),
            fromfile=f"{name} (committed)",
            tofile=f"{name} (built from migrations)",
        )
    )
