"""From the SQL error a request met to what is at fault and how to fix it.

The error's ``CONTEXT`` names the function it was raised in (a trigger function on ``auth.users``
usually); the catalog says whether that function is ``SECURITY DEFINER`` and what ``search_path``
it pins, which decides the fix. Constraint errors name their constraint in the error's fields.
Called after the request's savepoint was rolled back, so the catalog can be read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import psycopg

from .requests import SmokeFailure

# "PL/pgSQL function public.handle_new_user() line 3 at SQL statement", innermost first;
# 'SQL function "handle_new_user" statement 1' for LANGUAGE sql.
_CONTEXT_FUNCTION = re.compile(r'PL/pgSQL function ([^\s(]+)\(|SQL function "([^"]+)"')
_DENIED_FUNCTION = re.compile(r"^permission denied for function (\S+)$")
_MISSING = re.compile(r'^(?:relation|function|type) "?([^"\s(]+)"?(?:\(.*\))? does not exist')


@dataclass(frozen=True)
class FunctionFacts:
    """A function as the catalog has it: its name, whether it is SECURITY DEFINER, its owner and
    the search_path it pins (None when it pins none)."""

    name: str
    definer: bool
    owner: str
    search_path: str | None


def context_function(conn: psycopg.Connection, error: psycopg.Error) -> FunctionFacts | None:
    """The innermost function named in the error's CONTEXT, read from the catalog."""
    match = _CONTEXT_FUNCTION.search(error.diag.context or "")
    if match is None:
        return None
    name = match.group(1) or match.group(2)
    schema, _, proname = name.rpartition(".")
    row = conn.execute(
        "SELECT n.nspname || '.' || p.proname, p.prosecdef, pg_get_userbyid(p.proowner),"
        " (SELECT substr(c, 13) FROM unnest(p.proconfig) AS c WHERE c LIKE 'search_path=%%')"
        " FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE p.proname = %(name)s AND (%(schema)s = '' OR n.nspname = %(schema)s)"
        " ORDER BY n.nspname = 'public' DESC LIMIT 1",
        {"name": proname, "schema": schema},
    ).fetchone()
    if row is None:
        return None
    return FunctionFacts(str(row[0]), bool(row[1]), str(row[2]), None if row[3] is None else str(row[3]))


def _function_named(conn: psycopg.Connection, name: str) -> str | None:
    """``schema.name`` of the function the error names unqualified (public first)."""
    row = conn.execute(
        "SELECT n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE p.proname = %s ORDER BY n.nspname = 'public' DESC, n.nspname LIMIT 1",
        (name.rpartition(".")[2],),
    ).fetchone()
    return None if row is None else str(row[0])


def _home_of(conn: psycopg.Connection, name: str) -> str | None:
    """The schema holding a relation (or function) ``name`` outside the system schemas."""
    row = conn.execute(
        "SELECT n.nspname FROM pg_namespace n"
        " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND ("
        "   EXISTS (SELECT FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = %(n)s)"
        "   OR EXISTS (SELECT FROM pg_proc p WHERE p.pronamespace = n.oid AND p.proname = %(n)s))"
        " ORDER BY n.nspname = 'public' DESC, n.nspname LIMIT 1",
        {"n": name},
    ).fetchone()
    return None if row is None else str(row[0])


def diagnose(
    conn: psycopg.Connection, request: str, service_error: str, error: psycopg.Error, *, role: str
) -> SmokeFailure:
    """The failure of ``request`` (run as ``role``) that met ``error``: culprit and fix."""
    diag = error.diag
    state = error.sqlstate or ""
    message = diag.message_primary or str(error).strip()
    fn = context_function(conn, error)
    where = f"{fn.name}()" if fn else None
    table = f"{diag.schema_name}.{diag.table_name}" if diag.schema_name and diag.table_name else None
    culprit = f"function {fn.name}" if fn else None
    fix: str
    if state == "23503" and table and diag.constraint_name:
        culprit = f"constraint {table}.{diag.constraint_name}"
        if "update or delete" in message:
            fix = (f"declare the foreign key on {table} `on delete cascade` (or `on delete set null`)"
                   f" so that deleting the user deletes (or detaches) its rows")
        else:
            fix = f"insert the rows {table} refers to first, or relax {diag.constraint_name}"
    elif state == "42501" and fn is None and (denied := _DENIED_FUNCTION.match(message)):
        # The call itself was refused (an RPC): the function lacks an EXECUTE grant.
        called = _function_named(conn, denied.group(1))
        culprit = f"function {called}" if called else None
        fix = f"grant execute on function {called or denied.group(1)} to {role}"
    elif state == "42501":
        if fn is not None and not fn.definer:
            fix = (f"make {where} `security definer set search_path = ''` and schema-qualify the names"
                   f" in it: the service runs it as {role}, which may not do this ({message})")
        elif fn is not None:
            fix = f"grant {fn.owner}, the owner {where} runs as, what it needs ({message})"
        else:
            fix = f"grant {role} what the request needs ({message})"
    elif state in ("42P01", "42883", "42704"):
        missing = _MISSING.match(message)
        name = missing.group(1) if missing else None
        home = _home_of(conn, name.rpartition(".")[2]) if name else None
        qualified = f"`{home}.{name}`" if home and name and "." not in name else "its schema-qualified name"
        if fn is not None and fn.search_path is not None and fn.search_path.strip('"') == "":
            fix = f"write {qualified} in {where}: its search_path is empty, so unqualified names are not found"
        elif fn is not None:
            fix = (f"write {qualified} in {where} and pin `set search_path = ''`: the service's search_path"
                   f" is {role}'s, so unqualified names are looked up there")
        else:
            fix = f"write {qualified}: the service's search_path is {role}'s"
    elif state == "23502" and table and diag.column_name and fn is not None and _reads_metadata(conn, fn.name):
        # The trigger fills the column from the sign-up's options.data, which an app sends and the
        # smoke's sign-up cannot guess: a doubt about our request as much as about the project.
        culprit = culprit or f"table {table}"
        fix = (f"{table}.{diag.column_name} gets no value by {where} from the sign-up's user_metadata"
               f" (raw_user_meta_data): set [smoke] user_metadata to what your app sends, e.g."
               f' {{ {diag.column_name} = "smoke-{{tag}}" }} ({{tag}}: each sign-up\'s own), or let the column take'
               f" NULL or a default")
        return SmokeFailure(request, service_error, error, culprit, fix, doubtful=True)
    elif state == "23502" and table and diag.column_name:
        culprit = culprit or f"table {table}"
        by = f" by {where}" if where else ""
        fix = (f"{table}.{diag.column_name} gets no value{by} for this user (anonymous and phone users"
               f" have no email): allow NULL or supply a value")
    elif state.startswith("23") and table and diag.constraint_name:
        culprit = culprit or f"constraint {table}.{diag.constraint_name}"
        fix = f"make {where or 'the trigger'} respect {diag.constraint_name} on {table} for every user"
    elif state == "P0001" and where:
        fix = (f"{where} raises it itself: let this request through if it should pass, or turn the request"
               f" off in [smoke] disable if refusing it is the point")
    elif where:
        fix = f"make {where} succeed for a user the service creates this way ({state} {message})"
    else:
        fix = f"the request must succeed as {role} ({state} {message})"
    return SmokeFailure(request, service_error, error, culprit, fix)


def _reads_metadata(conn: psycopg.Connection, name: str) -> bool:
    """Whether function ``name`` (``schema.name``) reads a user's raw_user_meta_data."""
    schema, _, proname = name.rpartition(".")
    row = conn.execute(
        "SELECT bool_or(p.prosrc LIKE '%%raw_user_meta_data%%') FROM pg_proc p"
        " JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = %s AND n.nspname = %s",
        (proname, schema or "public"),
    ).fetchone()
    return bool(row and row[0])


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
