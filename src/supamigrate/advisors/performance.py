"""Performance advisors: policy evaluation cost, indexes, primary keys.

Written from what the Supabase Database Advisor's lint of the same name means; ids and levels
are Supabase's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from . import expressions
from .policies import policies
from .registry import USER_SCHEMA, Context, Hit, advisor, not_extension_member

COMMANDS = ["SELECT", "INSERT", "UPDATE", "DELETE"]

# An index i whose leading columns are exactly the columns of foreign key k (in any order).
LEADING = """(string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(k.conkey)] @> k.conkey
          AND (string_to_array(i.indkey::text, ' ')::int2[])[1:cardinality(k.conkey)] <@ k.conkey"""


@advisor(
    "auth_rls_initplan",
    level="WARN",
    category="performance",
    title="Auth function called per row in a policy",
    hint="wrap the call in a sub-select, e.g. (select auth.uid()) = user_id, so it runs once per statement",
    splinter="0003",
)
def auth_rls_initplan(ctx: Context) -> Iterator[Hit]:
    """A policy calling ``auth.uid()``, ``auth.jwt()``, ``auth.role()``, ``auth.email()`` or
    ``current_setting()`` directly, so the call runs again for every row the policy filters.

    Written as ``(select auth.uid())`` the planner evaluates it once per statement (an init
    plan); on large tables that is often the difference between milliseconds and seconds.
    Realtime's policies (on ``realtime.messages``, the project's own) are checked too: they
    run for every message a channel join or broadcast authorises.
    """
    for p in policies(ctx, also=("realtime",)):
        if not p.rls_enabled:
            continue
        found = sorted(
            set(expressions.per_row_auth_calls(p.using)) | set(expressions.per_row_auth_calls(p.with_check))
        )
        if found:
            yield Hit(
                p.object,
                f"policy {p.name} on {p.table} calls {', '.join(found)} for each row",
                hint=f"write (select {found[0]}) instead of {found[0]}, so it runs once per statement",
            )


@advisor(
    "multiple_permissive_policies",
    level="WARN",
    category="performance",
    title="Multiple permissive policies",
    hint="merge them into one policy per role and command (their conditions OR-ed), or make the"
    " extra ones AS RESTRICTIVE if they are meant to narrow access",
    splinter="0006",
)
def multiple_permissive_policies(ctx: Context) -> Iterator[Hit]:
    """Several permissive policies on one table that apply to the same role and command.

    PostgreSQL evaluates every one of them for every row and ORs the results, so each extra
    policy costs a full evaluation, and the widest one silently decides. Policies for PUBLIC
    count for anon and authenticated; roles that bypass RLS are left out.
    """
    query = f"""
    SELECT format('%%I.%%I', n.nspname, c.relname), r.rolname, x.cmd, array_agg(p.polname ORDER BY p.polname)
    FROM pg_catalog.pg_policy p
    JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL unnest(CASE p.polcmd WHEN 'r' THEN ARRAY['SELECT'] WHEN 'a' THEN ARRAY['INSERT']
        WHEN 'w' THEN ARRAY['UPDATE'] WHEN 'd' THEN ARRAY['DELETE']
        ELSE ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE'] END) AS x(cmd)
    JOIN pg_catalog.pg_roles r
      ON r.oid = ANY(p.polroles) OR (p.polroles = '{{0}}' AND r.rolname = ANY(%(api_roles)s))
    WHERE p.polpermissive AND NOT r.rolbypassrls AND {USER_SCHEMA}
    GROUP BY 1, 2, 3 HAVING count(*) > 1
    ORDER BY 1, 2, 3
    """
    groups: dict[tuple[str, tuple[str, ...]], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for table, role, cmd, names in ctx.rows(query):
        groups[(table, tuple(names))][role].add(cmd)
    for (table, names), by_role in groups.items():
        parts = [f"{r} on {', '.join(sorted(c, key=COMMANDS.index))}" for r, c in sorted(by_role.items())]
        yield Hit(
            f"{table}: policies {', '.join(names)}",
            f"table {table} has permissive policies {', '.join(names)} for the same role and command"
            f" ({'; '.join(parts)}): each is evaluated for every row",
        )


@advisor(
    "unindexed_foreign_keys",
    level="INFO",
    category="performance",
    title="Foreign key without a covering index",
    hint="CREATE INDEX ON the referencing table (the foreign key's columns)",
    splinter="0001",
)
def unindexed_foreign_keys(ctx: Context) -> Iterator[Hit]:
    """A foreign key whose columns are not the leading columns of any valid index that every
    referencing row is in.

    Joins along the key, and every delete or key update on the referenced table (which must
    find the referencing rows, e.g. for ON DELETE CASCADE), then scan the whole table. A
    partial index counts when its predicate only asks that key columns be not null (``where
    col is not null``): rows with a null key reference nothing, and the lookup by key value
    implies the predicate, so the planner uses it.
    """
    query = f"""
    SELECT format('%%I.%%I', n.nspname, c.relname), k.conname,
           ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY u(num, i)
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num ORDER BY u.i),
           ARRAY(SELECT quote_ident(a.attname) FROM unnest(k.conkey) WITH ORDINALITY u(num, i)
                 JOIN pg_catalog.pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.num ORDER BY u.i),
           ARRAY(SELECT pg_catalog.pg_get_expr(i.indpred, i.indrelid) FROM pg_catalog.pg_index i
                 WHERE i.indrelid = k.conrelid AND i.indisvalid AND i.indpred IS NOT NULL AND {LEADING})
    FROM pg_catalog.pg_constraint k
    JOIN pg_catalog.pg_class c ON c.oid = k.conrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE k.contype = 'f' AND {USER_SCHEMA} AND {not_extension_member('pg_class', 'c.oid')}
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_index i
                      WHERE i.indrelid = k.conrelid AND i.indisvalid AND i.indpred IS NULL AND {LEADING})
    ORDER BY 1, 2
    """
    for table, name, columns, quoted, predicates in ctx.rows(query):
        if any(expressions.only_not_null(p, columns) for p in predicates):
            continue
        cols = ", ".join(quoted)
        yield Hit(
            f"{table}: foreign key {name}",
            f"foreign key {name} on {table} ({cols}) has no index covering it",
            hint=f"CREATE INDEX ON {table} ({cols});",
        )


@advisor(
    "duplicate_index",
    level="WARN",
    category="performance",
    title="Duplicate index",
    hint="drop all but one of them; each costs a write on every insert and update",
    splinter="0009",
)
def duplicate_index(ctx: Context) -> Iterator[Hit]:
    """Two or more indexes on one table with the same method, columns, operator classes,
    collations, options, expressions, predicate, uniqueness and NULLS [NOT] DISTINCT.

    They serve the same queries, but every insert and update pays for each of them. A unique
    index NULLS NOT DISTINCT beside a plain unique one on the same columns is not a duplicate:
    it also refuses a second NULL, so it is the one to keep if either goes.
    """
    query = f"""
    SELECT format('%%I.%%I', n.nspname, c.relname), quote_ident(n.nspname),
           array_agg(quote_ident(ic.relname) ORDER BY ic.relname)
    FROM pg_catalog.pg_index i
    JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_catalog.pg_class c ON c.oid = i.indrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE {USER_SCHEMA} AND {not_extension_member('pg_class', 'c.oid')}
    GROUP BY 1, 2, i.indrelid, ic.relam, i.indkey::text, i.indclass::text, i.indcollation::text,
             i.indoption::text, i.indisunique, i.indnullsnotdistinct, i.indnkeyatts,
             pg_catalog.pg_get_expr(i.indexprs, i.indrelid), pg_catalog.pg_get_expr(i.indpred, i.indrelid)
    HAVING count(*) > 1
    ORDER BY 1, 2
    """
    for table, schema, names in ctx.rows(query):
        drops = " ".join(f"DROP INDEX {schema}.{name};" for name in names[1:])
        yield Hit(
            f"{table}: indexes {', '.join(names)}",
            f"table {table} has identical indexes {', '.join(names)}",
            hint=f"keep one and drop the others, e.g. {drops} (an index backing a constraint goes with"
            " ALTER TABLE ... DROP CONSTRAINT)",
        )


@advisor(
    "no_primary_key",
    level="INFO",
    category="performance",
    title="Table without a primary key",
    hint="add one: ALTER TABLE ... ADD PRIMARY KEY (...), or an identity column"
    " (id bigint generated always as identity primary key)",
    splinter="0004",
)
def no_primary_key(ctx: Context) -> Iterator[Hit]:
    """A table of a user schema without a primary key.

    Rows cannot be addressed reliably (the dashboard and the Data API cannot update or delete a
    single row), logical replication cannot publish its updates and deletes, and duplicates
    creep in. Partitions are left out: their parent's key covers them.
    """
    query = f"""
    SELECT format('%%I.%%I', n.nspname, c.relname)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND {USER_SCHEMA}
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
      AND {not_extension_member('pg_class', 'c.oid')}
    ORDER BY 1
    """
    for (table,) in ctx.rows(query):
        yield Hit(table, f"table {table} has no primary key")
