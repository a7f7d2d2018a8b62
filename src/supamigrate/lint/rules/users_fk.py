"""SB001, SB002: foreign keys to users. Supabase keeps accounts in ``auth.users``; a second users
table drifts from it, and a key to ``auth.users`` with no ON DELETE blocks deleting accounts.

A users table outside auth whose key itself references ``auth.users (id)`` is the profiles table
SB001 recommends (one row per account, by the account's id): keys to it are fine."""

from __future__ import annotations

from collections.abc import Iterator

from pglast import ast

from ...sql.schema_model import ForeignKey, SchemaModel
from ...sql.source import ParsedStatement
from ..findings import Finding, Rule
from .base import Context, Family

USERS_OUTSIDE_AUTH = Rule(
    "SB001",
    "users-table-outside-auth",
    "a foreign key to a users table outside the auth schema (e.g. public.users)",
    "reference auth.users (id), or a profiles table whose id references auth.users (id)",
)
AUTH_USERS_NO_ON_DELETE = Rule(
    "SB002",
    "auth-users-fk-without-on-delete",
    "a foreign key to auth.users without an ON DELETE action",
    "add `on delete cascade` (rows go with the account) or `on delete set null`",
)


def has_on_delete(fk: ForeignKey[ParsedStatement]) -> bool:
    """Whether the constraint's text says ON DELETE (NO ACTION written out counts as a choice)."""
    start = fk.constraint.location or 0
    depth = 0
    previous = ""
    for token in fk.stmt.tokens:
        if token.start < start:
            continue
        if token.name == "ASCII_40":
            depth += 1
        elif token.name == "ASCII_41":
            if depth == 0:
                break
            depth -= 1
        elif token.name in ("ASCII_44", "ASCII_59") and depth == 0:
            break
        elif token.name == "DELETE_P" and previous == "ON":
            return True
        previous = token.name
    return False


def _referenced_columns(fk: ForeignKey[ParsedStatement]) -> tuple[str, ...]:
    """The target's columns a key references (its primary key, taken as ``id``, when unnamed)."""
    named = tuple(str(n.sval) for n in fk.constraint.pk_attrs or () if isinstance(n, ast.String))
    return named or ("id",)


def profiles_of_auth_users(fk: ForeignKey[ParsedStatement], state: SchemaModel[ParsedStatement]) -> bool:
    """Whether ``fk``'s target references ``auth.users`` by the very columns ``fk`` references."""
    target = state.tables.get(fk.target)
    if target is None:
        return False
    wanted = _referenced_columns(fk)
    return any(own.target == "auth.users" and own.columns == wanted for own in target.foreign_keys)


def on_statement(stmt: ParsedStatement, ctx: Context) -> Iterator[Finding]:
    for fk in ctx.state.foreign_keys(stmt):
        schema, _, name = fk.target.partition(".")
        if name == "users" and schema != "auth" and not profiles_of_auth_users(fk, ctx.state):
            yield ctx.at(
                USERS_OUTSIDE_AUTH,
                stmt,
                f"foreign key {fk.table} ({', '.join(fk.columns)}) references {fk.target}:"
                " Supabase accounts live in auth.users, and a second users table drifts from it",
                fk.offset,
            )
        elif fk.target == "auth.users" and not has_on_delete(fk):
            yield ctx.at(
                AUTH_USERS_NO_ON_DELETE,
                stmt,
                f"foreign key {fk.table} ({', '.join(fk.columns)}) references auth.users without ON DELETE:"
                " deleting an account fails while rows still reference it",
                fk.offset,
            )


FAMILY = Family((USERS_OUTSIDE_AUTH, AUTH_USERS_NO_ON_DELETE), on_statement)
