"""Security advisors: row level security, what the Data API exposes, and privileged functions.

Each is written from what the Supabase Database Advisor's lint of the same name means; the ids
and levels are Supabase's so a finding here reads the same as on the dashboard.
"""

from __future__ import annotations

from collections.abc import Iterator

from . import expressions
from .policies import policies
from .registry import API_ROLES, EXPOSED_SCHEMA, USER_SCHEMA, Context, Hit, advisor, not_extension_member

WRITE_COMMANDS = ("INSERT", "UPDATE", "DELETE", "ALL")
PRIVILEGES = ["select", "insert", "update", "delete"]

@advisor(
    "rls_disabled_in_public",
    level="ERROR",
    category="security",
    title="RLS disabled in an exposed schema",
    hint="enable it (ALTER TABLE ... ENABLE ROW LEVEL SECURITY) and add policies for the access you intend,"
    " or move the table out of the schemas in [api] schemas",
    splinter="0013",
)
def rls_disabled_in_public(ctx: Context) -> Iterator[Hit]:
    """A table in a schema the Data API exposes, without row level security.

    Anyone holding the project's anon key can then read and change every row over the API, as
    far as the table's grants to anon and authenticated go (Supabase grants them everything in
    ``public`` by default). Tables whose grants to both roles were all revoked are not flagged.
    """
    query = f"""
    SELECT format('%%I.%%I', n.nspname, c.relname), n.nspname,
           ARRAY(SELECT r || ':' || p FROM unnest(%(api_roles)s::text[]) r,
                 unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) p
                 WHERE pg_catalog.has_table_privilege(r, c.oid, p))
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND NOT c.relrowsecurity AND {EXPOSED_SCHEMA}
      AND {not_extension_member('pg_class', 'c.oid')}
    ORDER BY 1
    """
    for table, schema, grants in ctx.rows(query):
        if not grants:
            continue
        can = sorted({g.split(":")[1].lower() for g in grants}, key=PRIVILEGES.index)
        roles = sorted({g.split(":")[0] for g in grants})
        yield Hit(
            table,
            f"table {table} has row level security disabled, and schema {schema} is exposed by the"
            f" Data API: {' and '.join(roles)} can {', '.join(can)} every row",
            hint=f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY; then add policies for the intended access",
        )


@advisor(
    "policy_exists_rls_disabled",
    level="ERROR",
    category="security",
    title="Policies on a table without RLS",
    hint="enable row level security on the table, or drop the policies if they are not meant to apply",
    splinter="0007",
)
def policy_exists_rls_disabled(ctx: Context) -> Iterator[Hit]:
    """A table that has policies while row level security is disabled on it.

    The policies look like protection but are never evaluated: until RLS is enabled every role
    with a grant sees and changes every row.
    """
    query = f"""
    SELECT format('%%I.%%I', n.nspname, c.relname), array_agg(p.polname ORDER BY p.polname)
    FROM pg_catalog.pg_policy p
    JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE NOT c.relrowsecurity AND {USER_SCHEMA} AND {not_extension_member('pg_class', 'c.oid')}
    GROUP BY 1 ORDER BY 1
    """
    for table, names in ctx.rows(query):
        yield Hit(
            table,
            f"table {table} has policies ({', '.join(names)}) but row level security is disabled,"
            " so they are never applied",
            hint=f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;",
        )


@advisor(
    "rls_enabled_no_policy",
    level="INFO",
    category="security",
    title="RLS enabled, no policy",
    hint="add policies for the access anon/authenticated should have; without any, only roles that"
    " bypass RLS (service_role, postgres) can reach the rows",
    splinter="0008",
)
def rls_enabled_no_policy(ctx: Context) -> Iterator[Hit]:
    """A table with row level security enabled and no policy at all.

    Every row is then hidden from anon and authenticated. That is safe, and sometimes intended
    (a table only the service role touches), but is often a forgotten policy.
    """
    query = f"""
    SELECT format('%%I.%%I', n.nspname, c.relname)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p') AND c.relrowsecurity AND {USER_SCHEMA}
      AND NOT EXISTS (SELECT FROM pg_catalog.pg_policy p WHERE p.polrelid = c.oid)
      AND {not_extension_member('pg_class', 'c.oid')}
    ORDER BY 1
    """
    for (table,) in ctx.rows(query):
        yield Hit(table, f"table {table} has row level security enabled but no policy: API roles see no rows")


@advisor(
    "auth_users_exposed",
    level="ERROR",
    category="security",
    title="auth.users exposed through a view",
    hint="drop the view or move it out of the exposed schemas; if it must stay, make it"
    " WITH (security_invoker = on) and revoke SELECT from anon and authenticated",
    splinter="0002",
)
def auth_users_exposed(ctx: Context) -> Iterator[Hit]:
    """A view or materialized view in an exposed schema that reads ``auth.users`` (directly or
    through other views) and that anon or authenticated may select from.

    A view runs with its owner's privileges unless it is ``security_invoker``, and a
    materialized view stores the rows; either way the users' emails, phones and metadata are
    served by the Data API. A security-invoker view is not flagged: the caller's lack of access
    to auth.users still applies.
    """
    query = f"""
    WITH RECURSIVE readers(oid) AS (
        SELECT r.ev_class FROM pg_catalog.pg_depend d
        JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
        WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
          AND d.refobjid = pg_catalog.to_regclass('auth.users')
      UNION
        SELECT r.ev_class FROM readers x
        JOIN pg_catalog.pg_depend d ON d.refobjid = x.oid AND d.refclassid = 'pg_class'::regclass
             AND d.classid = 'pg_rewrite'::regclass
        JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid
    )
    SELECT format('%%I.%%I', n.nspname, c.relname), c.relkind,
           ARRAY(SELECT role FROM unnest(%(api_roles)s::text[]) role
                 WHERE pg_catalog.has_table_privilege(role, c.oid, 'SELECT'))
    FROM readers x
    JOIN pg_catalog.pg_class c ON c.oid = x.oid
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('v', 'm') AND {EXPOSED_SCHEMA}
      AND (c.relkind = 'm' OR NOT COALESCE(
            (SELECT o.option_value::boolean FROM pg_catalog.pg_options_to_table(c.reloptions) o
             WHERE o.option_name = 'security_invoker'), false))
    ORDER BY 1
    """
    for view, kind, roles in ctx.rows(query):
        if not roles:
            continue
        what = "materialized view" if kind == "m" else "view"
        yield Hit(
            view,
            f"{what} {view} reads auth.users and {' and '.join(roles)} can select from it:"
            " user emails and metadata are served by the Data API",
        )


@advisor(
    "security_definer_view",
    level="ERROR",
    category="security",
    title="Security definer view",
    hint="recreate it WITH (security_invoker = on) so the caller's privileges and RLS apply",
    splinter="0010",
)
def security_definer_view(ctx: Context) -> Iterator[Hit]:
    """A view in an exposed schema that runs with its creator's privileges (the PostgreSQL default)
    and that anon or authenticated may select from.

    The view reads its tables as its owner, usually ``postgres``, which bypasses RLS, so the
    policies of the tables behind it do not protect what the view returns.
    """
    query = f"""
    SELECT format('%%I.%%I', n.nspname, c.relname)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'v' AND {EXPOSED_SCHEMA}
      AND EXISTS (SELECT FROM unnest(%(api_roles)s::text[]) r
                  WHERE pg_catalog.has_table_privilege(r, c.oid, 'SELECT'))
      AND NOT COALESCE((SELECT o.option_value::boolean FROM pg_catalog.pg_options_to_table(c.reloptions) o
                        WHERE o.option_name = 'security_invoker'), false)
      AND {not_extension_member('pg_class', 'c.oid')}
    ORDER BY 1
    """
    for (view,) in ctx.rows(query):
        yield Hit(
            view,
            f"view {view} runs with its owner's privileges (security definer), bypassing the RLS of the"
            " tables it reads",
            hint=f"ALTER VIEW {view} SET (security_invoker = on);",
        )


@advisor(
    "function_search_path_mutable",
    level="WARN",
    category="security",
    title="Function search_path mutable",
    hint="pin it: ALTER FUNCTION ... SET search_path = '' and qualify every name in the body",
    splinter="0011",
)
def function_search_path_mutable(ctx: Context) -> Iterator[Hit]:
    """A function (or procedure) of a user schema that does not set its own ``search_path``.

    Names in its body resolve through the caller's search_path, so a caller who can create
    objects in a schema earlier on the path can substitute their own; for a security-definer
    function that runs the caller's object with the owner's rights.
    """
    query = f"""
    SELECT format('%%I.%%I(%%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid))
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE p.prokind IN ('f', 'p') AND {USER_SCHEMA}
      AND NOT EXISTS (SELECT FROM unnest(COALESCE(p.proconfig, '{{}}')) s WHERE s LIKE 'search_path=%%')
      AND {not_extension_member('pg_proc', 'p.oid')}
    ORDER BY 1
    """
    for (function,) in ctx.rows(query):
        yield Hit(
            function,
            f"function {function} has a role-mutable search_path",
            hint=f"ALTER FUNCTION {function} SET search_path = ''; and schema-qualify the names in its body",
        )


def _security_definer_executable(ctx: Context, role: str) -> Iterator[Hit]:
    query = f"""
    SELECT format('%%I.%%I(%%s)', n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)),
           p.proname
    FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
    WHERE p.prosecdef AND p.prokind IN ('f', 'p') AND {EXPOSED_SCHEMA}
      AND p.prorettype NOT IN ('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype)
      AND pg_catalog.has_function_privilege(%(role)s, p.oid, 'EXECUTE')
      AND (%(role)s = 'anon' OR NOT EXISTS (SELECT FROM unnest(%(api_roles)s::text[]) r
           WHERE r = 'anon' AND pg_catalog.has_function_privilege(r, p.oid, 'EXECUTE')))
      AND {not_extension_member('pg_proc', 'p.oid')}
    ORDER BY 1
    """
    if role not in ctx.api_roles:
        return
    for function, name in ctx.rows(query, role=role):
        yield Hit(
            function,
            f"security definer function {function} is executable by {role}: it runs with its owner's"
            f" privileges, bypassing RLS, and the Data API serves it as /rest/v1/rpc/{name}",
            hint=f"REVOKE EXECUTE ON FUNCTION {function} FROM PUBLIC, {role}; or make it SECURITY INVOKER,"
            " or move it to a schema the Data API does not expose",
        )


@advisor(
    "anon_security_definer_function_executable",
    level="WARN",
    category="security",
    title="Security definer function executable by anon",
    hint="revoke EXECUTE from anon (and PUBLIC), make it SECURITY INVOKER,"
    " or move it out of the exposed schemas",
    splinter="0028",
)
def anon_security_definer_function_executable(ctx: Context) -> Iterator[Hit]:
    """A ``SECURITY DEFINER`` function in an exposed schema that ``anon`` may execute.

    It runs with its owner's privileges and so bypasses RLS; anyone holding the public anon key
    can call it over the Data API. Trigger functions are left out: they cannot be called so.
    """
    yield from _security_definer_executable(ctx, "anon")


@advisor(
    "authenticated_security_definer_function_executable",
    level="WARN",
    category="security",
    title="Security definer function executable by authenticated",
    hint="revoke EXECUTE from authenticated (and PUBLIC), make it SECURITY INVOKER,"
    " or move it out of the exposed schemas",
    splinter="0029",
)
def authenticated_security_definer_function_executable(ctx: Context) -> Iterator[Hit]:
    """A ``SECURITY DEFINER`` function in an exposed schema that ``authenticated`` may execute.

    Any signed-in user (anonymous sign-ins included) can call it over the Data API with its
    owner's rights. Functions anon can also execute are reported by the anon advisor only.
    """
    yield from _security_definer_executable(ctx, "authenticated")


@advisor(
    "rls_references_user_metadata",
    level="ERROR",
    category="security",
    title="Policy trusts user_metadata",
    hint="decide on app_metadata (raw_app_meta_data), which only the service role can change,"
    " or on a table of your own",
    splinter="0015",
)
def rls_references_user_metadata(ctx: Context) -> Iterator[Hit]:
    """A policy that reads ``user_metadata`` from the JWT, or ``raw_user_meta_data`` from auth.users.

    Users edit their own user_metadata (``supabase.auth.updateUser({data: ...})``), so a policy
    deciding on it, e.g. ``auth.jwt() -> 'user_metadata' ->> 'role' = 'admin'``, lets any user
    grant themselves the access.
    """
    for p in policies(ctx):
        if expressions.reads_user_metadata(p.using) or expressions.reads_user_metadata(p.with_check):
            yield Hit(
                p.object,
                f"policy {p.name} on {p.table} decides on user_metadata,"
                " which every user can edit for themselves",
            )


@advisor(
    "rls_policy_always_true",
    level="WARN",
    category="security",
    title="Policy always true for writes",
    hint="restrict the policy to the rows the user owns, e.g. USING ((select auth.uid()) = user_id)",
    splinter="0024",
)
def rls_policy_always_true(ctx: Context) -> Iterator[Hit]:
    """A permissive policy for anon, authenticated or everyone that lets any row be written:
    ``USING (true)`` on UPDATE/DELETE/ALL, or ``WITH CHECK (true)`` (or none) on INSERT/UPDATE/ALL.

    It switches RLS off for that command while looking like protection. ``USING (true)`` on a
    SELECT policy is not flagged: public read access is a common, deliberate choice.
    """
    for p in policies(ctx):
        if not (p.rls_enabled and p.permissive and p.command in WRITE_COMMANDS):
            continue
        if not ({"public", *API_ROLES} & set(p.roles)):
            continue
        using_true = p.command != "INSERT" and (p.using is None or expressions.always_true(p.using))
        # Without WITH CHECK, UPDATE/ALL fall back to USING, and INSERT allows any row.
        check_true = (
            expressions.always_true(p.with_check)
            if p.with_check is not None
            else (p.command == "INSERT" or (p.command in ("UPDATE", "ALL") and using_true))
        )
        if not (using_true or check_true):
            continue
        if using_true and check_true:
            clause = "USING and WITH CHECK are"
        else:
            clause = "USING is" if using_true else "WITH CHECK is"
        yield Hit(
            p.object,
            f"policy {p.name} on {p.table} for {p.command} to {', '.join(p.roles)}: {clause} always true,"
            " so any row can be written",
        )


@advisor(
    "extension_in_public",
    level="WARN",
    category="security",
    title="Extension in an exposed schema",
    hint="install extensions in the extensions schema: CREATE EXTENSION ... WITH SCHEMA extensions"
    " (or ALTER EXTENSION ... SET SCHEMA extensions)",
    splinter="0014",
)
def extension_in_public(ctx: Context) -> Iterator[Hit]:
    """An extension installed in ``public`` or another schema the Data API exposes.

    Its functions, views and tables then become API endpoints and clutter the schema the
    application's own objects live in (plpgsql, which PostgreSQL puts in pg_catalog, is exempt).
    """
    query = f"""
    SELECT e.extname, n.nspname
    FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
    WHERE e.extname <> 'plpgsql' AND (n.nspname = 'public' OR {EXPOSED_SCHEMA})
    ORDER BY 1
    """
    for name, schema in ctx.rows(query):
        yield Hit(
            f"extension {name}",
            f"extension {name} is installed in schema {schema}, which the Data API exposes",
            hint=f"ALTER EXTENSION {name} SET SCHEMA extensions;",
        )
