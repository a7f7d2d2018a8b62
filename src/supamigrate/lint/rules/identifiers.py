"""SB023: an identifier longer than PostgreSQL's 63 bytes (NAMEDATALEN - 1).

PostgreSQL's scanner cuts every longer identifier to its first 63 bytes with only a NOTICE, so
the object gets another name than the one written: two long names that share those bytes become
one (the second CREATE fails, or an index name collides), and an API client that asks for the
name as written (``.from('...')``, an RPC) finds nothing. A warning: SQL that names the object
truncates the same way, so a long policy name (the common case) works. Unquoted names count after folding to
lower case, quoted ones as written, in UTF-8 bytes. Each name is reported where the migrations
first write it (usually where they create it).
"""

from __future__ import annotations

from collections.abc import Iterator

from ...findings import Level
from ...sql.source import ParsedStatement
from ..findings import Finding, Rule
from .base import Context, Family

MAX_BYTES = 63

IDENTIFIER_TOO_LONG = Rule(
    "SB023",
    "identifier-too-long",
    "an identifier longer than 63 bytes, which PostgreSQL silently truncates",
    "shorten the name to 63 bytes or fewer (name constraints and indexes yourself when the"
    " generated name would be long)",
    Level.WARNING,
)


def _name(token_text: str) -> str:
    """The identifier a token stands for: a quoted one unquoted, an unquoted one folded."""
    if token_text.startswith('"'):
        return token_text[1:-1].replace('""', '"')
    return token_text.lower()


def truncated(name: str) -> str:
    """What PostgreSQL keeps of ``name``: its first 63 bytes, cut at a character boundary."""
    return name.encode("utf-8")[:MAX_BYTES].decode("utf-8", errors="ignore")


def on_statement(stmt: ParsedStatement, ctx: Context) -> Iterator[Finding]:
    seen: set[str] = ctx.memo.setdefault("identifiers.seen", set())
    for token in stmt.tokens:
        if token.name != "IDENT" or token.end - token.start + 1 <= MAX_BYTES // 4:
            continue  # a name of 15 characters or fewer has at most 60 bytes
        name = _name(stmt.text[token.start : token.end + 1])
        size = len(name.encode("utf-8"))
        if size <= MAX_BYTES or name in seen:
            continue
        seen.add(name)
        yield ctx.at(
            IDENTIFIER_TOO_LONG,
            stmt,
            f'identifier "{name}" is {size} bytes: PostgreSQL silently truncates it to the first {MAX_BYTES}'
            f' ("{truncated(name)}"), so the object is not named as written',
            stmt.offset + token.start,
        )


FAMILY = Family((IDENTIFIER_TOO_LONG,), on_statement)
