"""One SQL statement of a file, with its tokens and parse tree computed lazily, at most once.

Consumers (the runner, the linter, the platform's extension policy, the PL/pgSQL check) ask the
statement rather than re-scanning or re-parsing its text. Node ``location``s in ``tree`` are
relative to ``text``: add ``offset`` for the place in the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pglast
import pglast.parser
from pglast import ast
from pglast.enums import ObjectType, TransactionStmtKind
from pglast.parser import Token

COMMENT_TOKENS = frozenset({"SQL_COMMENT", "C_COMMENT"})

# Statements that open or end a transaction (SAVEPOINT, RELEASE and ROLLBACK TO do not).
TRANSACTION_CONTROL: dict[TransactionStmtKind, str] = {
    TransactionStmtKind.TRANS_STMT_BEGIN: "BEGIN",
    TransactionStmtKind.TRANS_STMT_START: "START TRANSACTION",
    TransactionStmtKind.TRANS_STMT_COMMIT: "COMMIT",
    TransactionStmtKind.TRANS_STMT_ROLLBACK: "ROLLBACK",
    TransactionStmtKind.TRANS_STMT_PREPARE: "PREPARE TRANSACTION",
    TransactionStmtKind.TRANS_STMT_COMMIT_PREPARED: "COMMIT PREPARED",
    TransactionStmtKind.TRANS_STMT_ROLLBACK_PREPARED: "ROLLBACK PREPARED",
}
# First keywords that can open those statements: anything else is decided without parsing, so a
# seed of 100,000 INSERTs is never parsed just to learn that it holds no BEGIN.
_CONTROL_WORDS = frozenset({"BEGIN", "START", "COMMIT", "END", "ABORT", "ROLLBACK", "PREPARE"})
_EXTENSION_WORDS = frozenset({"CREATE", "DROP", "ALTER", "COMMENT"})


@dataclass(frozen=True)
class Statement:
    """One SQL statement: its text (no trailing semicolon) and where it starts in its file.

    ``text`` keeps the comments before the statement, as the Supabase CLI records them; ``start``
    is past them.
    """

    text: str
    offset: int

    # -- tokens -----------------------------------------------------------------------------------

    @cached_property
    def _scanned(self) -> tuple[Token, ...] | None:
        try:
            return tuple(pglast.parser.scan(self.text))
        except pglast.parser.ParseError:
            return None  # an unterminated quote or comment: the server will say so

    @property
    def tokens(self) -> tuple[Token, ...]:
        """The scanner's tokens, offsets relative to ``text`` (none if the scanner rejects it)."""
        return self._scanned or ()

    @cached_property
    def _first(self) -> Token | None:
        """The first token that is not a comment."""
        return next((t for t in self.tokens if t.name not in COMMENT_TOKENS), None)

    @property
    def start(self) -> int:
        """File offset of the first meaningful token (never a leading comment)."""
        first = self._first
        return self.offset + (first.start if first is not None else 0)

    @cached_property
    def keyword(self) -> str:
        """The first meaningful token, upper-cased (``CREATE``, ``INSERT``, ...); "" if none."""
        first = self._first
        return self.text[first.start : first.end + 1].upper() if first is not None else ""

    @property
    def is_comment_only(self) -> bool:
        """Only comments (and white space): the CLI keeps such pieces, the server has nothing to run."""
        return self._scanned is not None and self._first is None

    # -- parse tree -------------------------------------------------------------------------------

    @cached_property
    def _parsed(self) -> tuple[ast.Node | None, str | None, int | None]:
        if self.is_comment_only:
            return None, None, None
        try:
            raws = pglast.parse_sql(self.text)
        except pglast.parser.ParseError as exc:
            message, where = (*exc.args, None)[:2]
            return None, str(message), self.offset + where if isinstance(where, int) else self.start
        # The split leaves one statement per piece, so a piece parses to at most one.
        return (raws[0].stmt if raws else None), None, None

    @property
    def tree(self) -> ast.Node | None:
        """The statement's parse tree; None if it is only comments or the parser rejects it."""
        return self._parsed[0]

    @property
    def error(self) -> str | None:
        """The parser's message when it rejects the statement."""
        return self._parsed[1]

    @property
    def error_offset(self) -> int | None:
        """File offset the parser's error points at (the statement's start when it names none)."""
        return self._parsed[2]

    # -- what the statement is --------------------------------------------------------------------

    @property
    def is_transaction_control(self) -> bool:
        """BEGIN, START TRANSACTION, COMMIT/END, ROLLBACK/ABORT, PREPARE TRANSACTION, COMMIT/ROLLBACK
        PREPARED: what breaks a file's one transaction. SAVEPOINT and ROLLBACK TO do not."""
        if self.keyword not in _CONTROL_WORDS:
            return False
        node = self.tree
        return isinstance(node, ast.TransactionStmt) and node.kind in TRANSACTION_CONTROL

    @property
    def is_extension_statement(self) -> bool:
        """CREATE / DROP / ALTER EXTENSION (UPDATE, ADD, DROP, SET SCHEMA), COMMENT ON EXTENSION."""
        if self.keyword not in _EXTENSION_WORDS:
            return False
        return is_extension_node(self.tree)


def is_extension_node(node: ast.Node | None) -> bool:
    """Whether a parse tree is a statement about an extension itself (see Statement)."""
    if isinstance(node, (ast.CreateExtensionStmt, ast.AlterExtensionStmt, ast.AlterExtensionContentsStmt)):
        return True
    if isinstance(node, ast.DropStmt):
        return node.removeType == ObjectType.OBJECT_EXTENSION
    if isinstance(node, ast.CommentStmt):
        return node.objtype == ObjectType.OBJECT_EXTENSION
    if isinstance(node, ast.AlterObjectSchemaStmt):
        return node.objectType == ObjectType.OBJECT_EXTENSION
    return False
