"""Advisors for a database in service only (``supamigrate advise``): index usage, dead space,
extension versions and what GraphQL shows each API role.

On a fresh build every index is unused, no table has dead space and the server's extensions
are whatever this machine has; and the platform stub preinstalls pg_graphql whether or not the
project serves GraphQL. So these run only with ``run_advisors(..., live=True)``.
Written from what the Supabase Database Advisor's lint of the same name means; ids and levels
are Supabase's.
"""

from __future__ import annotations

from collections.abc import Iterator

from .registry import USER_SCHEMA, Context, Hit, advisor, not_extension_member

# A table is bloated when its dead space exceeds both of these: the share of its pages, and an
# absolute size (below it a VACUUM FULL is not worth its lock).
BLOAT_SHARE = 0.7
BLOAT_MIN_BYTES = 20 * 1024 * 1024


@advisor(
    "unused_index",
    level="INFO",
    category="performance",
    title="Unused index",
    hint="if no query needs it, DROP INDEX CONCURRENTLY it: every write pays for it",
    splinter="0005",
    live=True,
)
def unused_index(ctx: Context) -> Iterator[Hit]:
    """An index of a user table that no scan has used since the statistics were last reset.

    It costs a write on every insert and update and space on disk, for nothing. Indexes that
    enforce something (primary key, unique, exclusion constraint) are left out, whatever their
    use: dropping them changes what the table accepts.
    """
    query = f"""
    SELECT format('%%I.%%I', s.schemaname, s.relname), quote_ident(s.indexrelname),
           quote_ident(s.schemaname) || '.' || quote_ident(s.indexrelname),
           pg_catalog.pg_size_pretty(pg_catalog.pg_relation_size(s.indexrelid)),
           (SELECT d.stats_reset::date::text FROM pg_catalog.pg_stat_database d
            WHERE d.datname = pg_catalog.current_database())
    FROM pg_catalog.pg_stat_user_indexes s
    JOIN pg_catalog.pg_index i ON i.indexrelid = s.indexrelid
    JOIN pg_catalog.pg_class c ON c.oid = s.relid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_constraint k WHERE k.conindid = i.indexrelid)
      AND {USER_SCHEMA} AND {not_extension_member('pg_class', 'c.oid')}
    ORDER BY 1, 2
    """
    for table, index, qualified, size, reset in ctx.rows(query):
        since = f"since statistics were reset on {reset}" if reset else "since statistics began"
        yield Hit(
            f"{table}: index {index}",
            f"index {index} on {table} ({size}) has not been used by any scan {since}",
            hint=f"DROP INDEX CONCURRENTLY {qualified}; if no query needs it (check on every replica first)",
        )


@advisor(
    "table_bloat",
    level="INFO",
    category="performance",
    title="Table bloat",
    hint="VACUUM FULL (or pg_repack, without the long lock) reclaims it; tune autovacuum so it does not"
    " come back",
    splinter="0020",
    live=True,
)
def table_bloat(ctx: Context) -> Iterator[Hit]:
    """A table of a user schema whose pages are mostly dead space: more than 70% of it, and more
    than 20 MB, by an estimate from its row count and the planner statistics' column widths.

    Scans read the dead pages too, and the space is not given back to the disk. The estimate
    needs statistics (ANALYZE); a table without them is left out.
    """
    query = f"""
    SELECT format('%%I.%%I', n.nspname, c.relname), c.relpages::bigint,
           -- live rows x (tuple header + item pointer + data), over a page's usable bytes
           ceil(c.reltuples * (28 + w.width) / (pg_catalog.current_setting('block_size')::numeric - 24)
                / (COALESCE((SELECT o.option_value::int FROM pg_catalog.pg_options_to_table(c.reloptions) o
                             WHERE o.option_name = 'fillfactor'), 100) / 100.0))::bigint,
           pg_catalog.current_setting('block_size')::bigint
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    CROSS JOIN LATERAL (SELECT sum((1 - s.null_frac) * s.avg_width) AS width FROM pg_catalog.pg_stats s
                        WHERE s.schemaname = n.nspname AND s.tablename = c.relname AND NOT s.inherited) w
    WHERE c.relkind = 'r' AND c.reltuples >= 0 AND w.width IS NOT NULL
      AND {USER_SCHEMA} AND {not_extension_member('pg_class', 'c.oid')}
    ORDER BY 1
    """
    for table, pages, expected, block in ctx.rows(query):
        dead = (pages - max(expected, 1)) * block
        if pages and dead > BLOAT_MIN_BYTES and dead > BLOAT_SHARE * pages * block:
            yield Hit(
                table,
                f"table {table} takes {pages * block // 2**20} MB for rows that would fit in about"
                f" {max(expected, 1) * block // 2**20} MB: {dead // 2**20} MB"
                f" ({100 * dead // (pages * block)}%) is dead space",
                hint=f"VACUUM FULL {table}; (it locks the table; pg_repack does not), then tune autovacuum",
            )


@advisor(
    "extension_versions_outdated",
    level="WARN",
    category="security",
    title="Extension version outdated",
    hint="ALTER EXTENSION ... UPDATE; brings it to the version the server ships",
    splinter="0022",
    live=True,
)
def extension_versions_outdated(ctx: Context) -> Iterator[Hit]:
    """An installed extension older than the default version the server ships.

    The newer version carries fixes, security fixes among them, that ``ALTER EXTENSION ...
    UPDATE`` would apply; the old one stays until someone does.
    """
    query = """
    SELECT e.extname, e.extversion, a.default_version
    FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_available_extensions a ON a.name = e.extname
    WHERE a.default_version IS NOT NULL AND e.extversion <> a.default_version
    ORDER BY 1
    """
    for name, installed, default in ctx.rows(query):
        yield Hit(
            f"extension {name}",
            f"extension {name} is at version {installed}; the server ships {default}",
            hint=f'ALTER EXTENSION "{name}" UPDATE;  -- to {default}',
        )


def _graphql_visible(ctx: Context, role: str) -> Iterator[Hit]:
    """Relations GraphQL introspection shows ``role``: any column selectable, schema usable."""
    if role not in ctx.api_roles:
        return
    if ctx.conn.execute("SELECT FROM pg_catalog.pg_extension WHERE extname = 'pg_graphql'").fetchone() is None:
        return
    # Tables, views, materialized views and foreign tables, as pg_graphql reflects them; a
    # partitioned table's root is not reflected, its partitions are.
    query = f"""
    SELECT format('%%I.%%I', n.nspname, c.relname),
           CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
                          ELSE 'foreign table' END
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'v', 'm', 'f') AND {USER_SCHEMA}
      AND pg_catalog.has_schema_privilege(%(role)s, n.oid, 'USAGE')
      AND EXISTS (SELECT FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                  AND NOT a.attisdropped AND pg_catalog.has_column_privilege(%(role)s, c.oid, a.attnum, 'SELECT'))
      AND {not_extension_member('pg_class', 'c.oid')}
    ORDER BY 1
    """
    who = "anyone with the anon key" if role == "anon" else "every signed-in user"
    for name, kind in ctx.rows(query, role=role):
        yield Hit(
            str(name),
            f"{kind} {name} is visible in the GraphQL schema to {who}: {role} may select from it",
            hint=f"REVOKE SELECT ON {name} FROM {role}; if {who} should not discover it",
        )


@advisor(
    "pg_graphql_anon_table_exposed",
    level="WARN",
    category="security",
    title="Object visible in the GraphQL schema to anon",
    hint="revoke SELECT from anon on objects that should not be discoverable before sign-in",
    splinter="0026",
    live=True,
)
def pg_graphql_anon_table_exposed(ctx: Context) -> Iterator[Hit]:
    """A table, view, materialized view or foreign table that ``anon`` may select from (any
    column), in a schema it may use, while pg_graphql is installed.

    GraphQL introspection reflects the caller's privileges: the object's name, columns and
    relationships are shown at /graphql/v1 to anyone holding the public anon key, RLS or not.
    """
    yield from _graphql_visible(ctx, "anon")


@advisor(
    "pg_graphql_authenticated_table_exposed",
    level="WARN",
    category="security",
    title="Object visible in the GraphQL schema to signed-in users",
    hint="revoke SELECT from authenticated on objects signed-in users should not discover",
    splinter="0027",
    live=True,
)
def pg_graphql_authenticated_table_exposed(ctx: Context) -> Iterator[Hit]:
    """A table, view, materialized view or foreign table that ``authenticated`` may select
    from (any column), in a schema it may use, while pg_graphql is installed.

    Any signed-in user (with open sign-up: anyone with an email address) sees its name, columns
    and relationships in the GraphQL schema, RLS or not.
    """
    yield from _graphql_visible(ctx, "authenticated")
