"""SQL text: a file's statements with their offsets, and offsets turned into line:column.

Splitting uses pglast, the real PostgreSQL parser, so dollar quotes, ``BEGIN ATOMIC`` bodies and
comments are handled exactly as the server will see them.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pglast.parser
from pglast.parser import Token

from ..errors import MigrationError, SqlLocation
from .statement import COMMENT_TOKENS, Statement


@dataclass(frozen=True)
class SqlText:
    """A file's text with a line index, so offsets map to 1-based line and column cheaply."""

    text: str
    _line_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts = [0]
        find = self.text.find
        at = find("\n")
        while at >= 0:
            starts.append(at + 1)
            at = find("\n", at + 1)
        object.__setattr__(self, "_line_starts", tuple(starts))

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a 0-based character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    @cached_property
    def tokens(self) -> tuple[Token, ...] | None:
        """The scanner's tokens of the whole text; None when it rejects the text (an unclosed quote)."""
        try:
            return tuple(pglast.parser.scan(self.text))
        except pglast.parser.ParseError:
            return None

    def comments(self) -> list[tuple[int, str]]:
        """(offset, text) of every comment; a line scan for ``--`` when the scanner gives up."""
        if self.tokens is None:
            return [(m.start(), m.group()) for m in re.finditer(r"--[^\n]*", self.text)]
        return [(t.start, self.text[t.start : t.end + 1]) for t in self.tokens if t.name in COMMENT_TOKENS]

    def statements(self) -> tuple[Statement, ...]:
        """The statements of the text, in order, as the Supabase CLI records them.

        Like the CLI's ``SplitAndTrim``: cut at every semicolon between statements (never inside
        quotes, dollar quotes or a ``BEGIN ATOMIC`` body), keep comments, drop the semicolon and
        surrounding white space, and drop empty pieces. A comment after the last semicolon is a
        piece of its own. The real parser tells which semicolons end statements; for text it
        rejects, every semicolon the scanner finds does, so the server still reports the error.

        Linear in the text: one parse, then only the gaps between the parser's statements are
        searched for semicolons (they hold nothing but blanks, comments and semicolons).
        """
        text = self.text
        result = []
        begin = 0
        for end in [*self._cuts(), len(text)]:
            piece = text[begin:end]
            body = piece.strip()
            if body:  # it starts where its first character first appears: past the blanks
                result.append(Statement(body, begin + piece.index(body[0])))
            begin = end + 1
        return tuple(result)

    def _cuts(self) -> list[int]:
        """Offsets of the semicolons that end statements, in order."""
        text = self.text
        try:
            bodies = pglast.parser.split(text, with_parser=True, only_slices=True)
        except pglast.parser.ParseError:
            # Text the parser rejects: every semicolon token cuts; none if the scanner rejects it
            # too (an unclosed quote), so the server reports the error on the one piece.
            return [t.start for t in self.tokens or () if t.name == "ASCII_59"]
        found: list[int] = []
        find = text.find
        gaps = zip([0, *(b.stop for b in bodies)], [*(b.start for b in bodies), len(text)], strict=True)
        for begin, stop in gaps:
            if find("--", begin, stop) >= 0 or find("/*", begin, stop) >= 0:  # a semicolon in a comment is no cut
                found.extend(begin + t.start for t in pglast.parser.scan(text[begin:stop]) if t.name == "ASCII_59")
                continue
            at = find(";", begin, stop)
            while at >= 0:
                found.append(at)
                at = find(";", at + 1, stop)
        return found


def statements(sql: str) -> tuple[Statement, ...]:
    """Shorthand for ``SqlText(sql).statements()``."""
    return SqlText(sql).statements()


@dataclass(frozen=True)
class SqlFile:
    """A SQL file read strictly as UTF-8 (as PostgreSQL and the CLI read it), split into statements."""

    path: Path

    @cached_property
    def source(self) -> SqlText:
        raw = self.path.read_bytes()
        try:
            return SqlText(raw.decode("utf-8"))
        except UnicodeDecodeError as exc:
            good = raw[: exc.start].decode("utf-8")
            line, col = SqlText(good).line_col(len(good))
            raise MigrationError(
                SqlLocation(self.path, line, col),
                f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                hint="save the file as UTF-8; PostgreSQL and the Supabase CLI read migrations as UTF-8",
            ) from None

    @cached_property
    def statements(self) -> tuple[Statement, ...]:
        return self.source.statements()

    def location(self, offset: int) -> SqlLocation:
        line, col = self.source.line_col(offset)
        return SqlLocation(self.path, line, col)
