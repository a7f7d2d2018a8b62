"""Inline suppression comments: ``-- supamigrate: disable=SB002`` and ``disable-file=``.

``disable=SB002,SB014`` silences those rules on the comment's own line and in the statement the
comment belongs to: the one it sits in or above, or the one it trails on the same line (``...;
-- supamigrate: disable=SB008``). ``disable-file=`` silences them in the whole file. ``all``
stands for every rule. Only our rules are silenced this way; sqlfluff has its own ``-- noqa``.
``covers`` records which directive silenced what, so ``unused`` can name each rule a directive
lists that silenced nothing (SB028).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..sql.source import SourceFile
from .findings import Finding, file_of

DIRECTIVE = re.compile(r"supamigrate:\s*(disable-file|disable)\s*=\s*([A-Za-z0-9_]+(?:\s*,\s*[A-Za-z0-9_]+)*)")


def _rules(listed: str) -> frozenset[str]:
    return frozenset(r.strip().upper() for r in listed.split(","))


@dataclass
class Directive:
    """One ``supamigrate: disable...=`` in a comment: where it is, what it names, what it silenced."""

    offset: int
    rules: frozenset[str]
    whole_file: bool
    line: int
    span: tuple[int, int] | None = None
    used: set[str] = field(default_factory=set)

    def silences(self, code: str, line: int | None, span: tuple[int, int] | None) -> str | None:
        """The name under which this directive silences ``code`` there (the id or ``ALL``), if it does."""
        if not (self.whole_file or line == self.line or (span is not None and span == self.span)):
            return None
        return code if code in self.rules else "ALL" if "ALL" in self.rules else None


@dataclass
class Suppressions:
    """The suppression comments of one file."""

    whole_file: frozenset[str] = frozenset()
    lines: dict[int, frozenset[str]] = field(default_factory=dict)
    spans: dict[tuple[int, int], frozenset[str]] = field(default_factory=dict)
    directives: list[Directive] = field(default_factory=list)

    @classmethod
    def of(cls, source: SourceFile) -> Suppressions:
        result = cls()
        if source.sql is None:
            return result
        statements = source.statements
        for offset, text in source.sql.comments():
            for m in DIRECTIVE.finditer(text):
                rules = _rules(m.group(2))
                line, _ = source.line_col(offset)
                directive = Directive(offset + m.start(), rules, m.group(1) == "disable-file", line)
                result.directives.append(directive)
                if m.group(1) == "disable-file":
                    result.whole_file |= rules
                    continue
                result.lines[line] = result.lines.get(line, frozenset()) | rules
                owner = None
                for stmt in statements:
                    if stmt.end <= offset and source.line_col(stmt.end)[0] == line:
                        owner = stmt  # a trailing comment after the statement's semicolon
                    elif stmt.offset <= offset < stmt.end and owner is None:
                        owner = stmt
                if owner is not None:
                    result.spans[owner.span] = result.spans.get(owner.span, frozenset()) | rules
                    directive.span = owner.span
        return result

    def covers(self, finding: Finding) -> bool:
        place = file_of(finding)
        for directive in self.directives:
            name = directive.silences(finding.code, place.line, place.span)
            if name is not None:
                directive.used.add(name)
        for rules in (
            self.whole_file,
            self.lines.get(place.line, frozenset()) if place.line is not None else frozenset(),
            self.spans.get(place.span, frozenset()) if place.span else frozenset(),
        ):
            if finding.code in rules or "ALL" in rules:
                return True
        return False

    def unused(self) -> list[tuple[Directive, str]]:
        """(directive, rule) for each rule a directive names that silenced nothing so far."""
        return [(d, rule) for d in self.directives for rule in sorted(d.rules) if rule not in d.used]
