"""Lint a Supabase project's SQL: sqlfluff, plus our own rules on PostgreSQL's parse tree.

``lint(project)`` returns a ``LintReport``; ``RULES`` maps each rule id (SB000...) to its name,
summary and fix. Rendering lives in ``supamigrate.report``; the command line only calls these.
"""

from __future__ import annotations

from .findings import Finding, LintReport, Rule
from .linter import check_rules, lint, project_sql_files, read_context
from .rules import RULES

lint_project = lint  # the name bench/bench.py looks for

__all__ = [
    "RULES",
    "Finding",
    "LintReport",
    "Rule",
    "check_rules",
    "lint",
    "lint_project",
    "project_sql_files",
    "read_context",
]
