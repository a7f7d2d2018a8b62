"""Drops: a pending statement that drops a relation of the target's the migrations never made."""

from __future__ import annotations

from ..sql.objects import RELATION_KINDS, Facts
from ..sql.source import ParsedStatement
from .pending import Pending


def check_drops(p: Pending, stmt: ParsedStatement, facts: Facts) -> None:
    for d in facts.drops:
        key = p.model.relation(d.name) if d.kind in RELATION_KINDS else None
        if key is None:
            continue
        existing = p.foreign(key)
        if existing is not None and key not in p.model.relations:
            p.add(
                "error",
                "drops-foreign-object",
                f"the migration drops the target's {existing.describe()}, which the migrations did not create",
                p.where(stmt),
                hint="drop only what your migrations created",
            )
        p.dropped.add(key)
        p.relations.discard(key)
