"""SB018: the sign-up trap, a trigger on ``auth.users`` (or ``auth.identities``) whose function
fails when the auth service fires it.

The auth service writes ``auth.users`` as ``supabase_auth_admin``, with that role's search_path
(``auth``). A trigger function runs as that role unless it is SECURITY DEFINER, so it needs
EXECUTE and the rights on every table the migrations created that it uses; and it resolves
unqualified names (tables, and the functions the migrations create) through its own ``SET
search_path`` (``''``: none but pg_catalog) or else through ``auth``. Either mistake makes
sign-up fail with "Database error saving new user". Judged on each function's latest definition
and the grants of the whole set, so a later migration that fixes the function (or grants the
rights) clears the finding.
"""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from ...sql.objects import Name
from ...sql.routine_body import BodyRelation, body_of, body_use
from ...sql.schema_model import Function, SchemaModel, Trigger
from ...sql.source import ParsedStatement
from ..findings import Finding, Rule
from .base import Context, Family

AUTH_ROLE = "supabase_auth_admin"
AUTH_PATH = ("auth",)  # ALTER ROLE supabase_auth_admin SET search_path = auth (the platform's)
AUTH_TABLES = ("auth.users", "auth.identities")
SERVICE_ERROR = '"Database error saving new user"'

AUTH_TRIGGER = Rule(
    "SB018",
    "auth-trigger-fails-sign-up",
    "a trigger on auth.users or auth.identities whose function the auth service cannot run: not"
    " SECURITY DEFINER and supabase_auth_admin lacks EXECUTE or the rights on the tables it uses,"
    " or an unqualified table (or function of the migrations) its search_path (`''`, or the auth"
    " service's `auth`) does not find",
    "make the function `security definer set search_path = ''` and schema-qualify every name in its"
    " body (`public.profiles`), or grant supabase_auth_admin what it uses",
)


def _missing_rights(
    function: Function[ParsedStatement], used: list[tuple[BodyRelation, str]], state: SchemaModel[ParsedStatement]
) -> list[str]:
    """What supabase_auth_admin lacks to run an invoker function: EXECUTE, table privileges."""
    missing: list[str] = []
    revoked = ("function:" + function.name, "public") in state.grants  # EXECUTE is PUBLIC's by default
    if revoked and not state.granted("function", function.name, AUTH_ROLE, "execute"):
        missing.append(f"EXECUTE on {function.name}")
    for relation, table in used:
        t = state.tables.get(table)
        if t is None or t.created is None:
            continue  # the platform's (the auth tables are the role's own)
        if not state.granted("table", table, AUTH_ROLE, relation.privilege):
            right = f"{relation.privilege.upper()} on {table}"
            if right not in missing:
                missing.append(right)
    return missing


def _resolve(name: Name, path: tuple[str, ...], state: SchemaModel[ParsedStatement]) -> str | None:
    """``schema.name`` of the relation ``name`` finds along ``path`` (None: none there)."""
    for schema in [name.schema] if name.schema else path:
        if (schema, name.name) in state.relations or f"{schema}.{name.name}" in state.tables:
            return f"{schema}.{name.name}"
    return f"{name.schema}.{name.name}" if name.schema else None


def _misses(name: Name, path: tuple[str, ...], state: SchemaModel[ParsedStatement]) -> str | None:
    """Where an unqualified ``name`` the function cannot find lives, or ``""`` when the path is
    empty (nothing but pg_catalog is searched); None when the name is fine."""
    if name.schema or name.name.startswith("pg_") or _resolve(name, path, state) is not None:
        return None
    if not path:
        return ""
    elsewhere = [t for t in state.tables.values() if t.created is not None and t.name.split(".", 1)[1] == name.name]
    return elsewhere[0].name if elsewhere else None


def _findings(
    trigger: Trigger[ParsedStatement], function: Function[ParsedStatement], ctx: Context
) -> Iterator[Finding]:
    state = ctx.state
    definition = function.definition
    if definition is None or not isinstance(definition.node, ast.CreateFunctionStmt):
        return
    node = definition.node
    use = body_use(node, definition.statement)
    relations = use.relations
    path = function.path if function.path is not None else AUTH_PATH
    fired = (
        f"trigger {trigger.name} on {trigger.table}"
        f" ({trigger.stmt.file.name}:{trigger.stmt.file.line_col(trigger.stmt.start)[0]})"
    )
    body = body_of(node, definition.statement)
    shown = "search_path ''" if not path else f"search_path {', '.join(path)}"
    for relation in relations:
        where = _misses(relation.name, path, state)
        if where is None:
            continue
        why = (
            "only pg_catalog is searched"
            if where == ""
            else f"the migrations create {where}, which is not on that path"
        )
        source = "its own" if function.path is not None else "the auth service's"
        yield ctx.at(
            AUTH_TRIGGER,
            definition,
            f"{function.name} runs with {shown} ({source}) when {fired} fires it: the unqualified name"
            f" {relation.name.name} finds no table ({why}), so sign-up fails with {SERVICE_ERROR}"
            f' (42P01 relation "{relation.name.name}" does not exist)',
            body.find(relation.name) if body is not None else None,
        )
    for call in dict.fromkeys(use.calls):
        if call.schema is not None or any(f"{schema}.{call.name}" in state.functions for schema in path):
            continue
        made = [f for f in state.functions if f.split(".", 1)[1] == call.name]
        if not made:
            continue  # a built-in (pg_catalog is always searched) or one the migrations do not create
        source = "its own" if function.path is not None else "the auth service's"
        yield ctx.at(
            AUTH_TRIGGER,
            definition,
            f"{function.name} runs with {shown} ({source}) when {fired} fires it: the unqualified call"
            f" {call.name}() finds no function (the migrations create {made[0]}, which is not on that path),"
            f" so sign-up fails with {SERVICE_ERROR} (42883 function {call.name}(...) does not exist)",
            body.find(call) if body is not None else None,
        )
    if function.definer_offset is not None:
        return
    used = [(r, table) for r in relations if (table := _resolve(r.name, path, state)) is not None]
    missing = _missing_rights(function, used, state)
    if missing:
        first = next((t for r, t in used if f"{r.privilege.upper()} on {t}" in missing), None)
        denied = f" (42501 permission denied for table {first.split('.', 1)[1]})" if first else ""
        yield ctx.at(
            AUTH_TRIGGER,
            definition,
            f"{function.name} is not SECURITY DEFINER, so {fired} runs it as {AUTH_ROLE}, which has no"
            f" {', '.join(missing)}: sign-up fails with {SERVICE_ERROR}{denied}",
        )


def at_end(ctx: Context) -> Iterator[Finding]:
    seen: set[str] = set()
    for trigger in ctx.state.triggers.values():
        function = ctx.state.functions.get(trigger.function)
        if trigger.table not in AUTH_TABLES or function is None or function.name in seen:
            continue
        seen.add(function.name)
        yield from _findings(trigger, function, ctx)


FAMILY = Family((AUTH_TRIGGER,), at_end=at_end)
