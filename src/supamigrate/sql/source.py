"""A project's SQL files as the lint rules and preflight read them: each statement with its place in
the migration set and its parse tree.

Statements come from ``SqlText.statements()`` (the CLI's split), each with its parse tree (see
``sql.statement``), so a node's ``location`` plus the statement's offset is its place in the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pglast import ast
from pglast.parser import Token

from ..errors import MigrationError
from .statement import Statement
from .text import SqlFile, SqlText

MIGRATION, SEED = "migration", "seed"


@dataclass(frozen=True, eq=False)
class ParsedStatement:
    """One statement of a file as the rules see it: its place in the migration set and its tree."""

    file: SourceFile
    number: int
    statement: Statement

    @property
    def offset(self) -> int:
        return self.statement.offset

    @property
    def text(self) -> str:
        return self.statement.text

    @property
    def start(self) -> int:
        """File offset of the statement's first keyword (past leading comments)."""
        return self.statement.start

    @property
    def node(self) -> ast.Node | None:
        """The parse tree; None when the parser rejects the statement (see ``error``)."""
        return self.statement.tree

    @property
    def error(self) -> str | None:
        return self.statement.error

    @property
    def error_offset(self) -> int | None:
        return self.statement.error_offset

    @property
    def tokens(self) -> tuple[Token, ...]:
        """The scanner's tokens, offsets relative to ``text``."""
        return self.statement.tokens

    @property
    def pos(self) -> tuple[int, int]:
        """Order in the migration set: (file number, statement number)."""
        return (self.file.number, self.number)

    @property
    def end(self) -> int:
        return self.offset + len(self.text)

    @property
    def span(self) -> tuple[int, int]:
        return (self.offset, self.end)

    def at(self, location: int | None) -> int:
        """File offset of a node ``location`` in this statement (its first keyword if unknown)."""
        if location is None or location < 0:
            return self.start
        return self.offset + location


@dataclass(eq=False)
class SourceFile:
    """A SQL file read as UTF-8 (strictly, as PostgreSQL does) with its parsed statements."""

    path: Path
    kind: str
    number: int = -1
    version: str | None = None
    sql: SqlText | None = None
    statements: tuple[ParsedStatement, ...] = ()
    unreadable: MigrationError | None = None

    @classmethod
    def read(cls, path: Path, kind: str, *, number: int = -1, version: str | None = None) -> SourceFile:
        source = cls(path=path, kind=kind, number=number, version=version)
        file = SqlFile(path)
        try:
            source.sql = file.source
        except MigrationError as exc:
            source.unreadable = exc
            return source
        # Comment-only pieces have nothing for a rule to read.
        kept = [s for s in file.statements if not s.is_comment_only]
        source.statements = tuple(ParsedStatement(source, n, s) for n, s in enumerate(kept))
        return source

    def line_col(self, offset: int) -> tuple[int, int]:
        return self.sql.line_col(offset) if self.sql is not None else (1, 1)

    @property
    def name(self) -> str:
        return self.path.name
