"""What a function body reads and writes, read from its SQL (``language sql``) or the SQL
statements PL/pgSQL runs (``pglast.parse_plpgsql``), at any depth of blocks, branches and loops.

Only relations named in the text count: ``EXECUTE`` of a string built at run time, and the tables
other functions it calls touch, cannot be seen before it runs. CTE names are not relations.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pglast
import pglast.parser
from pglast import ast
from pglast.visitors import Visitor

from .objects import Name, range_name
from .statement import Statement

# What a statement at the top of a body does to its target relation (the privilege it needs).
_WRITES: dict[type[ast.Node], str] = {
    ast.InsertStmt: "insert",
    ast.UpdateStmt: "update",
    ast.DeleteStmt: "delete",
    ast.MergeStmt: "update",
}


@dataclass(frozen=True)
class BodyRelation:
    """A relation a body names: as written, and the privilege its use needs (``select``,
    ``insert``, ``update``, ``delete``)."""

    name: Name
    privilege: str


@dataclass(frozen=True)
class Body:
    """A function's body: its language, its text and where that text starts in the file."""

    language: str
    text: str
    offset: int | None

    def find(self, name: Name) -> int | None:
        """File offset of the first place the body writes ``name`` as written (an unqualified
        name not after a dot), if the body's place in the file is known."""
        if self.offset is None:
            return None
        word = re.escape(name.name)
        pattern = rf'(?<![\w."]){word}(?![\w"])' if not name.schema else rf"\b{re.escape(name.schema)}\s*\.\s*{word}\b"
        m = re.search(pattern, self.text, re.IGNORECASE)
        return self.offset + m.start() if m else None


def body_of(node: ast.CreateFunctionStmt, stmt: Statement) -> Body | None:
    """The body of a CREATE FUNCTION written as a string (not ``BEGIN ATOMIC``), and its place."""
    language = "sql"
    text: str | None = None
    location: int | None = None
    for opt in node.options or ():
        if not isinstance(opt, ast.DefElem):
            continue
        if opt.defname == "language" and isinstance(opt.arg, ast.String):
            language = str(opt.arg.sval).lower()
        elif opt.defname == "as" and isinstance(opt.arg, tuple) and opt.arg and isinstance(opt.arg[0], ast.String):
            text = str(opt.arg[0].sval)
            location = getattr(opt, "arg_location", None)
    if text is None:
        return None
    offset = None
    for token in stmt.tokens:
        if token.name == "SCONST" and (location is None or token.start == location):
            literal = stmt.text[token.start : token.end + 1]
            opening = literal.index("$", 1) + 1 if literal.startswith("$") else literal.index("'") + 1
            if literal[opening:].startswith(text[:20]):
                offset = stmt.offset + token.start + opening
                break
    return Body(language, text, offset)


class _Relations(Visitor):
    def __init__(self) -> None:
        self.found: list[BodyRelation] = []
        self.calls: list[Name] = []
        self.ctes: set[str] = set()
        self.targets: dict[int, str] = {}

    def visit_FuncCall(self, ancestors: Any, node: ast.FuncCall) -> None:
        parts = tuple(str(n.sval) for n in node.funcname or () if isinstance(n, ast.String))
        if parts:
            self.calls.append(Name(parts[-2] if len(parts) > 1 else None, parts[-1]))

    def visit_RangeVar(self, ancestors: Any, node: ast.RangeVar) -> None:
        name = range_name(node)
        if name.schema is None and name.name in self.ctes:
            return
        self.found.append(BodyRelation(name, self.targets.get(id(node), "select")))


def _statement_relations(tree: ast.Node, visitor: _Relations) -> None:
    for node in _nodes(tree):
        if isinstance(node, ast.CommonTableExpr):
            visitor.ctes.add(str(node.ctename))
        privilege = _WRITES.get(type(node))
        relation = getattr(node, "relation", None)
        if privilege is not None and isinstance(relation, ast.RangeVar):
            visitor.targets[id(relation)] = privilege
    visitor(tree)


def _nodes(tree: ast.Node) -> Iterator[ast.Node]:
    """Every node of a tree (the statements nested in CTEs included)."""
    stack: list[Any] = [tree]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Node):
            yield item
            stack.extend(getattr(item, attr, None) for attr in item)
        elif isinstance(item, tuple):
            stack.extend(item)


def _parse(sql: str) -> list[ast.Node]:
    try:
        return [raw.stmt for raw in pglast.parse_sql(sql) if raw.stmt is not None]
    except pglast.parser.ParseError:
        return []


def _plpgsql_queries(tree: Any) -> Iterator[tuple[str, int]]:
    """(query, parse mode) of every SQL expression in a PL/pgSQL parse tree."""
    if isinstance(tree, list):
        for item in tree:
            yield from _plpgsql_queries(item)
    elif isinstance(tree, dict):
        expr = tree.get("PLpgSQL_expr")
        if isinstance(expr, dict) and isinstance(expr.get("query"), str):
            yield expr["query"], int(expr.get("parseMode", 0))
        for value in tree.values():
            yield from _plpgsql_queries(value)


@dataclass(frozen=True)
class BodyUse:
    """What a body names: the relations (with the privilege each use needs) and the functions it calls."""

    relations: tuple[BodyRelation, ...]
    calls: tuple[Name, ...]


def body_use(node: ast.CreateFunctionStmt, stmt: Statement) -> BodyUse:
    """The relations and functions the body of ``node`` (the CREATE FUNCTION ``stmt``) names, in order."""
    body = body_of(node, stmt)
    trees: list[ast.Node] = []
    if body is not None and body.language == "sql":
        trees = _parse(body.text)
    elif body is not None and body.language == "plpgsql":
        try:
            parsed = json.loads(pglast.parser.parse_plpgsql_json(stmt.text))
        except (pglast.parser.ParseError, ValueError):
            parsed = []  # the server reports a broken body itself
        for query, mode in _plpgsql_queries(parsed):
            trees += _parse(query if mode == 0 else f"select {query}")
    visitor = _Relations()
    for tree in trees:
        visitor.ctes.clear()
        visitor.targets.clear()
        _statement_relations(tree, visitor)
    return BodyUse(tuple(visitor.found), tuple(visitor.calls))


def body_relations(node: ast.CreateFunctionStmt, stmt: Statement) -> list[BodyRelation]:
    """The relations the body of ``node`` (the CREATE FUNCTION ``stmt``) names, in order."""
    return list(body_use(node, stmt).relations)
