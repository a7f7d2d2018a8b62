"""The SQL files the linter reads, split like the Supabase CLI and parsed by PostgreSQL's parser.

Statements come from ``SqlText.statements()`` (the CLI's split); each is parsed with pglast, so a
node's ``location`` plus the statement's offset is its place in the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pglast
import pglast.parser
from pglast import ast

from ..errors import MigrationError
from ..migrations import MIGRATION_FILE, Migration, Skipped, SqlFile
from ..sqltext import SqlText

MIGRATION, SEED = "migration", "seed"

_COMMENT_TOKENS = frozenset({"SQL_COMMENT", "C_COMMENT"})


@dataclass(frozen=True, eq=False)
class ParsedStatement:
    """One statement of a file: its text and place, and its parse tree (None if unparsable)."""

    file: SourceFile
    number: int
    offset: int
    text: str
    start: int
    node: ast.Node | None
    error: str | None = None
    error_offset: int | None = None

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
        try:
            source.sql = SqlFile(path).source
        except MigrationError as exc:
            source.unreadable = exc
            return source
        source.statements = tuple(_parse(source, source.sql))
        return source

    def line_col(self, offset: int) -> tuple[int, int]:
        return self.sql.line_col(offset) if self.sql is not None else (1, 1)

    @property
    def name(self) -> str:
        return self.path.name


def _parse(source: SourceFile, sql: SqlText) -> list[ParsedStatement]:
    parsed: list[ParsedStatement] = []
    for stmt in sql.statements():
        start = stmt.offset + _first_token(stmt.text)
        try:
            raws = pglast.parse_sql(stmt.text)
        except pglast.parser.ParseError as exc:
            message, where = (*exc.args, None)[:2]
            offset = stmt.offset + where if isinstance(where, int) else start
            parsed.append(
                ParsedStatement(source, len(parsed), stmt.offset, stmt.text, start, None, str(message), offset)
            )
            continue
        for raw in raws:
            if raw.stmt is not None:
                parsed.append(ParsedStatement(source, len(parsed), stmt.offset, stmt.text, start, raw.stmt))
    return parsed


def _first_token(text: str) -> int:
    """Offset of the first token that is not a comment (comments belong to the statement after)."""
    try:
        tokens = pglast.parser.scan(text)
    except pglast.parser.ParseError:
        return 0
    return next((t.start for t in tokens if t.name not in _COMMENT_TOKENS), 0)


def comments(text: str) -> list[tuple[int, str]]:
    """(offset, text) of every comment in ``text``; a line scan when the scanner gives up."""
    try:
        return [(t.start, text[t.start : t.end + 1]) for t in pglast.parser.scan(text) if t.name in _COMMENT_TOKENS]
    except pglast.parser.ParseError:
        return [(m.start(), m.group()) for m in re.finditer(r"--[^\n]*", text)]


@dataclass(frozen=True)
class MigrationListing:
    """The files of ``supabase/migrations`` as the CLI sees them, duplicates included.

    ``MigrationSet.discover`` stops at the first duplicate version (the CLI refuses the set); the
    linter lists every file so that it can report each duplicate and still lint the rest.
    """

    directory: Path
    migrations: tuple[Migration, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    duplicates: tuple[tuple[Migration, Migration], ...] = field(default=())

    @classmethod
    def of(cls, directory: Path) -> MigrationListing:
        if not directory.is_dir():
            return cls(directory)
        migrations: list[Migration] = []
        skipped: list[Skipped] = []
        duplicates: list[tuple[Migration, Migration]] = []
        first: dict[str, Migration] = {}
        for path in sorted(directory.iterdir(), key=lambda p: p.name):
            if path.is_dir() or path.name.startswith("."):
                continue
            m = MIGRATION_FILE.match(path.name)
            if not m:
                skipped.append(Skipped(path, f"file name must match pattern {MIGRATION_FILE.pattern}"))
                continue
            migration = Migration(path=path, version=m.group(1), name=m.group(2))
            if migration.version in first:
                duplicates.append((first[migration.version], migration))
            else:
                first[migration.version] = migration
            migrations.append(migration)
        return cls(directory, tuple(migrations), tuple(skipped), tuple(duplicates))
