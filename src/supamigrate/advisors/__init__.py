"""Database advisors: checks on a migrated database's catalog, like the Supabase Database Advisor.

``run_advisors(conn, exposed_schemas)`` runs every registered advisor on the database of
``conn`` (read-only; its transaction is rolled back) and returns findings, each with the
advisor's id as code, the level (Supabase's ERROR, WARN, INFO as error, warning, info), the object
as location, a message and a remediation hint.
``ADVISORS`` maps ids to advisors; each advisor's docstring (``.doc``) says what it looks for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ProjectError
from ..project import TOOL_CONFIG, Project
from . import performance, security
from .registry import ADVISORS, Advisor, Hit, Scope, run_advisors

__all__ = [
    "ADVISORS",
    "Advisor",
    "AdvisorSettings",
    "Hit",
    "Scope",
    "performance",
    "run_advisors",
    "security",
]


@dataclass(frozen=True)
class AdvisorSettings:
    """The ``[advisors]`` table of supamigrate.toml: ``disable`` (advisor ids) and ``ignore``
    (findings as ``"<advisor>:<object>"``, the object as the report prints it)."""

    disable: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()

    @classmethod
    def from_project(cls, project: Project) -> AdvisorSettings:
        """The settings of ``project``'s supamigrate.toml (defaults when it has none)."""
        return cls.from_table(project.tool_section("advisors"), project.root / TOOL_CONFIG)

    @classmethod
    def from_table(cls, table: Mapping[str, Any], source: Path | str = "supamigrate.toml") -> AdvisorSettings:
        unknown_keys = set(table) - {"disable", "ignore"}
        if unknown_keys:
            raise ProjectError(
                f"{source}: unknown key(s) in [advisors]: {', '.join(sorted(unknown_keys))}",
                hint='[advisors] takes disable = ["advisor", ...] and ignore = ["advisor:object", ...]',
            )
        values: dict[str, tuple[str, ...]] = {}
        for key in ("disable", "ignore"):
            value = table.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ProjectError(f"{source}: [advisors] {key} must be a list of strings")
            values[key] = tuple(value)
        named = list(values["disable"]) + [i.split(":", 1)[0] for i in values["ignore"]]
        unknown = sorted({n for n in named if n not in ADVISORS})
        if unknown:
            raise ProjectError(
                f"{source}: [advisors] names unknown advisor(s): {', '.join(unknown)}",
                hint=f"known advisors: {', '.join(sorted(ADVISORS))}",
            )
        return cls(values["disable"], values["ignore"])
