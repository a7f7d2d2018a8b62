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
from pglast.enums import AlterTableType, ObjectType, ReindexObjectType, TransactionStmtKind
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
# First keywords of the statements PostgreSQL refuses inside a transaction block (see outside_only).
_OUTSIDE_WORDS = frozenset({"CREATE", "DROP", "REINDEX", "VACUUM", "CLUSTER", "ALTER"})
# Statements PostgreSQL runs only inside a transaction block (RequireTransactionBlock): outside one
# they fail with 25P01 "<name> can only be used in transaction blocks".
_BLOCK_ONLY_WORDS = frozenset({"LOCK", "SAVEPOINT", "RELEASE", "ROLLBACK", "DECLARE"})
_SAVEPOINT_KINDS: dict[TransactionStmtKind, str] = {
    TransactionStmtKind.TRANS_STMT_SAVEPOINT: "SAVEPOINT",
    TransactionStmtKind.TRANS_STMT_RELEASE: "RELEASE SAVEPOINT",
    TransactionStmtKind.TRANS_STMT_ROLLBACK_TO: "ROLLBACK TO SAVEPOINT",
}


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
    def transaction_kind(self) -> TransactionStmtKind | None:
        """The kind of a transaction control statement (``is_transaction_control``), else None."""
        if not self.is_transaction_control:
            return None
        node = self.tree
        assert isinstance(node, ast.TransactionStmt) and node.kind is not None
        return TransactionStmtKind(node.kind)

    @property
    def outside_only(self) -> str | None:
        """The name of a statement PostgreSQL refuses inside a transaction block (``CREATE INDEX
        CONCURRENTLY``, ``VACUUM``, ...), else None."""
        if self.keyword not in _OUTSIDE_WORDS:
            return None
        return outside_only(self.tree)

    @property
    def block_only(self) -> str | None:
        """The name PostgreSQL gives a statement that needs a transaction block (``LOCK TABLE``,
        ``SAVEPOINT``, ``DECLARE CURSOR`` without HOLD), else None."""
        if self.keyword not in _BLOCK_ONLY_WORDS:
            return None
        node = self.tree
        if isinstance(node, ast.LockStmt):
            return "LOCK TABLE"
        if isinstance(node, ast.TransactionStmt) and node.kind is not None:
            return _SAVEPOINT_KINDS.get(TransactionStmtKind(node.kind))
        if isinstance(node, ast.DeclareCursorStmt) and not (node.options or 0) & 0x0020:  # CURSOR_OPT_HOLD
            return "DECLARE CURSOR"
        return None

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


def outside_only(node: ast.Node | None) -> str | None:
    """The name of a statement that PostgreSQL refuses inside a transaction block, or None."""
    if isinstance(node, ast.IndexStmt) and node.concurrent:
        return "CREATE INDEX CONCURRENTLY"
    if isinstance(node, ast.DropStmt) and node.concurrent:
        return "DROP INDEX CONCURRENTLY"
    if isinstance(node, ast.ReindexStmt):
        if any(isinstance(p, ast.DefElem) and p.defname == "concurrently" for p in node.params or ()):
            return "REINDEX CONCURRENTLY"
        if node.kind in (ReindexObjectType.REINDEX_OBJECT_SYSTEM, ReindexObjectType.REINDEX_OBJECT_DATABASE):
            return "REINDEX DATABASE/SYSTEM"
        if node.kind == ReindexObjectType.REINDEX_OBJECT_SCHEMA:
            return "REINDEX SCHEMA"
    if isinstance(node, ast.VacuumStmt) and node.is_vacuumcmd:
        return "VACUUM"
    if isinstance(node, ast.ClusterStmt) and node.relation is None:
        return "CLUSTER without a table"
    if isinstance(node, ast.AlterTableStmt):
        for cmd in node.cmds or ():
            if (
                isinstance(cmd, ast.AlterTableCmd)
                and cmd.subtype == AlterTableType.AT_DetachPartition
                and isinstance(cmd.def_, ast.PartitionCmd)
                and cmd.def_.concurrent
            ):
                return "DETACH PARTITION CONCURRENTLY"
    names = {
        ast.AlterSystemStmt: "ALTER SYSTEM",
        ast.CreatedbStmt: "CREATE DATABASE",
        ast.DropdbStmt: "DROP DATABASE",
        ast.CreateTableSpaceStmt: "CREATE TABLESPACE",
        ast.DropTableSpaceStmt: "DROP TABLESPACE",
        ast.CreateSubscriptionStmt: "CREATE SUBSCRIPTION",
    }
    return names.get(type(node)) if node is not None else None
