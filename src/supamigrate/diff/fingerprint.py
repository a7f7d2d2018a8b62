"""A name-based fingerprint of a database's schema: equal fingerprints mean there is nothing to diff.

``check``'s drift compares the declared schemas with the migrations on every run. Running the
diff engine costs seconds (a Node process reading both catalogs); comparing these rows costs tens
of milliseconds. The engine still runs, and still names the objects, whenever the fingerprints
differ, so the fingerprint only needs to be sound one way: whatever the engine would report must
change some row here. It therefore covers more than the engine compares (owners, ACLs, options)
and reads every schema but the system's, platform ones included (a policy on ``storage.objects``
or a trigger on ``auth.users`` is the project's). Rows hold names, never OIDs, which differ
between two databases built the same way. Column order is left out: a declared table may list
its columns in another order than the migrations added them, and PostgREST does not care.
"""

from __future__ import annotations

import psycopg

# Every query yields rows of text; the kind in the first column keeps the parts apart. The CLI's
# bookkeeping (supabase_migrations: history, seed hashes) is how a database was built, not its schema.
_USER_NS = "nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'supabase_migrations')" \
    " AND nspname NOT LIKE 'pg_temp_%'" \
    " AND nspname NOT LIKE 'pg_toast_temp_%'"

QUERIES: tuple[str, ...] = (
    f"SELECT 'schema', nspname, nspowner::regrole::text, coalesce(nspacl::text, '') FROM pg_namespace WHERE {_USER_NS}",
    "SELECT 'extension', extname, extversion, extnamespace::regnamespace::text FROM pg_extension",
    f"""SELECT 'relation', n.nspname, c.relname, c.relkind::text, c.relowner::regrole::text,
           coalesce(c.relacl::text, ''), c.relrowsecurity::text, c.relforcerowsecurity::text,
           c.relreplident::text, coalesce(array_to_string(c.reloptions, ','), ''), c.relpersistence::text,
           CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) ELSE '' END,
           coalesce(pg_get_partkeydef(c.oid), ''), coalesce(pg_get_expr(c.relpartbound, c.oid), '')
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE {_USER_NS} AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')""",
    f"""SELECT 'column', n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
           a.attnotnull::text, coalesce(pg_get_expr(d.adbin, d.adrelid), ''), a.attidentity::text,
           a.attgenerated::text, coalesce(a.attacl::text, ''), coalesce(co.collname, '')
      FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 100
     WHERE {_USER_NS} AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f')""",
    f"""SELECT 'constraint', n.nspname, coalesce(c.relname, t.typname), k.conname, pg_get_constraintdef(k.oid)
      FROM pg_constraint k JOIN pg_namespace n ON n.oid = k.connamespace
      LEFT JOIN pg_class c ON c.oid = k.conrelid LEFT JOIN pg_type t ON t.oid = k.contypid
     WHERE {_USER_NS}""",
    f"""SELECT 'index', n.nspname, c.relname, pg_get_indexdef(c.oid)
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE {_USER_NS}""",
    "SELECT 'policy', schemaname, tablename, policyname, permissive, roles::text, cmd,"
    " coalesce(qual, ''), coalesce(with_check, '') FROM pg_policies",
    f"""SELECT 'trigger', n.nspname, c.relname, t.tgname, pg_get_triggerdef(t.oid), t.tgenabled::text
      FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE NOT t.tgisinternal AND {_USER_NS}""",
    "SELECT 'event trigger', evtname, evtevent, evtfoid::regproc::text, evtenabled::text,"
    " coalesce(array_to_string(evttags, ','), '') FROM pg_event_trigger",
    f"""SELECT 'routine', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid),
           coalesce(pg_get_function_result(p.oid), ''), p.prokind::text, l.lanname, md5(p.prosrc),
           p.provolatile::text, p.prosecdef::text, p.proleakproof::text, p.proisstrict::text,
           coalesce(array_to_string(p.proconfig, ','), ''), coalesce(p.proacl::text, ''),
           p.proowner::regrole::text
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace JOIN pg_language l ON l.oid = p.prolang
     WHERE {_USER_NS}""",
    f"""SELECT 'type', n.nspname, t.typname, t.typtype::text, coalesce(t.typacl::text, ''),
           t.typowner::regrole::text, coalesce(format_type(t.typbasetype, t.typtypmod), ''),
           t.typnotnull::text, coalesce(t.typdefault, ''),
           coalesce((SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e
                      WHERE e.enumtypid = t.oid), '')
      FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE {_USER_NS} AND t.typtype IN ('e', 'd', 'r', 'm')
        OR ({_USER_NS} AND t.typtype = 'c'
            AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')""",
    """SELECT 'sequence', s.seqrelid::regclass::text, format_type(s.seqtypid, NULL), s.seqstart::text,
              s.seqincrement::text, s.seqmax::text, s.seqmin::text, s.seqcache::text, s.seqcycle::text
         FROM pg_sequence s""",
    "SELECT 'comment', pg_describe_object(classoid, objoid, objsubid), description FROM pg_description"
    " WHERE objoid >= 16384",  # below: the system's own objects, alike in every database
    "SELECT 'publication', p.pubname, p.puballtables::text, p.pubinsert::text, p.pubupdate::text,"
    " p.pubdelete::text, p.pubtruncate::text, p.pubviaroot::text,"
    " coalesce((SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY schemaname, tablename)"
    " FROM pg_publication_tables pt WHERE pt.pubname = p.pubname), '') FROM pg_publication p",
    "SELECT 'default acl', defaclrole::regrole::text, coalesce(defaclnamespace::regnamespace::text, ''),"
    " defaclobjtype::text, defaclacl::text FROM pg_default_acl",
    "SELECT 'rule', schemaname, tablename, rulename, definition FROM pg_rules"
    " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')",
)


def fingerprint(conn: psycopg.Connection) -> list[tuple[str, ...]]:
    """The schema of the database ``conn`` is connected to, as sorted rows of names and definitions."""
    rows: list[tuple[str, ...]] = []
    for query in QUERIES:
        rows.extend(tuple("" if v is None else str(v) for v in row) for row in conn.execute(query).fetchall())
    rows.sort()
    return rows
