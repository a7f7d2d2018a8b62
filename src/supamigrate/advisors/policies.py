"""The policies of user tables as the checks read them: one query, one row type."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .registry import USER_SCHEMA, Context

# Expressions are printed by the server; run_advisors empties search_path so names come qualified.
POLICIES = f"""
SELECT format('%%I.%%I', n.nspname, c.relname), p.polname, c.relrowsecurity, p.polpermissive,
       CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                     WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
       CASE WHEN p.polroles = '{{0}}' THEN ARRAY['public']
            ELSE ARRAY(SELECT rolname FROM pg_catalog.pg_roles
                       WHERE oid = ANY(p.polroles) ORDER BY rolname) END,
       pg_catalog.pg_get_expr(p.polqual, p.polrelid), pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid)
FROM pg_catalog.pg_policy p
JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE ({USER_SCHEMA} OR n.nspname = ANY(%(also)s))
ORDER BY 1, 2
"""


@dataclass(frozen=True)
class PolicyRow:
    """A policy: its table (quoted ``schema.table``), name, command, roles and expressions."""

    table: str
    name: str
    rls_enabled: bool
    permissive: bool
    command: str
    roles: tuple[str, ...]
    using: str | None
    with_check: str | None

    @property
    def object(self) -> str:
        return f"{self.table}: policy {self.name}"


def policies(ctx: Context, also: Sequence[str] = ()) -> Iterator[PolicyRow]:
    """Every policy on a table of a user schema (and of the platform schemas ``also`` names, whose
    policies the project writes, e.g. realtime's), ordered by table and name."""
    for table, name, rls, permissive, cmd, roles, qual, check in ctx.rows(POLICIES, also=list(also)):
        yield PolicyRow(
            str(table), str(name), bool(rls), bool(permissive), str(cmd), tuple(roles), qual, check
        )
