"""Database advisors: checks on a migrated database's catalog, like the Supabase Database Advisor.

``run_advisors(conn, exposed_schemas)`` runs every registered advisor on the database of
``conn`` (read-only; its transaction is rolled back) and returns findings, each with the
advisor's id as code, the level (Supabase's ERROR, WARN, INFO as error, warning, info), the object
as location, a message and a remediation hint. ``live=True`` adds the advisors that mean
something only on a database in service (``live.py``: index use, bloat, extension versions,
GraphQL exposure), as ``supamigrate advise`` runs them.
``ADVISORS`` maps ids to advisors; each advisor's docstring (``.doc``) says what it looks for.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..project import Project
from . import coupling, exposure, live, performance, security
from .registry import ADVISORS, Advisor, Hit, Scope, run_advisors

__all__ = [
    "ADVISORS",
    "Advisor",
    "AdvisorSettings",
    "Hit",
    "Scope",
    "coupling",
    "exposure",
    "live",
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
        """The ``[advisors]`` section of ``project``'s supamigrate.toml; every advisor named must exist."""
        section, tool = project.tool.advisors, project.tool
        known = sorted(ADVISORS)
        tool.require_known("advisors", "disable", section.disable, known, "advisors")
        tool.require_known("advisors", "ignore", (i.split(":", 1)[0] for i in section.ignore), known, "advisors")
        return cls(section.disable, section.ignore)
