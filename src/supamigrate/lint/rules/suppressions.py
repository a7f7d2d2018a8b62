"""SB028: a suppression comment that suppresses nothing.

A ``-- supamigrate: disable=SB008`` left behind after the statement it excused was changed, one
that names a rule that does not exist (``SB08``), or a sqlfluff code (sqlfluff reads ``-- noqa``,
not ours) silences nothing, and would silence the next finding of that rule there unseen. The
linter decides it after our rules ran, from what each directive covered (``suppress.py``); a
directive naming SB028 itself is not judged.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path

from ...findings import Level
from ...sql.source import SourceFile
from ..findings import Finding, Rule, at
from ..suppress import Suppressions
from .base import Family

UNUSED_SUPPRESSION = Rule(
    "SB028",
    "unused-suppression",
    "a `-- supamigrate: disable=...` comment naming a rule it silences nothing of (no such finding"
    " there, or no such rule)",
    "remove the rule from the comment (or the comment); sqlfluff's rules are silenced with `-- noqa: <code>`",
    Level.WARNING,
)


def unused_findings(
    path: Path, source: SourceFile, suppressions: Suppressions, known: Collection[str]
) -> Iterator[Finding]:
    """A finding at each rule of a directive in ``path`` that silenced nothing."""
    rules = set(known)
    for directive, rule in suppressions.unused():
        if rule == UNUSED_SUPPRESSION.id:
            continue
        line, column = source.line_col(directive.offset)
        scope = "in this file" if directive.whole_file else "on this statement or line"
        if rule == "ALL":
            why = f"no finding of any rule {scope}"
        elif rule not in rules:
            why = f"{rule} is not one of supamigrate's rules (SB000-SB{len(rules) - 1:03d})"
        else:
            why = f"there is no {rule} finding {scope}"
        yield at(
            path,
            line,
            column,
            UNUSED_SUPPRESSION.id,
            f"this suppression of {rule.lower() if rule == 'ALL' else rule} suppresses nothing: {why}",
            level=UNUSED_SUPPRESSION.level,
            fix=UNUSED_SUPPRESSION.fix,
        )


FAMILY = Family((UNUSED_SUPPRESSION,))
