"""Lint a Supabase project's SQL: sqlfluff, plus our own rules on PostgreSQL's parse tree.

``lint(project)`` returns a ``LintReport``; ``RULES`` maps each rule id (SB000...) to its name,
summary and fix. Rendering lives in ``lint.report``; the command line only calls these.
"""

from __future__ import annotations

from .findings import Finding, LintReport, Rule
from .linter import check_rules, lint, project_sql_files, read_context
from .rules import RULES

__all__ = [
    "RULES",
    "Finding",
    "LintReport",
    "Rule",
    "check_rules",
    "lint",
    "project_sql_files",
    "read_context",
]
