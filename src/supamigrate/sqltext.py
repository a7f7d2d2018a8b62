"""SQL text: statements with their offsets in a file, and offsets turned into line:column.

Splitting uses pglast, the real PostgreSQL parser, so dollar quotes, ``BEGIN ATOMIC`` bodies and
comments are handled exactly as the server will see them.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import pglast.parser


@dataclass(frozen=True)
class Statement:
    """One SQL statement: its text (no trailing semicolon) and where it starts in its file."""

    text: str
    offset: int


@dataclass(frozen=True)
class SqlText:
    """A file's text with a line index, so offsets map to 1-based line and column cheaply."""

    text: str
    _line_starts: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        starts = [0]
        for i, ch in enumerate(self.text):
            if ch == "\n":
                starts.append(i + 1)
        object.__setattr__(self, "_line_starts", tuple(starts))

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a 0-based character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self._line_starts, offset) - 1
        return line + 1, offset - self._line_starts[line] + 1

    def statements(self) -> tuple[Statement, ...]:
        """The statements of the text, in order, as the Supabase CLI records them.

        Like the CLI's ``SplitAndTrim``: cut at every semicolon between statements (never inside
        quotes, dollar quotes or a ``BEGIN ATOMIC`` body), keep comments, drop the semicolon and
        surrounding white space, and drop empty pieces. A comment after the last semicolon is a
        piece of its own. The real parser tells which semicolons end statements; for text it
        rejects, every semicolon the scanner finds does, so the server still reports the error.
        """
        text = self.text
        try:
            bodies = pglast.parser.split(text, with_parser=True, only_slices=True)
        except pglast.parser.ParseError:
            bodies = ()
        try:
            tokens = pglast.parser.scan(text)
        except pglast.parser.ParseError:
            tokens = []
        inside = [(b.start, b.stop) for b in bodies]
        cuts = [
            t.start
            for t in tokens
            if t.name == "ASCII_59" and not any(lo <= t.start < hi for lo, hi in inside)
        ]
        result = []
        begin = 0
        for end in [*cuts, len(text)]:
            piece = text[begin:end]
            stripped = piece.lstrip()
            if stripped.strip():
                result.append(Statement(stripped.rstrip(), begin + len(piece) - len(stripped)))
            begin = end + 1
        return tuple(result)


def statements(sql: str) -> tuple[Statement, ...]:
    """Shorthand for ``SqlText(sql).statements()``."""
    return SqlText(sql).statements()
