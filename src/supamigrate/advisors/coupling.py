"""Security advisors on ties to what the platform may change: foreign keys to auth's unique
constraints, and column types that stop a PostgreSQL upgrade.

Written from what the Supabase Database Advisor's lint of the same name means; ids and levels
are Supabase's.
"""

from __future__ import annotations

from collections.abc import Iterator

from .registry import USER_SCHEMA, Context, Hit, advisor, not_extension_member

# The reg* types whose values are OIDs pg_upgrade cannot carry over (regclass, regrole and
# regtype it can, and allows).
UPGRADE_BLOCKING_TYPES = (
    "regcollation", "regconfig", "regdictionary", "regnamespace", "regoper", "regoperator", "regproc",
    "regprocedure",
)  # fmt: skip


@advisor(
    "fkey_to_auth_unique",
    level="ERROR",
    category="security",
    title="Foreign key to a unique constraint of auth",
    hint="reference auth.users (id) instead, the one key auth keeps stable",
    splinter="0021",
)
def fkey_to_auth_unique(ctx: Context) -> Iterator[Hit]:
    """A foreign key of a user table that references an ``auth`` table through a unique
    constraint other than its primary key (``auth.users (phone)``, ...).

    Those constraints belong to the auth service, which may change or drop them in an upgrade;
    the foreign key then blocks the upgrade's migration (or goes with it), and a project may be
    stuck on an old auth version.
    """
    query = f"""
    SELECT format('%%I.%%I', n.nspname, c.relname), k.conname, format('%%I.%%I', rn.nspname, r.relname),
           ARRAY(SELECT quote_ident(a.attname) FROM unnest(k.confkey) WITH ORDINALITY u(num, i)
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.num ORDER BY u.i),
           ic.relname
    FROM pg_catalog.pg_constraint k
    JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_class r ON r.oid = k.confrelid
    JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace
    JOIN pg_catalog.pg_index i ON i.indexrelid = k.conindid
    JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
    WHERE k.contype = 'f' AND rn.nspname = 'auth' AND i.indisunique AND NOT i.indisprimary
      AND {USER_SCHEMA} AND {not_extension_member('pg_class', 'c.oid')}
    ORDER BY 1, 2
    """
    for table, name, target, columns, index in ctx.rows(query):
        yield Hit(
            f"{table}: foreign key {name}",
            f"foreign key {name} on {table} references {target} ({', '.join(columns)}) through auth's"
            f" unique constraint {index}, which auth may change or drop when it upgrades",
        )


@advisor(
    "unsupported_reg_types",
    level="WARN",
    category="security",
    title="Column type that blocks upgrades",
    hint="store the name instead (text, or regclass/regrole/regtype which pg_upgrade allows)",
    splinter="0018",
)
def unsupported_reg_types(ctx: Context) -> Iterator[Hit]:
    """A column of a user table whose type is one of the ``reg*`` OID types pg_upgrade refuses
    (``regproc``, ``regprocedure``, ``regoper``, ``regoperator``, ``regconfig``,
    ``regdictionary``, ``regnamespace``, ``regcollation``), directly, as an array or through a
    domain.

    Their values are OIDs, which differ on the upgraded cluster, so pg_upgrade stops and the
    project cannot move to a new PostgreSQL version until the column is changed.
    """
    query = f"""
    WITH RECURSIVE blocking(oid, name) AS (
        SELECT t.oid, t.typname::text FROM pg_catalog.pg_type t
        WHERE t.typnamespace = 'pg_catalog'::regnamespace AND t.typname = ANY(%(types)s)
      UNION
        SELECT t.oid, b.name FROM pg_catalog.pg_type t JOIN blocking b
          ON (t.typelem = b.oid AND t.typcategory = 'A') OR t.typbasetype = b.oid
    )
    SELECT format('%%I.%%I', n.nspname, c.relname), a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), b.name
    FROM pg_catalog.pg_attribute a
    JOIN blocking b ON b.oid = a.atttypid
    JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'm')
      AND {USER_SCHEMA} AND {not_extension_member('pg_class', 'c.oid')}
    ORDER BY 1, a.attnum
    """
    for table, column, type_name, base in ctx.rows(query, types=list(UPGRADE_BLOCKING_TYPES)):
        yield Hit(
            f"{table}.{column}",
            f"column {table}.{column} has type {type_name} ({base} holds OIDs): pg_upgrade refuses it,"
            " so the project cannot be upgraded to a new PostgreSQL version",
        )
