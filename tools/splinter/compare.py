"""Run splinter's own SQL and ``supamigrate advise`` on the same databases and tabulate per lint.

    python tools/splinter/compare.py SPLINTER_CHECKOUT [--project DIR ...] [--db-url URL ...]
                                     [--pg-bin DIR] [--json FILE]

SPLINTER_CHECKOUT is a checkout of github.com/supabase/splinter; its ``lints/*.sql`` are read
from there and run as they are (each one's ``create view ... as`` line taken off, as splinter's
own ``bin/compile.py`` does), never copied into this repository. Each ``--project`` (default:
this repository's project and the fixture projects advised, plpgsql and splinter) is built with
supamigrate's build path on an ephemeral server; each ``--db-url`` is a database in service,
only read. On each database both run read-only, splinter with ``pgrst.db_schemas`` set to the
exposed schemas as the dashboard sets it, advise with the same schemas. Findings are compared
per lint by the object splinter's metadata names (schema.name; an extension or bucket by name).
The markdown table goes to stdout; ``--json`` also writes every row.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from supamigrate.advise import advise
from supamigrate.advisors import ADVISORS
from supamigrate.build import ProjectDatabase, ServerChoice, Target
from supamigrate.database import unique_name
from supamigrate.preflight import open_read_only
from supamigrate.project import DEFAULT_API_SCHEMAS, Project

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "toolkit" / "fixtures"
DEFAULT_PROJECTS = (ROOT, FIXTURES / "advised", FIXTURES / "plpgsql", FIXTURES / "splinter")
CREATE_VIEW = re.compile(r"^\s*create view [^\n]*\bas\s*$", re.IGNORECASE | re.MULTILINE)


@dataclass
class Side:
    """One tool's findings on one database: rows per lint and the objects they name."""

    rows: Counter[str] = field(default_factory=Counter)
    objects: dict[str, set[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def add(self, lint: str, key: str) -> None:
        self.rows[lint] += 1
        self.objects.setdefault(lint, set()).add(key)


@dataclass
class Database:
    """A database both ran on."""

    name: str
    exposed: tuple[str, ...]
    splinter: Side
    ours: Side


def splinter_lints(checkout: Path) -> dict[str, str]:
    """Each lint's query from ``lints/*.sql``, keyed by its file name (``0001_unindexed_foreign_keys``)."""
    lints = sorted((checkout / "lints").glob("*.sql"))
    if not lints:
        raise SystemExit(f"{checkout}: no lints/*.sql (give a checkout of github.com/supabase/splinter)")
    return {p.stem: CREATE_VIEW.sub("", p.read_text(encoding="utf-8"), count=1).strip().rstrip(";") for p in lints}


def splinter_key(lint: str, metadata: dict[str, Any]) -> str:
    """The object a splinter row names, comparable with ``our_key``."""
    if lint == "extension_versions_outdated":
        return str(metadata.get("extension_name"))
    if lint == "public_bucket_allows_listing":
        return str(metadata.get("bucket_id"))
    if lint == "extension_in_public":
        return str(metadata.get("name"))
    return f"{metadata.get('schema')}.{metadata.get('name')}"


def our_key(lint: str, where: str) -> str:
    """The object of one of our findings, as ``splinter_key`` names it: the relation of a policy,
    a foreign key or an index; a function without its arguments; a column's table."""
    for prefix in ("extension ", "bucket "):
        if where.startswith(prefix):
            return where[len(prefix) :]
    key = where.split(":", 1)[0].split("(", 1)[0].replace('"', "")
    if lint == "unsupported_reg_types":
        key = ".".join(key.split(".")[:2])
    return key


def run_splinter(conn: psycopg.Connection, lints: dict[str, str], exposed: tuple[str, ...]) -> Side:
    side = Side()
    for stem, query in lints.items():
        try:
            with conn.transaction(force_rollback=True):
                conn.execute("SELECT set_config('search_path', '', true)")
                conn.execute("SELECT set_config('pgrst.db_schemas', %s, true)", (",".join(exposed),))
                rows = conn.execute(query).fetchall()  # no parameters: a % stays a %
        except psycopg.Error as exc:
            side.errors[stem] = exc.diag.message_primary or str(exc)
            continue
        for row in rows:
            name, metadata = str(row[0]), row[8] or {}  # the lint interface: name ... metadata, cache_key
            side.add(name, splinter_key(name, metadata))
    return side


def run_ours(db_url: str, exposed: tuple[str, ...], project: Project | None) -> Side:
    side = Side()
    for f in advise(db_url, project=project, schemas=exposed).findings:
        side.add(f.code, our_key(f.code, f.where))
    return side


def compare(
    name: str, db_url: str, lints: dict[str, str], exposed: tuple[str, ...], project: Project | None
) -> Database:
    with open_read_only(db_url) as conn:
        theirs = run_splinter(conn, lints, exposed)
    return Database(name, exposed, theirs, run_ours(db_url, exposed, project))


def on_project(root: Path, lints: dict[str, str], pg_bin: Path | None) -> Database:
    project = Project.load(root)
    with ProjectDatabase.start(
        project, target=Target.WORKING, name=unique_name("splinter_compare"), server=ServerChoice(pg_bin=pg_bin)
    ) as built:
        url = built.server.conninfo(built.database.dbname, "postgres")
        name = root.name if root != ROOT else "supamigrate (this repository)"
        return compare(name, url, lints, project.config.api_schemas, project)


def as_json(d: Database) -> dict[str, Any]:
    """One database's rows and objects per lint, for both."""
    sides = {"splinter": d.splinter, "advise": d.ours}
    return {
        "database": d.name,
        "exposed": list(d.exposed),
        **{
            who: {"rows": dict(s.rows), "objects": {k: sorted(v) for k, v in s.objects.items()}, "errors": s.errors}
            for who, s in sides.items()
        },
    }


def table(databases: list[Database], lint_names: list[str]) -> str:
    """Markdown: per lint, rows and objects found by each, summed over the databases."""
    lines = [
        "| lint | splinter rows | advise rows | objects both | only splinter | only advise |",
        "|---|---|---|---|---|---|",
    ]
    differences: list[str] = []
    for lint in lint_names:
        theirs = sum(d.splinter.rows[lint] for d in databases)
        ours = sum(d.ours.rows[lint] for d in databases)
        both = only_theirs = only_ours = 0
        for d in databases:
            a, b = d.splinter.objects.get(lint, set()), d.ours.objects.get(lint, set())
            both += len(a & b)
            only_theirs += len(a - b)
            only_ours += len(b - a)
            for key in sorted(a - b):
                differences.append(f"- `{lint}` on {d.name}: `{key}` only splinter")
            for key in sorted(b - a):
                differences.append(f"- `{lint}` on {d.name}: `{key}` only advise")
        lines.append(f"| `{lint}` | {theirs} | {ours} | {both} | {only_theirs} | {only_ours} |")
    errors = [
        f"- splinter `{stem}` failed on {d.name}: {msg}" for d in databases for stem, msg in d.splinter.errors.items()
    ]
    out = "\n".join(lines)
    if differences or errors:
        out += "\n\nDifferences:\n\n" + "\n".join(differences + errors)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("splinter", type=Path, help="a checkout of github.com/supabase/splinter")
    parser.add_argument("--project", type=Path, action="append", help="a project to build and compare on")
    parser.add_argument("--db-url", action="append", default=[], help="a live database to compare on (only read)")
    parser.add_argument(
        "--schema", action="append", help="exposed schemas for --db-url (default: public, graphql_public)"
    )
    parser.add_argument("--pg-bin", type=Path, help="PostgreSQL server binaries for the builds")
    parser.add_argument("--json", type=Path, help="also write every database's rows here")
    args = parser.parse_args(argv)
    lints = splinter_lints(args.splinter)
    databases = [on_project(root, lints, args.pg_bin) for root in (args.project or DEFAULT_PROJECTS)]
    exposed = tuple(args.schema or DEFAULT_API_SCHEMAS)
    databases += [compare(f"--db-url #{i}", url, lints, exposed, None) for i, url in enumerate(args.db_url, 1)]
    found = {lint for d in databases for lint in (*d.splinter.rows, *d.ours.rows)}
    names = sorted({stem.split("_", 1)[1] for stem in lints} | set(ADVISORS) | found)
    print(table(databases, names))
    if args.json:
        args.json.write_text(json.dumps([as_json(d) for d in databases], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
