"""SB004, SB005: row level security over the whole migration set.

A table in a schema the Data API exposes (``[api] schemas`` of config.toml) is reachable by
``anon`` and ``authenticated`` with the platform's default grants; without RLS every row is
theirs. A policy does nothing until RLS is enabled on its table. Both are judged on the state after
the last migration, so RLS may be enabled in a later file than the table. Tables the migrations
do not create (``auth.users``, ``storage.objects``) are the platform's and are not judged here.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...sql.schema_model import schema_of
from ..findings import Finding, Rule
from .base import Context, Family

TABLE_WITHOUT_RLS = Rule(
    "SB004",
    "table-without-rls",
    "a table in an API-exposed schema on which no migration enables row level security",
    "`alter table <table> enable row level security;` then add policies for the roles that need rows",
)
POLICY_WITHOUT_RLS = Rule(
    "SB005",
    "policy-without-rls",
    "a policy on a table whose row level security is never enabled",
    "`alter table <table> enable row level security;` (policies apply only once RLS is on)",
)


def at_end(ctx: Context) -> Iterator[Finding]:
    tables = ctx.state.tables
    for table in tables.values():
        stmt = table.created
        if stmt is None or table.rls or schema_of(table.name) not in ctx.api_schemas:
            continue
        relation = getattr(stmt.node, "relation", None)
        yield ctx.at(
            TABLE_WITHOUT_RLS,
            stmt,
            f"table {table.name} is exposed by the Data API (schema {schema_of(table.name)} is in"
            " [api] schemas) but no migration enables row level security on it: anon and"
            " authenticated reach every row",
            stmt.at(getattr(relation, "location", None)),
        )
    for policy in ctx.state.policies:
        target = tables.get(policy.table)
        if target is None or target.created is None or target.rls:
            continue
        yield ctx.at(
            POLICY_WITHOUT_RLS,
            policy.stmt,
            f'policy "{policy.name}" on {policy.table} has no effect: row level security is never enabled'
            f" on {policy.table}",
        )


FAMILY = Family((TABLE_WITHOUT_RLS, POLICY_WITHOUT_RLS), at_end=at_end)
