"""Our Supabase rules, one small module per family; ``FAMILIES`` in id order, ``RULES`` by id."""

from __future__ import annotations

from ..findings import Rule
from . import (
    api_compat,
    auth_triggers,
    column_types,
    destructive,
    filenames,
    fk_index,
    idempotent,
    identifiers,
    locking,
    online_ddl,
    rls,
    security_definer,
    suppressions,
    syntax,
    transactions,
    users_fk,
)
from .base import Context, Family

FAMILIES: tuple[Family, ...] = (
    syntax.FAMILY,
    users_fk.FAMILY,
    idempotent.FAMILY,
    rls.FAMILY,
    security_definer.FAMILY,
    destructive.FAMILY,
    transactions.FAMILY,
    filenames.FAMILY,
    fk_index.FAMILY,
    locking.FAMILY,
    auth_triggers.FAMILY,
    api_compat.FAMILY,
    online_ddl.FAMILY,
    identifiers.FAMILY,
    column_types.FAMILY,
    suppressions.FAMILY,
)

RULES: dict[str, Rule] = {rule.id: rule for family in FAMILIES for rule in family.rules}

__all__ = ["FAMILIES", "RULES", "Context", "Family"]
