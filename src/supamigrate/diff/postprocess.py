"""What the engine gets wrong for Supabase, put right before the migration is written.

Each fix reads the two catalogs (``current``: the migrations' database, ``desired``: the declared
schemas') and returns the plan's statements changed; the re-diff in ``run.py`` proves the result.

- privileges of new objects: pg-delta gives a new table, view, sequence or function the owner's
  built-in privileges and GRANTs the rest. On Supabase, ``postgres``'s default privileges in
  ``public`` already give ``anon``, ``authenticated`` and ``service_role`` everything, so those
  GRANTs are noise (the CLI's "439 spurious REVOKEs" the other way round), and a declared
  ``REVOKE ... FROM anon`` on a new table is not written at all: the table would keep anon's
  default privileges. We write exactly the difference between what the default privileges of
  the migrations' database give at creation and what the declared object has.
- policies on platform tables (``storage.objects``, ``realtime.messages``, ...): the supabase
  profile hides the platform schemas whole, policies users write on their tables included.
  We diff those policies ourselves.
- ``CREATE OR REPLACE FUNCTION`` for a function the migrations never made: ``CREATE FUNCTION``,
  so that one already there (made by hand, by the dashboard) fails the migration rather than
  being replaced without a word (lint rule SB003).
- ``COMMENT ON EXTENSION`` repeating the comment the extension sets itself: dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from .engine import Action, object_name

# Schemas the platform owns whose tables users write policies on.
PLATFORM_POLICY_SCHEMAS = ("auth", "storage", "realtime")
# pg-delta kinds whose privileges come from default privileges, and what GRANT calls them.
_ACL_KINDS = {
    "table": ("r", "TABLE"),
    "view": ("r", "TABLE"),
    "materializedView": ("r", "TABLE"),
    "foreignTable": ("r", "TABLE"),
    "sequence": ("S", "SEQUENCE"),
    "function": ("f", "FUNCTION"),
    "procedure": ("f", "PROCEDURE"),
}
MIGRATION_ROLE = "postgres"  # who runs migrations on the platform, and so owns what they create

Privilege = tuple[str, str, bool]  # grantee ('PUBLIC' or a role), privilege, grantable


@dataclass(frozen=True)
class Fix:
    """One change post-processing made, said in a sentence; ``changed`` names the object it
    found different that the engine did not (as ``run.objects_of`` names the engine's)."""

    what: str
    changed: str | None = None


def _quoted(*parts: str) -> str:
    return ".".join(f'"{p}"' for p in parts)


def _grantee(name: str) -> sql.Composable:
    return sql.SQL("PUBLIC") if name == "PUBLIC" else sql.Identifier(name)


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return dict(a) == dict(b)


def _signature(ident: Mapping[str, Any]) -> str:
    args = ", ".join(str(a) for a in ident.get("args") or ())
    return f"{_quoted(str(ident['schema']), str(ident['name']))}({args})"


def _explode(conn: psycopg.Connection, acl_sql: str, params: Mapping[str, Any]) -> set[Privilege]:
    rows = conn.execute(
        "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,"
        f" a.privilege_type, a.is_grantable FROM aclexplode(({acl_sql})) AS a",
        params,
    ).fetchall()
    return {(str(g).strip('"'), str(p), bool(o)) for g, p, o in rows}


def default_privileges(conn: psycopg.Connection, objtype: str, schema: str, owner: str) -> set[Privilege]:
    """What an object of ``objtype`` (r, S, f) ``owner`` creates in ``schema`` gets: the global
    default privileges (else the built-in ones), plus the schema's."""
    builtin = {"r": "r", "S": "s", "f": "f"}[objtype]
    acl = (
        "SELECT coalesce("
        " (SELECT defaclacl FROM pg_default_acl WHERE defaclrole = %(owner)s::regrole"
        "  AND defaclnamespace = 0 AND defaclobjtype = %(t)s),"
        " acldefault(%(b)s::\"char\", %(owner)s::regrole)) || coalesce("
        " (SELECT defaclacl FROM pg_default_acl WHERE defaclrole = %(owner)s::regrole"
        "  AND defaclnamespace = %(schema)s::regnamespace AND defaclobjtype = %(t)s), '{}')"
    )
    if not conn.execute("SELECT to_regnamespace(%s) IS NOT NULL", (schema,)).fetchone()[0]:  # type: ignore[index]
        acl = acl.replace("%(schema)s::regnamespace", "0::oid AND false")
    return _explode(conn, acl, {"owner": owner, "t": objtype, "b": builtin, "schema": schema})


def object_privileges(conn: psycopg.Connection, kind: str, ident: Mapping[str, Any]) -> tuple[set[Privilege], str]:
    """The privileges the object has (its ACL, else its owner's built-in ones), and its owner."""
    if kind in ("function", "procedure"):
        oid_sql, cat = "%(name)s::regprocedure", "SELECT coalesce(proacl, acldefault('f', proowner)) FROM pg_proc"
        owner_sql = "SELECT proowner::regrole::text FROM pg_proc WHERE oid = %(name)s::regprocedure"
        name = _signature(ident)
    else:
        oid_sql = "%(name)s::regclass"
        cat = (
            "SELECT coalesce(relacl, acldefault(CASE relkind WHEN 'S' THEN 's' ELSE 'r' END::\"char\", relowner))"
            " FROM pg_class"
        )
        owner_sql = "SELECT relowner::regrole::text FROM pg_class WHERE oid = %(name)s::regclass"
        name = _quoted(str(ident["schema"]), str(ident["name"]))
    params = {"name": name}
    privileges = _explode(conn, f"{cat} WHERE oid = {oid_sql}", params)
    owner = conn.execute(owner_sql, params).fetchone()
    return privileges, str(owner[0]).strip('"') if owner else MIGRATION_ROLE


def _statements(verb: str, word: str, target: str, privileges: set[Privilege]) -> list[str]:
    """GRANT (or REVOKE) ``privileges`` on ``target``, one statement per grantee and grant option."""
    out = []
    groups: dict[tuple[str, bool], list[str]] = {}
    for grantee, privilege, grantable in privileges:
        groups.setdefault((grantee, grantable), []).append(privilege)
    for (grantee, grantable), privs in sorted(groups.items()):
        who = _grantee(grantee).as_string(None)
        listed = ", ".join(sorted(privs))
        if verb == "GRANT":
            option = " WITH GRANT OPTION" if grantable else ""
            out.append(f"GRANT {listed} ON {word} {target} TO {who}{option}")
        else:
            option = "GRANT OPTION FOR " if grantable else ""
            out.append(f"REVOKE {option}{listed} ON {word} {target} FROM {who}")
    return out


def new_object_privileges(
    actions: Iterable[Action], current: psycopg.Connection, desired: psycopg.Connection
) -> tuple[list[str], list[Fix]]:
    """The plan's statements with the GRANT / REVOKE of each object it creates replaced by the
    difference between the default privileges it will get and the privileges declared for it."""
    actions = list(actions)
    created: list[tuple[int, str, Mapping[str, Any]]] = []
    for i, a in enumerate(actions):
        if a.verb == "create" and a.produces and str(a.produces[0].get("kind")) in _ACL_KINDS:
            created.append((i, str(a.produces[0]["kind"]), a.produces[0]))
    replaced: set[int] = set()
    extra: dict[int, list[str]] = {}
    fixes: list[Fix] = []
    for at, kind, ident in created:
        engine = [
            i for i, a in enumerate(actions)
            if a.sql.split(None, 1)[0].upper() in ("GRANT", "REVOKE") and a.consumes and _same(a.consumes[0], ident)
        ]
        objtype, word = _ACL_KINDS[kind]
        declared, owner = object_privileges(desired, kind, ident)
        schema = str(ident["schema"])
        defaults = default_privileges(current, objtype, schema, owner)
        # The owner's own privileges are implicit; the default ACL names them only for the record.
        declared = {p for p in declared if p[0] != owner}
        defaults = {p for p in defaults if p[0] != owner}
        target = _signature(ident) if word in ("FUNCTION", "PROCEDURE") else _quoted(schema, str(ident["name"]))
        ours = _statements("REVOKE", word, target, defaults - declared) + _statements(
            "GRANT", word, target, declared - defaults
        )
        theirs = [actions[i].sql for i in engine]
        if theirs != ours:
            fixes.append(Fix(
                f"privileges of new {kind} {target}: {len(theirs)} statement(s) of the engine replaced by"
                f" {len(ours)} (what the default privileges of {owner} do not already give)"
            ))
        replaced.update(engine)
        extra[at] = ours
    out: list[str] = []
    for i, a in enumerate(actions):
        if i not in replaced:
            out.append(a.sql)
        out.extend(extra.get(i, ()))
    return out, fixes


_OR_REPLACE = re.compile(r"^CREATE\s+OR\s+REPLACE\s+(FUNCTION|PROCEDURE)\b", re.I)


def new_functions(
    actions: Iterable[Action], statements: list[str], current: psycopg.Connection
) -> tuple[list[str], list[Fix]]:
    """``CREATE OR REPLACE`` of a function or procedure ``current`` does not have: plain ``CREATE``."""
    new: dict[str, str] = {}
    for a in actions:
        if a.verb != "create" or not a.produces or a.produces[0].get("kind") not in ("function", "procedure"):
            continue
        ident = a.produces[0]
        exists = current.execute("SELECT to_regprocedure(%s) IS NOT NULL", (_signature(ident),)).fetchone()
        if exists is not None and not exists[0]:
            new[a.sql] = f"{a.produces[0]['kind']} {_signature(ident)}"
    out, fixes = [], []
    for s in statements:
        if s in new and _OR_REPLACE.match(s):
            what = new[s]
            s = _OR_REPLACE.sub(lambda m: f"CREATE {m.group(1).upper()}", s, count=1)
            fixes.append(Fix(f"new {what} written as CREATE, not CREATE OR REPLACE"))
        out.append(s)
    return out, fixes


def extension_comments(statements: list[str], desired: psycopg.Connection) -> tuple[list[str], list[Fix]]:
    """Drop ``COMMENT ON EXTENSION x IS '<the comment x's control file sets>'``."""
    rows = desired.execute(
        "SELECT e.extname, d.description, a.comment FROM pg_extension e"
        " LEFT JOIN pg_description d ON d.objoid = e.oid AND d.classoid = 'pg_extension'::regclass"
        " LEFT JOIN pg_available_extensions a ON a.name = e.extname"
    ).fetchall()
    own = {
        f"COMMENT ON EXTENSION {_quoted(str(n))} IS {sql.quote(str(c))}": str(n)
        for n, c, default in rows
        if c is not None and c == default
    }
    kept, fixes = [], []
    for s in statements:
        if s in own:
            fixes.append(Fix(f"dropped the comment extension {own[s]} sets itself"))
            continue
        kept.append(s)
    return kept, fixes


_POLICIES = """
SELECT schemaname, tablename, policyname, permissive, roles::text[], cmd, qual, with_check
FROM pg_policies WHERE schemaname = ANY(%s)
ORDER BY 1, 2, 3
"""


def _policies(conn: psycopg.Connection, schemas: tuple[str, ...]) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    # An empty search_path makes pg_get_expr qualify every name, as the migration needs them.
    with conn.transaction():
        conn.execute("SET LOCAL search_path = ''")
        rows = conn.execute(_POLICIES, (list(schemas),)).fetchall()
    return {(str(r[0]), str(r[1]), str(r[2])): tuple(r[3:]) for r in rows}


def create_policy(schema: str, table: str, name: str, spec: tuple[Any, ...]) -> str:
    """``CREATE POLICY`` for a row of pg_policies."""
    permissive, roles, cmd, qual, check = spec
    text = f"CREATE POLICY {sql.Identifier(name).as_string(None)} ON {_quoted(schema, table)}"
    if permissive != "PERMISSIVE":
        text += " AS RESTRICTIVE"
    text += f" FOR {cmd} TO " + ", ".join(_grantee(r).as_string(None) if r != "public" else "PUBLIC" for r in roles)
    if qual is not None:
        text += f" USING ({qual})"
    if check is not None:
        text += f" WITH CHECK ({check})"
    return text


def platform_policies(
    current: psycopg.Connection, desired: psycopg.Connection, schemas: tuple[str, ...] = PLATFORM_POLICY_SCHEMAS
) -> tuple[list[str], list[str], list[Fix]]:
    """The policies on platform tables the declared schemas add, change or drop: (drops to run
    first, creates to run last, what was done)."""
    have, want = _policies(current, schemas), _policies(desired, schemas)
    drops, creates, fixes = [], [], []
    for key in sorted(have.keys() | want.keys()):
        if have.get(key) == want.get(key):
            continue
        schema, table, name = key
        if key in have:
            drops.append(f"DROP POLICY {sql.Identifier(name).as_string(None)} ON {_quoted(schema, table)}")
        if key in want:
            creates.append(create_policy(schema, table, name, want[key]))
        change = "changed" if key in have and key in want else "added" if key in want else "dropped"
        word = {
            "added": "declared, not built by the migrations",
            "dropped": "built by the migrations, not declared",
            "changed": "differs",
        }[change]
        fixes.append(Fix(
            f'policy "{name}" on {schema}.{table} {change} (the engine does not diff platform tables)',
            f"{object_name({'kind': 'policy', 'schema': schema, 'table': table, 'name': name})}: {word}",
        ))
    return drops, creates, fixes
