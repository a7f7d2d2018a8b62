"""Security advisors on what the APIs serve beyond tables with RLS: materialized views, foreign
tables, queues, sensitive columns, public buckets.

Written from what the Supabase Database Advisor's lint of the same name means; ids and levels
are Supabase's.
"""

from __future__ import annotations

from collections.abc import Iterator

from . import expressions
from .registry import EXPOSED_SCHEMA, USER_SCHEMA, Context, Hit, advisor, not_extension_member

# Column names that hold credentials, identity documents, payment, health or device data. A
# name matches when it is one of these after lower-casing and '-' → '_'.
SENSITIVE_COLUMNS = frozenset(
    {
        # credentials and sessions
        "password", "passwd", "pwd", "passphrase", "password_hash", "secret", "secret_key", "client_secret",
        "private_key", "api_key", "apikey", "auth_key", "token", "jwt", "access_token", "refresh_token",
        "oauth_token", "session_token", "bearer_token", "auth_code", "session_id", "session_key",
        "session_secret", "recovery_code", "backup_code", "verification_code", "otp", "totp_secret",
        "two_factor", "2fa_secret", "2fa_code", "mfa_secret",
        # identity documents
        "ssn", "social_security", "social_security_number", "driver_license", "drivers_license",
        "license_number", "passport_number", "passport_id", "national_id", "tax_id",
        # payment
        "credit_card", "card_number", "cvv", "cvc", "cvn", "bank_account", "account_number",
        "routing_number", "iban", "swift_code", "bic",
        # health
        "health_record", "medical_record", "patient_id", "insurance_number", "health_insurance",
        "medical_insurance", "treatment", "diagnosis",
        # devices, keys, biometrics
        "mac_address", "macaddr", "imei", "device_uuid", "pgp_key", "gpg_key", "ssh_key", "certificate",
        "license_key", "activation_key", "facial_recognition", "fingerprint",
    }
)  # fmt: skip

# The API roles (of those that exist) that may select from relation c.oid, as text[].
SELECTING_ROLES = """ARRAY(SELECT r FROM unnest(%(api_roles)s::text[]) r
                    WHERE pg_catalog.has_table_privilege(r, c.oid, 'SELECT'))"""


def _exposed_relations(ctx: Context, relkind: str) -> Iterator[tuple[str, list[str]]]:
    """Relations of ``relkind`` in an exposed schema and the API roles that may select from them."""
    query = f"""
    SELECT format('%%I.%%I', n.nspname, c.relname), {SELECTING_ROLES}
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = %(relkind)s AND {EXPOSED_SCHEMA} AND {USER_SCHEMA}
      AND {not_extension_member('pg_class', 'c.oid')}
    ORDER BY 1
    """
    for name, roles in ctx.rows(query, relkind=relkind):
        if roles:
            yield str(name), list(roles)


@advisor(
    "materialized_view_in_api",
    level="WARN",
    category="security",
    title="Materialized view in the API",
    hint="revoke SELECT from anon and authenticated, or move it to a schema the Data API does not expose"
    " (and serve it through a security-invoker view or a function that checks access)",
    splinter="0016",
)
def materialized_view_in_api(ctx: Context) -> Iterator[Hit]:
    """A materialized view in an exposed schema that anon or authenticated may select from.

    A materialized view stores the rows of its query and has no row level security, so the
    Data API serves every stored row to whoever holds the grant, whatever the policies of the
    tables it was computed from say.
    """
    for view, roles in _exposed_relations(ctx, "m"):
        yield Hit(
            view,
            f"materialized view {view} can be selected by {' and '.join(roles)} over the Data API;"
            " it has no row level security, so every stored row is served",
            hint=f"REVOKE SELECT ON {view} FROM {', '.join(roles)}; or move it out of the exposed schemas",
        )


@advisor(
    "foreign_table_in_api",
    level="WARN",
    category="security",
    title="Foreign table in the API",
    hint="revoke SELECT from anon and authenticated, or move it to a schema the Data API does not expose",
    splinter="0017",
)
def foreign_table_in_api(ctx: Context) -> Iterator[Hit]:
    """A foreign table in an exposed schema that anon or authenticated may select from.

    Foreign tables (a wrapper's, postgres_fdw's) cannot have row level security: the Data API
    serves whatever the remote side returns to whoever holds the grant.
    """
    for table, roles in _exposed_relations(ctx, "f"):
        yield Hit(
            table,
            f"foreign table {table} can be selected by {' and '.join(roles)} over the Data API;"
            " foreign tables cannot have row level security",
            hint=f"REVOKE SELECT ON {table} FROM {', '.join(roles)}; or move it out of the exposed schemas",
        )


@advisor(
    "insecure_queue_exposed_in_api",
    level="ERROR",
    category="security",
    title="Queue exposed in the API without RLS",
    hint="enable row level security on the queue table and add policies, or revoke the API roles' grants",
    splinter="0019",
)
def insecure_queue_exposed_in_api(ctx: Context) -> Iterator[Hit]:
    """A Supabase Queues table (``pgmq.q_<name>``) without row level security that anon or
    authenticated hold a grant on, while ``pgmq_public`` is an exposed schema.

    The ``pgmq_public`` functions (send, read, pop, archive, delete) run as the caller; with
    grants and no RLS on the queue table, anyone holding the anon key (or any signed-in user)
    reads, takes and deletes every message of the queue.
    """
    if "pgmq_public" not in ctx.scope.exposed:
        return
    query = """
    SELECT format('%%I.%%I', n.nspname, c.relname), substr(c.relname, 3),
           ARRAY(SELECT DISTINCT r FROM unnest(%(api_roles)s::text[]) r,
                 unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) p
                 WHERE pg_catalog.has_table_privilege(r, c.oid, p) ORDER BY r)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'pgmq' AND c.relname LIKE 'q\\_%%' AND c.relkind IN ('r', 'p') AND NOT c.relrowsecurity
    ORDER BY 1
    """
    for table, queue, roles in ctx.rows(query):
        if roles:
            yield Hit(
                table,
                f"queue {queue} ({table}) has row level security disabled and {' and '.join(roles)} hold"
                f" grants on it, while pgmq_public is exposed: they can read and delete its messages"
                " through the Data API",
                hint=f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY; then add policies for who may"
                " send and read",
            )


@advisor(
    "sensitive_columns_exposed",
    level="ERROR",
    category="security",
    title="Sensitive columns exposed without RLS",
    hint="enable row level security on the table, or revoke the API roles' SELECT on those columns",
    splinter="0023",
)
def sensitive_columns_exposed(ctx: Context) -> Iterator[Hit]:
    """A table in an exposed schema, without row level security, with columns whose names say
    they hold credentials or personal data (``password``, ``api_key``, ``ssn``, ``iban``, ...)
    that anon or authenticated may select.

    Every row of those columns is then readable over the Data API. A column the API roles may
    not select (column grants) is not counted; partitioned tables are, as PostgREST serves them.
    """
    query = f"""
    SELECT format('%%I.%%I', n.nspname, c.relname), a.attname,
           ARRAY(SELECT r FROM unnest(%(api_roles)s::text[]) r
                 WHERE pg_catalog.has_column_privilege(r, c.oid, a.attnum, 'SELECT'))
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND NOT c.relrowsecurity
      AND {EXPOSED_SCHEMA} AND {USER_SCHEMA} AND {not_extension_member('pg_class', 'c.oid')}
      AND replace(lower(a.attname), '-', '_') = ANY(%(sensitive)s)
    ORDER BY 1, a.attnum
    """
    tables: dict[str, tuple[list[str], set[str]]] = {}
    for table, column, roles in ctx.rows(query, sensitive=sorted(SENSITIVE_COLUMNS)):
        if roles:
            columns, readers = tables.setdefault(str(table), ([], set()))
            columns.append(str(column))
            readers.update(roles)
    for table, (columns, readers) in tables.items():
        yield Hit(
            table,
            f"table {table} has row level security disabled and {' and '.join(sorted(readers))} can"
            f" select its sensitive column{'s' if len(columns) > 1 else ''} {', '.join(columns)}"
            " over the Data API",
            hint=f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY; or REVOKE SELECT ({', '.join(columns)})"
            f" ON {table} FROM {', '.join(sorted(readers))} (after revoking the table-wide grant)",
        )


@advisor(
    "public_bucket_allows_listing",
    level="WARN",
    category="security",
    title="Public bucket allows listing",
    hint="drop the broad SELECT policy: a public bucket serves its objects by URL without one; keep SELECT"
    " policies narrow (an owner or folder check) if clients must list",
    splinter="0025",
)
def public_bucket_allows_listing(ctx: Context) -> Iterator[Hit]:
    """A public storage bucket with a permissive SELECT policy on ``storage.objects`` for anon,
    authenticated or everyone that checks nothing but the bucket (``bucket_id = 'avatars'``,
    ``true``, or no condition).

    Public buckets serve each object by its URL without any policy; such a policy lets any
    client list (and so find) every file of the bucket, which is rarely what was meant.
    """
    if ctx.conn.execute("SELECT pg_catalog.to_regclass('storage.buckets') IS NOT NULL").fetchone() != (True,):
        return
    buckets = [str(b) for (b,) in ctx.rows("SELECT id FROM storage.buckets WHERE public ORDER BY id")]
    if not buckets:
        return
    query = """
    SELECT p.polname, pg_catalog.pg_get_expr(p.polqual, p.polrelid)
    FROM pg_catalog.pg_policy p
    WHERE p.polrelid = 'storage.objects'::regclass AND p.polpermissive AND p.polcmd IN ('r', '*')
      AND (p.polroles = '{0}' OR EXISTS (SELECT FROM pg_catalog.pg_roles r
                                         WHERE r.oid = ANY(p.polroles) AND r.rolname = ANY(%(api_roles)s)))
    ORDER BY 1
    """
    broad: dict[str, list[str]] = {}
    for name, using in ctx.rows(query):
        every = using is None or expressions.always_true(using)
        only = None if every else expressions.bucket_only(using)
        for bucket in buckets:
            if every or only == bucket:
                broad.setdefault(bucket, []).append(str(name))
    for bucket, names in broad.items():
        plural = "policies" if len(names) > 1 else "policy"
        yield Hit(
            f"bucket {bucket}",
            f"public bucket {bucket} has broad SELECT {plural} {', '.join(names)} on storage.objects:"
            " any client can list every file in it",
        )
