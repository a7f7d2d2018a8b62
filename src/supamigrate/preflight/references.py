"""References: relations, functions and roles the pending statements use, checked on the target."""

from __future__ import annotations

from ..platform import PLATFORM_SCHEMAS
from ..sql.objects import Facts
from ..sql.source import ParsedStatement
from .pending import Pending

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")


def check_references(p: Pending, stmt: ParsedStatement, facts: Facts) -> None:
    """A relation that resolves to something else on the target than in the project, or to nothing."""
    where = p.where(stmt)
    for ref in facts.references:
        if ref.name.schema in SYSTEM_SCHEMAS:
            continue
        local = p.local_resolves(ref.name)
        remote = p.target_resolves(ref.name)
        label = f"{ref.name}" + (f" ({ref.context})" if ref.context else "")
        if remote is not None and remote in p.swallowed:
            p.add(
                "error",
                "reference-resolves-differently",
                f"{label} resolves to the target's existing {p.swallowed[remote].describe()},"
                " not to the table the migrations create (CREATE ... IF NOT EXISTS skipped it)",
                where,
                hint="rename your table or use another schema; the target's one belongs to someone else",
            )
            continue
        if local == remote:
            continue
        if remote is None:
            # Not on the target, though the platform or an applied migration made it locally.
            if local is not None:
                p.add(
                    "error",
                    "missing-on-target",
                    f"{label} refers to {local[0]}.{local[1]}, which the target does not have",
                    where,
                    hint="the target lacks an object the migrations rely on; is it the right database?",
                )
            continue
        if ref.name.schema in PLATFORM_SCHEMAS:
            continue  # the platform's objects exist on Supabase even where the stub leaves them out
        foreign = p.foreign(remote)
        if foreign is None:
            continue
        locally = f"to {local[0]}.{local[1]}" if local else "to nothing (no migration creates it)"
        p.add(
            "error",
            "reference-resolves-differently",
            f"{label} resolves {locally} in the project, but on the target to {foreign.describe()},"
            " which the migrations did not create",
            where,
            hint=f"schema-qualify the name (auth.{ref.name.name}, public.{ref.name.name}, ...) and create"
            " what you reference in a migration",
        )


def check_uses(p: Pending, stmt: ParsedStatement, facts: Facts) -> None:
    """Schema-qualified functions and named roles the target lacks."""
    where = p.where(stmt)
    for fn in facts.functions:
        key = (fn.schema or "", fn.name)
        if key[0] in SYSTEM_SCHEMAS or key in p.functions:
            continue
        if not p.target.function(key[0], key[1], None):
            p.add(
                "error",
                "missing-on-target",
                f"function {key[0]}.{key[1]}() is not on the target",
                where,
                hint="install what provides it first (the platform, an extension, an earlier migration)",
            )
    for role in facts.roles:
        if role in p.target.roles or role in p.roles or role.lower() == "public":
            continue
        p.add(
            "error",
            "missing-on-target",
            f"role {role} does not exist on the target",
            where,
            hint="a Supabase database has anon, authenticated and service_role; create other roles first",
        )
    p.roles.update(facts.created_roles)
