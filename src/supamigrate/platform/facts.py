"""Catalog facts of a live database, in the shape of the platform reference, and a readable diff.

``read_facts(conn, like=reference)`` reads, for the tables, roles, schemas, functions, enums and
publications the reference names, what the database really holds, as JSON-like data shaped like
the reference (see ``tests/toolkit/reference/supabase-platform.json``). ``diff_facts`` compares two
such documents and returns one line per difference, each naming its path, so drift reads as a list.
"""

from __future__ import annotations

import json
import re
from typing import Any

import psycopg

Facts = dict[str, Any]

ATTRIBUTES = (
    ("rolsuper", "SUPERUSER"),
    ("rolinherit", "INHERIT"),
    ("rolcreaterole", "CREATEROLE"),
    ("rolcreatedb", "CREATEDB"),
    ("rolcanlogin", "LOGIN"),
    ("rolreplication", "REPLICATION"),
    ("rolbypassrls", "BYPASSRLS"),
)
API_ROLES = ("anon", "authenticated", "service_role", "postgres")
# Settings whose value is a list of names, stored with each element quoted as an identifier.
LIST_SETTINGS = frozenset(
    {"search_path", "session_preload_libraries", "local_preload_libraries", "temp_tablespaces"}
)
_LIST_ELEMENT = re.compile(r'\s*(?:"((?:[^"]|"")*)"|([^,\s]+))\s*(?:,|$)')
_ON_DELETE = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}
_VOLATILITY = {"i": "immutable", "s": "stable", "v": "volatile"}
_DEFAULT_ACL_KINDS = {"r": "tables", "S": "sequences", "f": "functions"}
_ALL_ON_TABLES_17 = {"DELETE", "INSERT", "MAINTAIN", "REFERENCES", "SELECT", "TRIGGER", "TRUNCATE", "UPDATE"}
# The reference was read by supabase_admin, whose search path renders auth's sequences unqualified.
_READER_SEARCH_PATH = "public, auth, extensions"


def _rows(conn: psycopg.Connection, query: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    return conn.execute(query, params).fetchall()


def _split_list_setting(value: str) -> list[str]:
    elements = []
    for m in _LIST_ELEMENT.finditer(value):
        if m.group(1) is not None:
            elements.append(m.group(1).replace('""', '"'))
        elif m.group(2):
            elements.append(m.group(2))
    return elements


def _quote_literal(conn: psycopg.Connection, value: str) -> str:
    row = conn.execute("SELECT quote_literal(%s::text)", (value,)).fetchone()
    return str(row[0]) if row else ""


def render_setting(conn: psycopg.Connection, name: str, value: str) -> str:
    """A role setting's value as the reference writes it: each list element a SQL literal."""
    if name in LIST_SETTINGS:
        return ", ".join(_quote_literal(conn, e) for e in _split_list_setting(value))
    return _quote_literal(conn, value)


def _columns(conn: psycopg.Connection, table: str) -> list[dict[str, Any]]:
    # Types as format_type writes them with only pg_catalog visible (schema-qualified otherwise);
    # defaults as supabase_admin's search path writes them, as the reference has both.
    conn.execute("SELECT set_config('search_path', 'pg_catalog', true)")
    types = _rows(
        conn,
        "SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a"
        " WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (table,),
    )
    conn.execute("SELECT set_config('search_path', %s, true)", (_READER_SEARCH_PATH,))
    rows = _rows(
        conn,
        "SELECT a.attname, a.attnotnull, a.attgenerated, pg_get_expr(d.adbin, d.adrelid)"
        " FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
        " WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (table,),
    )
    columns = []
    for (type_name,), (name, not_null, generated, expr) in zip(types, rows, strict=True):
        column: dict[str, Any] = {"name": name, "type": type_name, "not_null": bool(not_null)}
        if generated:
            column["generated"] = f"GENERATED ALWAYS AS ({expr}) STORED"
        elif expr is not None:
            column["default"] = expr
        columns.append(column)
    return columns


def _foreign_keys(conn: psycopg.Connection, tables: list[str]) -> list[dict[str, Any]]:
    rows = _rows(
        conn,
        "SELECT format('%%s.%%s', n.nspname, t.relname),"
        " ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(num, i)"
        "   JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num ORDER BY k.i),"
        " format('%%s.%%s(%%s)', rn.nspname, r.relname,"
        "   (SELECT string_agg(a.attname, ', ' ORDER BY k.i) FROM unnest(c.confkey) WITH ORDINALITY k(num, i)"
        "    JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.num)),"
        " c.confdeltype"
        " FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid"
        " JOIN pg_namespace n ON n.oid = t.relnamespace"
        " JOIN pg_class r ON r.oid = c.confrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace"
        " WHERE c.contype = 'f' AND format('%%s.%%s', n.nspname, t.relname) = ANY(%s)"
        " ORDER BY 1, c.conname",
        (tables,),
    )
    return [
        {"table": t, "columns": list(cols), "references": ref, "on_delete": _ON_DELETE[str(d)]}
        for t, cols, ref, d in rows
    ]


def _unique(conn: psycopg.Connection, table: str) -> list[str]:
    """Primary keys, unique constraints and the unique indexes that back no constraint."""
    rows = _rows(
        conn,
        "SELECT c.contype::text, x.indisprimary,"
        " ARRAY(SELECT pg_get_indexdef(x.indexrelid, k + 1, true)"
        "   FROM generate_series(0, x.indnkeyatts - 1) k ORDER BY k),"
        " pg_get_expr(x.indpred, x.indrelid, true)"
        " FROM pg_index x LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.contype IN ('p', 'u')"
        " WHERE x.indrelid = to_regclass(%s) AND x.indisunique"
        " ORDER BY x.indisprimary DESC, c.contype NULLS LAST, x.indexrelid::regclass::text",
        (table,),
    )
    facts = []
    for contype, primary, cols, predicate in rows:
        columns = ", ".join(cols)
        if primary or contype == "p":
            facts.append(f"PRIMARY KEY ({columns})")
        elif contype == "u":
            facts.append(f"UNIQUE ({columns})")
        else:
            where = f" WHERE {_strip_parens(str(predicate))}" if predicate else ""
            facts.append(f"UNIQUE INDEX ({columns}){where}")
    return facts


def _strip_parens(expr: str) -> str:
    if expr.startswith("(") and expr.endswith(")"):
        depth = 0
        for i, ch in enumerate(expr):
            depth += ch == "("
            depth -= ch == ")"
            if depth == 0 and i < len(expr) - 1:
                return expr
        return expr[1:-1]
    return expr


def _rls_without_policies(conn: psycopg.Connection, tables: list[str]) -> list[str]:
    rows = _rows(
        conn,
        "SELECT t FROM unnest(%s::text[]) t"
        " WHERE (SELECT relrowsecurity FROM pg_class WHERE oid = to_regclass(t))"
        " AND NOT EXISTS (SELECT FROM pg_policy WHERE polrelid = to_regclass(t))",
        (tables,),
    )
    return [str(r[0]) for r in rows]


_MULTIWORD_TYPES = ("character ", "double ", "timestamp ", "time ", "bit ")


def _regprocedure(signature: str) -> str:
    """``f(name text)`` -> ``f(text)``: to_regprocedure takes argument types without names."""
    head, _, args = signature.partition("(")
    types = []
    for arg in filter(None, (a.strip() for a in args.rstrip(")").split(","))):
        if " " in arg and not arg.lower().startswith(_MULTIWORD_TYPES):
            arg = arg.split(" ", 1)[1]
        types.append(arg)
    return f"{head}({', '.join(types)})"


def _function(conn: psycopg.Connection, signature: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT format('%%s.%%s(%%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid)),"
        " format_type(p.prorettype, NULL), l.lanname, p.provolatile::text"
        " FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang"
        " JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE p.oid = to_regprocedure(%s)",
        (_regprocedure(signature),),
    ).fetchone()
    if row is None:
        return None
    return {"name": row[0], "returns": row[1], "language": row[2], "volatility": _VOLATILITY[row[3]]}


def _role(conn: psycopg.Connection, name: str) -> dict[str, Any] | None:
    cols = ", ".join(c for c, _ in ATTRIBUTES)
    row = conn.execute(f"SELECT {cols} FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
    if row is None:
        return None
    role: dict[str, Any] = {
        "attributes": [word if flag else f"NO{word}" for flag, (_, word) in zip(row, ATTRIBUTES, strict=True)]
    }
    settings: dict[str, str] = {}
    for (config,) in _rows(
        conn,
        "SELECT unnest(s.setconfig) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole"
        " WHERE r.rolname = %s AND s.setdatabase = 0",
        (name,),
    ):
        key, _, value = str(config).partition("=")
        settings[key] = render_setting(conn, key, value)
    if settings:
        role["settings"] = settings
    return role


def _memberships(conn: psycopg.Connection, roles: list[str]) -> list[dict[str, str]]:
    rows = _rows(
        conn,
        "SELECT r.rolname, m.rolname FROM pg_auth_members a"
        " JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member"
        " WHERE r.rolname = ANY(%s) AND m.rolname = ANY(%s)"
        # PostgreSQL 16+: a membership that only gives ADMIN (the stub's way to keep 15's
        # CREATEROLE reach) grants no privilege, and 15's reference cannot list it.
        + (" AND (a.inherit_option OR a.set_option)" if conn.info.server_version >= 160000 else "")
        + " ORDER BY 1, 2",
        (roles, roles),
    )
    return [{"role": r, "member": m} for r, m in rows]


def _schema(conn: psycopg.Connection, name: str, like: dict[str, Any]) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = %s", (name,)
    ).fetchone()
    if row is None:
        return None
    schema: dict[str, Any] = {"owner": row[0]}
    if "usage" in like:
        schema["usage"] = [
            r for r in API_ROLES if _scalar(conn, "SELECT has_schema_privilege(%s, %s, 'USAGE')", (r, name))
        ]
    if "table_privileges_for_api_roles" in like:
        privileges = _rows(
            conn,
            "SELECT DISTINCT"
            " format('%%s %%s on %%s', pg_get_userbyid(acl.grantee), acl.privilege_type, c.relname)"
            " FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) acl"
            " WHERE c.relnamespace = %s::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm')"
            " AND pg_get_userbyid(acl.grantee) IN ('anon', 'authenticated', 'service_role')"
            " UNION SELECT format('PUBLIC %%s on %%s', acl.privilege_type, c.relname)"
            " FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) acl"
            " WHERE c.relnamespace = %s::regnamespace AND acl.grantee = 0 ORDER BY 1",
            (name, name),
        )
        schema["table_privileges_for_api_roles"] = [str(p[0]) for p in privileges] or "none"
    if "extensions" in like:
        schema["extensions"] = [
            str(r[0])
            for r in _rows(
                conn,
                "SELECT extname FROM pg_extension WHERE extnamespace = %s::regnamespace ORDER BY oid",
                (name,),
            )
        ]
    if "default_privileges" in like:
        schema["default_privileges"] = _default_privileges(conn, name)
    if "table" in like:
        schema["table"] = _table_signature(conn, name, str(like["table"]).split("(", 1)[0])
    return schema


def _default_privileges(conn: psycopg.Connection, schema: str) -> dict[str, dict[str, list[str]]]:
    """{creator: {tables|sequences|functions: [grantee: privileges]}} for ``schema``."""
    rows = _rows(
        conn,
        "SELECT pg_get_userbyid(d.defaclrole), d.defaclobjtype::text, pg_get_userbyid(acl.grantee),"
        " string_agg(acl.privilege_type, ',' ORDER BY acl.privilege_type)"
        " FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) acl"
        " WHERE d.defaclnamespace = %s::regnamespace GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        (schema,),
    )
    result: dict[str, dict[str, list[str]]] = {}
    for creator, kind, grantee, privileges in rows:
        if kind == "r" and set(privileges.split(",")) == _ALL_ON_TABLES_17:
            # PostgreSQL 17 added MAINTAIN to what GRANT ALL ON TABLES grants; the reference, read on
            # the platform's 15, spells the same grant without it.
            privileges = privileges.replace(",MAINTAIN", "")
        result.setdefault(creator, {}).setdefault(_DEFAULT_ACL_KINDS.get(kind, kind), []).append(
            f"{grantee}: {privileges}"
        )
    return result


def _table_signature(conn: psycopg.Connection, schema: str, table: str) -> str | None:
    """``name(col type [primary key], ...)`` as the reference describes the CLI's history table."""
    rows = _rows(
        conn,
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod),"
        " EXISTS (SELECT FROM pg_constraint c WHERE c.conrelid = a.attrelid AND c.contype = 'p'"
        "   AND c.conkey = ARRAY[a.attnum])"
        " FROM pg_attribute a WHERE a.attrelid = to_regclass(format('%%I.%%I', %s::text, %s::text))"
        " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        (schema, table),
    )
    if not rows:
        return None
    cols = ", ".join(f"{n} {t}{' primary key' if pk else ''}" for n, t, pk in rows)
    return f"{table}({cols})"


def _publication(conn: psycopg.Connection, name: str) -> dict[str, Any] | None:
    row = conn.execute(
        "SELECT puballtables, concat_ws(', ', CASE WHEN pubinsert THEN 'insert' END,"
        " CASE WHEN pubupdate THEN 'update' END, CASE WHEN pubdelete THEN 'delete' END,"
        " CASE WHEN pubtruncate THEN 'truncate' END) FROM pg_publication WHERE pubname = %s",
        (name,),
    ).fetchone()
    if row is None:
        return None
    tables = [
        str(r[0])
        for r in _rows(
            conn,
            "SELECT format('%%s.%%s', schemaname, tablename) FROM pg_publication_tables"
            " WHERE pubname = %s ORDER BY 1",
            (name,),
        )
    ]
    return {"name": name, "tables": tables, "all_tables": bool(row[0]), "publish": row[1]}


def _scalar(conn: psycopg.Connection, query: str, params: tuple[object, ...]) -> Any:
    row = conn.execute(query, params).fetchone()
    return row[0] if row else None


def read_facts(conn: psycopg.Connection, like: Facts) -> Facts:
    """What the database of ``conn`` holds for every object ``like`` (the reference) names.

    Runs in a transaction of its own that is rolled back; needs a connection that can read the
    catalog (any role can).
    """
    with conn.transaction(force_rollback=True):
        conn.execute(f"SET LOCAL search_path = {_READER_SEARCH_PATH}")
        tables = list(like.get("tables", {}))
        facts: Facts = {
            "tables": {t: _columns(conn, t) for t in tables},
            "foreign_keys": _foreign_keys(conn, tables),
            "unique": {t: _unique(conn, t) for t in like.get("unique", {})},
            "row_level_security_enabled_without_policies": _rls_without_policies(
                conn, list(like.get("row_level_security_enabled_without_policies", []))
            ),
            "functions": [
                f for f in (_function(conn, fn["name"]) for fn in like.get("functions", [])) if f is not None
            ],
            "roles": {r: role for r in like.get("roles", {}) if (role := _role(conn, r)) is not None},
        }
        member_roles = sorted(
            set(like.get("roles", {}))
            | {m["role"] for m in like.get("role_memberships", [])}
            | {m["member"] for m in like.get("role_memberships", [])}
        )
        facts["role_memberships"] = _memberships(conn, member_roles)
        facts["schemas"] = {
            s: schema
            for s, spec in like.get("schemas", {}).items()
            if (schema := _schema(conn, s, spec)) is not None
        }
        publications = (_publication(conn, pub["name"]) for pub in like.get("publications", []))
        facts["publications"] = [p for p in publications if p is not None]
        facts["enums"] = {
            e: [
                str(r[0])
                for r in _rows(
                    conn,
                    "SELECT enumlabel FROM pg_enum WHERE enumtypid = to_regtype(%s) ORDER BY enumsortorder",
                    (e,),
                )
            ]
            for e in like.get("enums", {})
        }
    return facts


# Lists whose order is itself a fact; every other list is compared as a set.
ORDERED = re.compile(r"^(tables\..+|enums\..+|roles\.[^.]+\.attributes)$")


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def diff_facts(reference: Facts, live: Facts, path: str = "") -> list[str]:
    """One line per difference between two fact documents: ``path: reference X, live Y``."""
    lines: list[str] = []
    if isinstance(reference, dict) and isinstance(live, dict):
        for key in reference:
            sub = f"{path}.{key}" if path else str(key)
            if key not in live:
                lines.append(f"{sub}: missing from the live database (reference {_show(reference[key])})")
            else:
                lines.extend(diff_facts(reference[key], live[key], sub))
        for key in live:
            if key not in reference:
                sub = f"{path}.{key}" if path else str(key)
                lines.append(f"{sub}: not in the reference (live {_show(live[key])})")
        return lines
    if isinstance(reference, list) and isinstance(live, list):
        named = all(isinstance(x, dict) and "name" in x for x in [*reference, *live])
        if named and (reference or live):
            ref_by = {x["name"]: x for x in reference}
            live_by = {x["name"]: x for x in live}
            lines.extend(diff_facts(ref_by, live_by, path))
            common_ref = [n for n in ref_by if n in live_by]
            common_live = [n for n in live_by if n in ref_by]
            if ORDERED.match(path) and common_ref != common_live:
                lines.append(f"{path}: order differs: reference {common_ref}, live {common_live}")
            return lines
        if ORDERED.match(path):
            if reference != live:
                lines.append(f"{path}: reference {_show(reference)}, live {_show(live)}")
            return lines
        ref_set = {_show(x) for x in reference}
        live_set = {_show(x) for x in live}
        lines.extend(f"{path}: missing from the live database: {x}" for x in sorted(ref_set - live_set))
        lines.extend(f"{path}: not in the reference: {x}" for x in sorted(live_set - ref_set))
        return lines
    if reference != live:
        lines.append(f"{path}: reference {_show(reference)}, live {_show(live)}")
    return lines
