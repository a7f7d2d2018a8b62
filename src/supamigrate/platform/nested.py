"""CREATE EXTENSION (and CREATE FOREIGN DATA WRAPPER) inside PL/pgSQL: DO blocks and function
bodies, at any depth.

On the platform supautils lets ``postgres`` create extensions wherever the statement runs, also
from a DO block or a function. The migration runner sees only top-level statements, so this module
finds the nested ones (``pglast.parse_plpgsql``): plain SQL statements in any block, branch, loop
or exception handler, and ``EXECUTE 'create extension ...'`` with a constant string. An EXECUTE of
a string built at run time cannot be seen before it runs and is left as it is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pglast
from pglast import ast

from ..sql.statement import Statement

# A cheap test first: most bodies never mention either statement.
_MENTIONS = re.compile(r"\bcreate\s+(?:extension|foreign\s+data\s+wrapper)\b", re.IGNORECASE)


@dataclass(frozen=True)
class NestedExtension:
    """One CREATE EXTENSION (or CREATE FOREIGN DATA WRAPPER, which supautils also lets postgres
    run) inside a PL/pgSQL body.

    ``source`` is its text as it appears in the enclosing statement: the SQL itself, or for an
    EXECUTE the quoted string literal; ``node`` its parse tree; ``dynamic`` whether it is run by
    EXECUTE; ``line`` its line in the body, as PL/pgSQL counts.
    """

    source: str
    node: ast.CreateExtensionStmt | ast.CreateFdwStmt
    dynamic: bool
    line: int


def plpgsql_body_kind(statement: Statement) -> str | None:
    """``"do"`` or ``"function"`` when ``statement`` carries a PL/pgSQL body, else None."""
    node = statement.tree
    if isinstance(node, ast.DoStmt):
        language = next((o.arg for o in node.args or () if o.defname == "language"), None)
        return "do" if language is None or getattr(language, "sval", "") == "plpgsql" else None
    if isinstance(node, ast.CreateFunctionStmt):
        language = next((o.arg for o in node.options or () if o.defname == "language"), None)
        return "function" if getattr(language, "sval", "").lower() == "plpgsql" else None
    return None


def nested_extensions(statement: Statement) -> tuple[NestedExtension, ...]:
    """The CREATE EXTENSION statements inside the PL/pgSQL body of ``statement``, in source order."""
    if not _MENTIONS.search(statement.text) or plpgsql_body_kind(statement) is None:
        return ()
    try:
        tree = pglast.parse_plpgsql(statement.text)
    except pglast.parser.ParseError:
        return ()  # the server reports a broken body itself
    return tuple(_walk(tree))


def function_name(statement: Statement) -> str | None:
    """The unqualified name a CREATE FUNCTION / PROCEDURE statement defines."""
    node = statement.tree
    if isinstance(node, ast.CreateFunctionStmt) and node.funcname:
        return str(node.funcname[-1].sval)
    return None


def _walk(node: Any, line: int = 0) -> Iterator[NestedExtension]:
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, line)
        return
    if not isinstance(node, dict):
        return
    for key, value in node.items():
        if not isinstance(value, dict):
            yield from _walk(value, line)
            continue
        here = int(value.get("lineno", line) or line)
        if key == "PLpgSQL_stmt_execsql":
            query = value.get("sqlstmt", {}).get("PLpgSQL_expr", {}).get("query", "")
            found = _create_extension(query)
            if found is not None:
                yield NestedExtension(query, found, False, here)
                continue
        elif key == "PLpgSQL_stmt_dynexecute":
            query = value.get("query", {}).get("PLpgSQL_expr", {}).get("query", "")
            constant = _string_constant(query)
            found = _create_extension(constant) if constant is not None else None
            if found is not None:
                yield NestedExtension(query, found, True, here)
                continue
        yield from _walk(value, here)


def _create_extension(text: str) -> ast.CreateExtensionStmt | ast.CreateFdwStmt | None:
    if not _MENTIONS.search(text):
        return None
    try:
        parsed = pglast.parse_sql(text)
    except pglast.parser.ParseError:
        return None
    if len(parsed) == 1 and isinstance(parsed[0].stmt, (ast.CreateExtensionStmt, ast.CreateFdwStmt)):
        return parsed[0].stmt
    return None


def _string_constant(text: str) -> str | None:
    """The value of a plain SQL string literal ('...' with '' for a quote), else None."""
    text = text.strip()
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'" and "'" not in text[1:-1].replace("''", ""):
        return text[1:-1].replace("''", "'")
    return None
