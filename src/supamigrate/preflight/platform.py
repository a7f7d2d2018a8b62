"""Platform checks: does the target have what a Supabase database has before any migration."""

from __future__ import annotations

from collections.abc import Iterable

from ..sql.objects import Facts
from .result import PreflightReport, add
from .target import Target

PLATFORM_ROLES = ("anon", "authenticated", "service_role")


def uses_platform(pending: Iterable[Facts]) -> bool:
    """Whether the pending statements use the auth schema or the platform's roles."""
    for facts in pending:
        if any(r.name.schema == "auth" for r in facts.references) or any(f.schema == "auth" for f in facts.functions):
            return True
        if set(facts.roles) & set(PLATFORM_ROLES):
            return True
    return False


def check_platform(target: Target, report: PreflightReport, uses: bool) -> None:
    """Whether the target has the auth schema, auth.users and the API roles."""
    missing = []
    if "auth" not in target.schemas:
        missing.append("schema auth")
    elif target.relation("auth", "users") is None:
        missing.append("table auth.users")
    missing += [f"role {r}" for r in PLATFORM_ROLES if r not in target.roles]
    if not missing:
        return
    add(
        report,
        "error" if uses else "warning",
        "platform-missing",
        f"the target lacks the Supabase platform schema the migrations expect: {', '.join(missing)}",
        hint="preflight the Supabase project's database; a plain PostgreSQL gets the platform stub"
        " from `supamigrate apply`",
    )
