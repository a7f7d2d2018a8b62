"""Reading policy expressions (``pg_policies.qual`` / ``with_check``) with the PostgreSQL parser.

The server prints a policy's expression back as SQL (fully qualified when ``search_path`` is
empty); pglast parses it, so the checks look at function calls, sub-selects and constants rather
than at text patterns.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import pglast
from pglast import ast
from pglast.enums import A_Expr_Kind, BoolExprType, NullTestType, SubLinkType

# Functions whose value is the same for every row of a statement: the request's JWT and claims.
AUTH_FUNCTIONS = frozenset({("auth", "uid"), ("auth", "jwt"), ("auth", "role"), ("auth", "email")})
SETTING_FUNCTIONS = frozenset({("pg_catalog", "current_setting"), ("", "current_setting")})


@dataclass(frozen=True)
class Call:
    """A function call found in an expression, and whether a scalar sub-select wraps it.

    ``once`` is true for ``(select auth.uid())``: a sub-select without FROM, which the planner
    runs once per statement as an init plan. Inside ``exists (select ... from t where ...)`` a
    call runs again for each outer row, so there it is false.
    """

    schema: str
    name: str
    once: bool
    first_arg: str | None

    @property
    def label(self) -> str:
        return f"{self.schema + '.' if self.schema and self.schema != 'pg_catalog' else ''}{self.name}()"


@lru_cache(maxsize=1024)
def parse_expression(text: str) -> ast.Node | None:
    """The parse tree of a SQL expression, or None when the parser rejects it."""
    try:
        stmt = pglast.parse_sql(f"SELECT {text}")[0].stmt
    except pglast.parser.ParseError:
        return None
    assert isinstance(stmt, ast.SelectStmt) and stmt.targetList
    target = stmt.targetList[0]
    assert isinstance(target, ast.ResTarget)
    value: ast.Node | None = target.val
    return value


def _runs_once(sublink: ast.SubLink) -> bool:
    """Whether the sub-select is ``(select <expression>)`` with no FROM: evaluated once."""
    select = sublink.subselect
    return (
        sublink.subLinkType == SubLinkType.EXPR_SUBLINK
        and isinstance(select, ast.SelectStmt)
        and not select.fromClause
    )


def _nodes(root: ast.Node) -> Iterator[tuple[ast.Node, bool]]:
    """Every node under ``root`` (itself included), and whether its nearest sub-select runs once."""
    stack: list[tuple[object, bool]] = [(root, False)]
    while stack:
        item, inside = stack.pop()
        if isinstance(item, tuple):
            stack.extend((child, inside) for child in reversed(item))
        elif isinstance(item, ast.Node):
            yield item, inside
            below = _runs_once(item) if isinstance(item, ast.SubLink) else inside
            stack.extend((getattr(item, member), below) for member in reversed(list(item)))


def _names(nodes: tuple[ast.Node, ...] | None) -> tuple[str, ...]:
    """The strings of a name list (``funcname``, ``fields``, an operator's ``name``)."""
    return tuple(str(n.sval) for n in nodes or () if isinstance(n, ast.String))


def _string(node: ast.Node | None) -> str | None:
    """The value of a string constant, looking through casts."""
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
        return str(node.val.sval)
    return None


def calls(text: str | None) -> list[Call]:
    """Every function call of the expression ``text`` with its schema as printed."""
    root = parse_expression(text) if text else None
    if root is None:
        return []
    found = []
    for node, inside in _nodes(root):
        if isinstance(node, ast.FuncCall):
            names = _names(node.funcname)
            schema, name = (names[-2] if len(names) > 1 else ""), names[-1]
            first = _string(node.args[0]) if node.args else None
            found.append(Call(schema, name, inside, first))
    return found


def per_row_auth_calls(text: str | None) -> list[str]:
    """Calls to auth.uid()/jwt()/role()/email() or current_setting() evaluated once per row.

    Wrapped in a sub-select (``(select auth.uid())``) the planner runs them once per statement
    as an init plan; bare, they run for every row the policy filters.
    """
    labels = []
    for c in calls(text):
        if c.once:
            continue
        if (c.schema, c.name) in AUTH_FUNCTIONS or (c.schema, c.name) in SETTING_FUNCTIONS:
            labels.append(c.label)
    return sorted(set(labels))


def reads_user_metadata(text: str | None) -> bool:
    """Whether the expression reads user-editable metadata from the JWT or from auth.users.

    True when it names ``user_metadata`` together with the request's claims (``auth.jwt()`` or
    ``current_setting('request.jwt.claims')``), or reads the column ``raw_user_meta_data``.
    """
    root = parse_expression(text) if text else None
    if root is None:
        return False
    jwt = False
    metadata_key = False
    for node, _ in _nodes(root):
        if isinstance(node, ast.FuncCall):
            names = _names(node.funcname)
            if names == ("auth", "jwt"):
                jwt = True
            elif names[-1:] == ("current_setting",) and node.args:
                jwt = jwt or (_string(node.args[0]) or "").startswith("request.jwt.claim")
        elif isinstance(node, ast.A_Const) and isinstance(node.val, ast.String):
            metadata_key = metadata_key or node.val.sval == "user_metadata"
        elif isinstance(node, ast.ColumnRef) and _names(node.fields)[-1:] == ("raw_user_meta_data",):
            return True
    return jwt and metadata_key


def always_true(text: str | None) -> bool:
    """Whether the expression is constant true: ``true`` or a comparison of equal constants."""
    node = parse_expression(text) if text else None
    while isinstance(node, ast.TypeCast):
        node = node.arg
    if isinstance(node, ast.A_Const):
        return isinstance(node.val, ast.Boolean) and bool(node.val.boolval)
    if isinstance(node, ast.A_Expr) and node.kind == A_Expr_Kind.AEXPR_OP:
        equal_constants = isinstance(node.lexpr, ast.A_Const) and node.lexpr == node.rexpr
        return _names(node.name) == ("=",) and equal_constants
    return False


def bucket_only(text: str | None) -> str | None:
    """The bucket of an expression that only names one, ``bucket_id = 'avatars'``; else None.

    Such a storage policy lets its roles read every object of the bucket: list them all.
    """
    node = parse_expression(text) if text else None
    if not (isinstance(node, ast.A_Expr) and node.kind == A_Expr_Kind.AEXPR_OP and _names(node.name) == ("=",)):
        return None
    for column, value in ((node.lexpr, node.rexpr), (node.rexpr, node.lexpr)):
        if isinstance(column, ast.ColumnRef) and _names(column.fields)[-1:] == ("bucket_id",):
            return _string(value) if isinstance(value, ast.Node) else None
    return None


def only_not_null(text: str | None, columns: Sequence[str]) -> bool:
    """Whether the expression is ``c IS NOT NULL`` (or several AND-ed) for columns ``c`` among
    ``columns``: true for every row whose ``columns`` are all set."""
    node = parse_expression(text) if text else None
    if node is None:
        return False
    parts = list(node.args or ()) if isinstance(node, ast.BoolExpr) and node.boolop == BoolExprType.AND_EXPR else [node]
    return all(
        isinstance(p, ast.NullTest)
        and p.nulltesttype == NullTestType.IS_NOT_NULL
        and isinstance(p.arg, ast.ColumnRef)
        and _names(p.arg.fields)[-1:] != ()
        and _names(p.arg.fields)[-1] in columns
        for p in parts
    )
