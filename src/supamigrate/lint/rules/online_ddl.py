"""SB020, SB021, SB022: DDL on an existing table that holds its lock while it scans, or that
waits for its lock with nothing to stop the wait.

An existing table is one that was there before the migration file (see ``destructive.py``).
``SET NOT NULL`` scans every row under ACCESS EXCLUSIVE, unless a valid ``CHECK (col IS NOT
NULL)`` already proves it (PostgreSQL 12+ then skips the scan). Adding a UNIQUE or PRIMARY KEY
constraint builds its index under ACCESS EXCLUSIVE; ``CREATE UNIQUE INDEX CONCURRENTLY`` builds it
without blocking writes, and ``ADD CONSTRAINT ... USING INDEX`` then only updates the catalog.
A statement that needs a strong lock on a busy table waits behind every open transaction that
touched it, and every query after it queues behind the wait: ``lock_timeout`` makes the migration
fail fast instead of stalling the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, NullTestType, ObjectType, VariableSetKind

from ...findings import Level
from ...sql.objects import strings
from ...sql.schema_model import column_constraints
from ...sql.source import ParsedStatement
from ..findings import Finding, Rule
from .base import Context, Family

SET_NOT_NULL = Rule(
    "SB020",
    "set-not-null-scan",
    "ALTER COLUMN ... SET NOT NULL on an existing table, with no valid CHECK (column IS NOT NULL)"
    " to prove it: a full scan under ACCESS EXCLUSIVE",
    "add `check (<column> is not null) not valid`, `validate constraint` it in a later migration,"
    " then `set not null` (PostgreSQL uses the check and skips the scan) and drop the check",
)
INDEX_UNDER_LOCK = Rule(
    "SB021",
    "unique-constraint-under-lock",
    "ADD UNIQUE / PRIMARY KEY constraint (or a column with one) on an existing table: its index is"
    " built under ACCESS EXCLUSIVE",
    "`create unique index concurrently <name> on <table> (<columns>);` as the only statement of its"
    " own migration, then `alter table <table> add constraint <name> unique using index <name>;`"
    " (`primary key using index` for a primary key) in the next",
)
LOCK_TIMEOUT = Rule(
    "SB022",
    "lock-timeout-missing",
    "DDL that locks an existing table (ALTER TABLE, CREATE INDEX, CREATE TRIGGER, policies, DROP,"
    " TRUNCATE, LOCK) in a file that sets no lock_timeout before it",
    "start the file with `set lock_timeout = '5s';`: a migration that cannot get its lock fails and"
    " can be retried, instead of queueing every query on the table behind it",
    Level.WARNING,
)

_TIMEOUT_MEMO = "online_ddl.reported"  # the files SB022 has reported (once per file is enough)


def _is_not_null_check(c: ast.Constraint, column: str) -> bool:
    expr = c.raw_expr
    return (
        isinstance(expr, ast.NullTest)
        and expr.nulltesttype == NullTestType.IS_NOT_NULL
        and isinstance(expr.arg, ast.ColumnRef)
        and strings(expr.arg.fields)[-1:] == (column,)
    )


def _proven_not_null(table: str, column: str, stmt: ParsedStatement, ctx: Context) -> bool:
    """Whether a valid CHECK (column IS NOT NULL) on ``table`` precedes ``stmt``: added without
    NOT VALID, or validated since."""
    pending: dict[str, bool] = {}
    for source in ctx.migrations:
        for earlier in source.statements:
            if earlier.pos >= stmt.pos:
                return any(pending.values())
            node = earlier.node
            if not isinstance(node, ast.AlterTableStmt) or ctx.state.qualify(node.relation) != table:
                continue
            for cmd in node.cmds or ():
                if not isinstance(cmd, ast.AlterTableCmd):
                    continue
                c = cmd.def_
                if (
                    cmd.subtype == AlterTableType.AT_AddConstraint
                    and isinstance(c, ast.Constraint)
                    and c.contype == ConstrType.CONSTR_CHECK
                    and _is_not_null_check(c, column)
                ):
                    pending[c.conname or f"#{earlier.pos}"] = not c.skip_validation
                elif cmd.subtype == AlterTableType.AT_ValidateConstraint and cmd.name in pending:
                    pending[cmd.name or ""] = True
                elif cmd.subtype == AlterTableType.AT_DropConstraint and cmd.name in pending:
                    pending.pop(cmd.name or "")
    return any(pending.values())


def _index_builds(node: ast.AlterTableStmt) -> Iterator[tuple[str, int | None]]:
    """(what, location) for each UNIQUE / PRIMARY KEY an ALTER TABLE adds with a new index."""
    kinds = {ConstrType.CONSTR_PRIMARY: "PRIMARY KEY", ConstrType.CONSTR_UNIQUE: "UNIQUE"}
    for cmd in node.cmds or ():
        if not isinstance(cmd, ast.AlterTableCmd):
            continue
        if cmd.subtype == AlterTableType.AT_AddConstraint and isinstance(cmd.def_, ast.Constraint):
            c = cmd.def_
            if c.contype in kinds and not c.indexname:
                name = f" {c.conname}" if c.conname else ""
                yield f"adding {kinds[ConstrType(c.contype)]} constraint{name}", c.location
        elif cmd.subtype == AlterTableType.AT_AddColumn and isinstance(cmd.def_, ast.ColumnDef):
            for c in column_constraints(cmd.def_):
                if c.contype in kinds:
                    yield f"adding column {cmd.def_.colname} {kinds[ConstrType(c.contype)]}", cmd.def_.location


def _locked(node: ast.Node | None, ctx: Context) -> Iterator[tuple[str, str, str]]:
    """(table, statement, lock) for each table a statement locks beyond plain reads and writes."""
    state = ctx.state
    if isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TABLE:
        yield state.qualify(node.relation), "ALTER TABLE", "ACCESS EXCLUSIVE"
    elif isinstance(node, ast.IndexStmt) and not node.concurrent:
        yield state.qualify(node.relation), "CREATE INDEX", "SHARE (writes wait while it builds)"
    elif isinstance(node, ast.CreateTrigStmt):
        yield state.qualify(node.relation), "CREATE TRIGGER", "SHARE ROW EXCLUSIVE"
    elif isinstance(node, ast.CreatePolicyStmt | ast.AlterPolicyStmt):
        word = "CREATE POLICY" if isinstance(node, ast.CreatePolicyStmt) else "ALTER POLICY"
        yield state.qualify(node.table), word, "ACCESS EXCLUSIVE"
    elif isinstance(node, ast.TruncateStmt):
        for rel in node.relations or ():
            if isinstance(rel, ast.RangeVar):
                yield state.qualify(rel), "TRUNCATE", "ACCESS EXCLUSIVE"
    elif isinstance(node, ast.LockStmt):
        for rel in node.relations or ():
            if isinstance(rel, ast.RangeVar):
                yield state.qualify(rel), "LOCK TABLE", "the lock it names"
    elif isinstance(node, ast.DropStmt) and node.removeType in (ObjectType.OBJECT_TABLE, ObjectType.OBJECT_POLICY):
        for obj in node.objects or ():
            parts = strings(obj if isinstance(obj, tuple) else ())
            if node.removeType == ObjectType.OBJECT_POLICY:
                parts = parts[:-1]
            if parts:
                word = "DROP TABLE" if node.removeType == ObjectType.OBJECT_TABLE else "DROP POLICY"
                yield state.qualify_names(parts), word, "ACCESS EXCLUSIVE"


def sets_lock_timeout(node: ast.Node | None) -> bool | None:
    """True when a statement sets a (non-zero) lock_timeout, False when it clears it, else None."""
    if isinstance(node, ast.VariableSetStmt):
        if node.kind == VariableSetKind.VAR_RESET_ALL:
            return False
        if node.name != "lock_timeout":
            return None
        if node.kind != VariableSetKind.VAR_SET_VALUE:
            return False
        values = [a.val for a in node.args or () if isinstance(a, ast.A_Const)]
        return bool(values) and not any(
            getattr(v, "ival", None) == 0 or getattr(v, "sval", None) == "0" for v in values
        )
    if isinstance(node, ast.SelectStmt):
        for target in node.targetList or ():
            call = target.val if isinstance(target, ast.ResTarget) else None
            if isinstance(call, ast.FuncCall) and strings(call.funcname)[-1:] == ("set_config",):
                args = [a.val if isinstance(a, ast.A_Const) else None for a in call.args or ()]
                if len(args) == 3 and getattr(args[0], "sval", None) == "lock_timeout":
                    return getattr(args[1], "sval", None) not in (None, "0", "")
    return None


def _timeout_set(stmt: ParsedStatement, ctx: Context) -> bool:
    """Whether the statements before ``stmt`` in its file leave a lock_timeout set (read once per
    file: the scan goes on from where the last question left it)."""
    progress: dict[Path, tuple[int, bool]] = ctx.memo.setdefault("online_ddl.timeouts", {})
    start, state = progress.get(stmt.file.path, (0, False))
    if start > stmt.number:
        start, state = 0, False
    for earlier in stmt.file.statements[start : stmt.number]:
        if earlier.statement.keyword in ("SET", "RESET", "SELECT"):
            verdict = sets_lock_timeout(earlier.node)
            state = state if verdict is None else verdict
    progress[stmt.file.path] = (stmt.number, state)
    return state


def on_statement(stmt: ParsedStatement, ctx: Context) -> Iterator[Finding]:
    node = stmt.node
    state = ctx.state
    if isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TABLE:
        table = state.qualify(node.relation)
        if state.existed_before_file(table, stmt):
            for cmd in node.cmds or ():
                if (
                    isinstance(cmd, ast.AlterTableCmd)
                    and cmd.subtype == AlterTableType.AT_SetNotNull
                    and not _proven_not_null(table, cmd.name or "", stmt, ctx)
                ):
                    yield ctx.at(
                        SET_NOT_NULL,
                        stmt,
                        f"SET NOT NULL on {table}.{cmd.name} scans every row of existing table {table} while"
                        " holding ACCESS EXCLUSIVE (reads and writes wait until it finishes)",
                    )
            for what, location in _index_builds(node):
                yield ctx.at(
                    INDEX_UNDER_LOCK,
                    stmt,
                    f"{what} on existing table {table} builds its index while holding ACCESS EXCLUSIVE"
                    " (reads and writes wait until it finishes)",
                    stmt.at(location),
                )
    reported: set[Path] = ctx.memo.setdefault(_TIMEOUT_MEMO, set())
    if stmt.file.path in reported:
        return
    for table, word, lock in _locked(node, ctx):
        if table and state.existed_before_file(table, stmt) and not _timeout_set(stmt, ctx):
            reported.add(stmt.file.path)
            yield ctx.at(
                LOCK_TIMEOUT,
                stmt,
                f"{word} on existing table {table} waits for {lock} and no lock_timeout is set in this file:"
                f" while it waits behind a long transaction, every query on {table} queues behind it",
            )
            return


FAMILY = Family((SET_NOT_NULL, INDEX_UNDER_LOCK, LOCK_TIMEOUT), on_statement)
