"""The object at fault in a refused smoke request, named as a report shows it."""

from __future__ import annotations

import re

import psycopg


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
