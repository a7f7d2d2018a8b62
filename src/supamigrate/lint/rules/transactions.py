"""SB009, SB010: each migration and seed file runs in one transaction (as ``supabase db push``
does), so statements that refuse a transaction block fail, and explicit transaction control
breaks the file's atomicity: after a COMMIT, a later error leaves the first half applied. A
CONCURRENTLY index statement alone in its migration file runs: the CLI's batch starts with it."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from ...sql.source import MIGRATION, SEED, ParsedStatement
from ...sql.statement import TRANSACTION_CONTROL as _CONTROL  # kind -> its name in messages
from ...sql.statement import outside_only as _outside_only
from ..findings import Finding, Rule
from .base import Context, Family

NOT_IN_TRANSACTION = Rule(
    "SB009",
    "not-in-transaction",
    "a statement that cannot run inside the file's transaction (CREATE INDEX CONCURRENTLY, VACUUM,"
    " ALTER SYSTEM, CREATE DATABASE, ...)",
    "use the non-concurrent form (it blocks writes while it runs), give a CONCURRENTLY index"
    " statement a migration file of its own (alone there it runs), or run the statement outside"
    " migrations; server settings belong in the platform's configuration, not in migrations",
)
TRANSACTION_CONTROL = Rule(
    "SB010",
    "transaction-control",
    "explicit BEGIN, COMMIT, ROLLBACK (or PREPARE TRANSACTION) in a migration or seed file",
    "remove it: the Supabase CLI already sends the file, with its history row, as one transaction"
    " (SAVEPOINT and LOCK TABLE work only inside an explicit BEGIN there)",
)


# What runs as the only statement of a migration file (as the README's "How migrations are
# applied" says, measured against a real pipeline): building or dropping an index without
# blocking writes, the way SB021 recommends.
ALONE_OK = frozenset({"CREATE INDEX CONCURRENTLY", "DROP INDEX CONCURRENTLY", "REINDEX CONCURRENTLY"})


def on_statement(stmt: ParsedStatement, ctx: Context) -> Iterator[Finding]:
    node = stmt.node
    kind = "migration" if stmt.file.kind == MIGRATION else "seed"
    if isinstance(node, ast.TransactionStmt) and node.kind in _CONTROL:
        word = _CONTROL[node.kind]
        yield ctx.at(
            TRANSACTION_CONTROL,
            stmt,
            f"{word} in a {kind} file: the file already runs in one transaction, and ending it early"
            " leaves the statements before it applied when a later one fails",
        )
    outside = _outside_only(node)
    if outside in ALONE_OK and stmt.file.kind == MIGRATION and len(stmt.file.statements) == 1:
        return  # the first statement of the CLI's batch runs, and commits, outside its transaction
    if outside is not None:
        yield ctx.at(
            NOT_IN_TRANSACTION,
            stmt,
            f"{outside} cannot run inside a transaction block, and each {kind} file runs in one",
        )


FAMILY = Family((NOT_IN_TRANSACTION, TRANSACTION_CONTROL), on_statement, kinds=frozenset({MIGRATION, SEED}))
