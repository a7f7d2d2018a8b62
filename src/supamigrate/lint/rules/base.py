"""What a rule family is and what it is given: the files, the replayed schema state, the config."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...findings import Level
from ...migrations import MigrationListing
from ...project import Project
from ...sql.schema_model import SchemaModel
from ...sql.source import MIGRATION, ParsedStatement, SourceFile
from ..findings import Finding, Rule, at


@dataclass
class Context:
    """Everything the rules read. ``state`` is the schema as replayed up to the statement being
    checked (before it), and the final state in ``at_end`` checks."""

    project: Project
    listing: MigrationListing
    migrations: tuple[SourceFile, ...]
    seeds: tuple[SourceFile, ...] = ()
    state: SchemaModel[ParsedStatement] = field(default_factory=SchemaModel)
    # Migration files not in the git base revision, and the versions that were (None: not known).
    new_files: frozenset[Path] | None = None
    base_versions: tuple[str, ...] = ()
    base_ref: str = "HEAD"
    # What a rule family keeps between statements of one run, under a key of its own.
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def api_schemas(self) -> tuple[str, ...]:
        return self.project.config.api_schemas

    def at(
        self, rule: Rule, stmt: ParsedStatement, message: str, offset: int | None = None, *, level: Level | None = None
    ) -> Finding:
        """A finding at ``offset`` in ``stmt``'s file (the statement's first keyword by default),
        at the rule's level unless ``level`` says otherwise."""
        line, col = stmt.file.line_col(stmt.start if offset is None else offset)
        return at(
            stmt.file.path, line, col, rule.id, message, level=level or rule.level, fix=rule.fix, span=stmt.span
        )

    def on_file(self, rule: Rule, path: Path, message: str) -> Finding:
        """A finding about a whole file, placed on its first line."""
        return at(path, 1, 1, rule.id, message, level=rule.level, fix=rule.fix)


StatementCheck = Callable[[ParsedStatement, Context], Iterable[Finding]]
SetCheck = Callable[[Context], Iterable[Finding]]


@dataclass(frozen=True)
class Family:
    """A few related rules and the checks that find them.

    ``on_statement`` runs for each statement of the files whose kind is in ``kinds``, before the
    statement is replayed into ``ctx.state``; ``at_end`` runs once after the last migration.
    """

    rules: tuple[Rule, ...]
    on_statement: StatementCheck | None = None
    at_end: SetCheck | None = None
    kinds: frozenset[str] = frozenset({MIGRATION})
