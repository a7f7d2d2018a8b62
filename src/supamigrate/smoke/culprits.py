"""The object at fault in a refused smoke request, named as a report shows it."""

from __future__ import annotations

import re
from typing import Any

import psycopg
from pglast import ast

from supamigrate.findings import FileLocation
from supamigrate.migrations import MigrationListing
from supamigrate.project import Project
from supamigrate.sql.source import MIGRATION, SEED, SourceFile


def function_at_fault(conn: psycopg.Connection, context: str | None, search_path: str | None = None) -> str | None:
    """The function an error came from (``function public.f``), read from its CONTEXT lines.

    PostgreSQL names a function without its schema when the schema is on the search_path; the
    innermost function the context names is looked up on ``search_path`` (the current one if None).
    """
    found = re.search(r"(?:PL/pgSQL|SQL) function ([\w\"]+(?:\.[\w\"]+)?)\(", context or "")
    if found is None:
        return None
    name = found.group(1)
    if "." not in name:
        row = conn.execute(
            """
            SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE p.proname = %s
            ORDER BY array_position(
              coalesce(string_to_array(replace(%s, ' ', ''), ','), current_schemas(true)::text[]), n.nspname::text
            ) NULLS LAST
            LIMIT 1
            """,
            (name.strip('"'), search_path),
        ).fetchone()
        if row is not None:
            name = f"{row[0]}.{name}"
    return f"function {name}"


_POLICY = re.compile(r"policy (?P<table>\w+\.\w+): (?P<name>.+)")
_FUNCTION = re.compile(r"function (?P<name>[\w.\"]+)")


def locate(project: Project, culprit: str | None) -> FileLocation | None:
    """Where the project creates a culprit's object: the last migration or seed statement that does.

    ``culprit`` as the requests name it: ``policy schema.table: name`` or ``function
    schema.name``, several joined by ", " (then the last statement creating any of them). The
    location is the statement's first keyword, relative to the project's root; None when the
    project does not create it.
    """
    if not culprit:
        return None
    wanted = _wanted(culprit)
    found: FileLocation | None = None
    listing = MigrationListing.of(project.migrations_dir)
    sources = [SourceFile.read(m.path, MIGRATION) for m in listing.migrations]
    sources += [SourceFile.read(p, SEED) for p in project.seed_files()]
    for source in sources:
        for stmt in source.statements:
            if _creates(stmt.node, wanted):
                line, column = source.line_col(stmt.start)
                found = FileLocation(source.path, line, column, stmt.span).relative_to(project.root)
    return found


def _wanted(culprit: str) -> list[tuple[str, str, str]]:
    """(kind, name, schema-qualified table or function) of each object a culprit names."""
    wanted: list[tuple[str, str, str]] = []
    for part in re.split(r", (?=policy |function )", culprit):
        if m := _POLICY.fullmatch(part):
            wanted.append(("policy", m["name"], m["table"]))
        elif m := _FUNCTION.fullmatch(part):
            schema, _, name = m["name"].replace('"', "").rpartition(".")
            wanted.append(("function", name, schema or "public"))
    return wanted


def _creates(node: Any, wanted: list[tuple[str, str, str]]) -> bool:
    if isinstance(node, ast.RawStmt):
        node = node.stmt
    if isinstance(node, ast.CreatePolicyStmt) and node.table is not None:
        table = f"{node.table.schemaname or 'public'}.{node.table.relname}"
        return ("policy", node.policy_name or "", table) in wanted
    if isinstance(node, ast.CreateFunctionStmt):
        names = [n.sval for n in node.funcname or () if isinstance(n, ast.String)]
        schema, name = (names[0], names[-1]) if len(names) > 1 else ("public", names[-1] if names else "")
        return ("function", name, schema) in wanted
    return False
