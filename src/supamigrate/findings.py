"""Findings: what a report tells, at a level (error, warning, info), and when findings fail a run."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

LEVELS = ("error", "warning", "info")
FAIL_ON = ("error", "warning", "none")

# The levels that fail a run for each --fail-on threshold.
_FAILING = {"error": ("error",), "warning": ("error", "warning"), "none": ()}


@dataclass
class Finding:
    """One thing a report tells: its level (error, warning, info), where, and what.

    ``detail`` holds text too long for one line (a diff, a list); reports print it indented.
    """

    level: str
    code: str
    message: str
    where: str = ""
    hint: str | None = None
    detail: str | None = None


def failing(findings: Iterable[Finding], fail_on: str) -> list[Finding]:
    """The findings at or above the ``fail_on`` threshold (``error``, ``warning`` or ``none``)."""
    levels = _FAILING[fail_on]
    return [f for f in findings if f.level in levels]
