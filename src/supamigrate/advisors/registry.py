"""What an advisor is, the registry of them, and running them on a connection.

An advisor is one catalog check with a stable id (the name the Supabase Database Advisor uses), a
level as Supabase gives it (ERROR, WARN, INFO), a remediation hint and a docstring saying what it
looks for and why it matters. Its check runs one query on the connection and yields ``Hit``s,
which become findings on the object (``source="advisor"``, the advisor's id as code).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from ..findings import Finding, Level, ObjectLocation
from ..platform import PLATFORM_SCHEMAS

# Supabase's advisor levels, and the report levels they map to.
LEVEL_FINDING = {"ERROR": Level.ERROR, "WARN": Level.WARNING, "INFO": Level.INFO}

# The roles Data API requests run as (besides service_role, which bypasses RLS).
API_ROLES = ("anon", "authenticated")

# SQL fragments shared by the checks; every check's query receives %(exposed)s, %(platform)s and
# %(api_roles)s (those of API_ROLES that exist) as text[].
USER_SCHEMA = "(n.nspname <> ALL(%(platform)s) AND n.nspname !~ '^pg_')"
EXPOSED_SCHEMA = "n.nspname = ANY(%(exposed)s)"


def not_extension_member(catalog: str, oid: str) -> str:
    """SQL that is true when the object ``oid`` of ``catalog`` was not created by an extension."""
    return (
        f"NOT EXISTS (SELECT FROM pg_catalog.pg_depend e WHERE e.classid = '{catalog}'::regclass"
        f" AND e.objid = {oid} AND e.deptype = 'e')"
    )


@dataclass(frozen=True)
class Hit:
    """One object a check flagged: its name, the message, and a hint when the default does not fit."""

    object: str
    message: str
    hint: str | None = None


@dataclass(frozen=True)
class Scope:
    """Which schemas the Data API exposes (config.toml [api] schemas) and which are the platform's."""

    exposed: tuple[str, ...]
    platform: tuple[str, ...] = PLATFORM_SCHEMAS


class Context:
    """What a check gets: the connection and the scope its query is parameterised with."""

    def __init__(self, conn: psycopg.Connection, scope: Scope) -> None:
        self.conn = conn
        self.scope = scope
        rows = conn.execute(
            "SELECT rolname FROM pg_catalog.pg_roles WHERE rolname = ANY(%s) ORDER BY rolname",
            (list(API_ROLES),),
        ).fetchall()
        self.api_roles = [str(r[0]) for r in rows]

    def rows(self, query: str, **params: Any) -> list[tuple[Any, ...]]:
        """Run ``query`` with %(exposed)s, %(platform)s and %(api_roles)s (text[]) plus ``params``."""
        values = {
            "exposed": list(self.scope.exposed),
            "platform": list(self.scope.platform),
            "api_roles": self.api_roles,
            **params,
        }
        return self.conn.execute(query, values).fetchall()


Check = Callable[[Context], Iterable[Hit]]


@dataclass(frozen=True)
class Advisor:
    """One advisor: id, level, category, title, remediation hint and the check that finds hits."""

    id: str
    level: str
    category: str
    title: str
    hint: str
    check: Check = field(repr=False)
    splinter: str = ""
    # Live-only: what it reads (usage statistics, dead space, the server's extension versions,
    # GraphQL's reach) means something on a database in service, not on a fresh build.
    live: bool = False

    @property
    def remediation(self) -> str:
        """The Supabase docs page on this lint (as the Database Advisor links it), or ``""``."""
        if not self.splinter:
            return ""
        return f"https://supabase.com/docs/guides/database/database-linter?lint={self.splinter}_{self.id}"

    @property
    def doc(self) -> str:
        """The check's docstring: what the advisor looks for and why."""
        return " ".join((self.check.__doc__ or "").split())

    def run(self, ctx: Context) -> list[Finding]:
        """The findings of this advisor: one per hit, on the hit's object (ERROR → error, WARN →
        warning, INFO → info), the advisor's category and remediation page in ``extras``."""
        return [
            Finding(
                LEVEL_FINDING[self.level],
                self.id,
                h.message,
                ObjectLocation(h.object),
                hint=h.hint or self.hint,
                source="advisor",
                extras={"category": self.category, "remediation": self.remediation},
            )
            for h in self.check(ctx)
        ]


ADVISORS: dict[str, Advisor] = {}


def advisor(
    id: str, *, level: str, category: str, title: str, hint: str, splinter: str = "", live: bool = False
) -> Callable[[Check], Advisor]:
    """Register the decorated check as an advisor; ``splinter`` is the Supabase lint number,
    ``live`` marks one that runs only on a database in service (``supamigrate advise``)."""
    if level not in LEVEL_FINDING:
        raise ValueError(f"unknown advisor level {level!r}")

    def register(check: Check) -> Advisor:
        if id in ADVISORS:
            raise ValueError(f"advisor {id!r} registered twice")
        adv = Advisor(id, level, category, title, hint, check, splinter, live)
        ADVISORS[id] = adv
        return adv

    return register


def run_advisors(
    conn: psycopg.Connection,
    exposed_schemas: Sequence[str],
    *,
    only: Iterable[str] | None = None,
    disable: Iterable[str] = (),
    ignore: Iterable[str] = (),
    live: bool = False,
) -> list[Finding]:
    """Run the advisors on the database of ``conn`` and return their findings, most severe first.

    ``exposed_schemas`` are the schemas the Data API serves. ``only`` picks advisors by id,
    ``disable`` leaves some out, ``ignore`` drops single findings named ``"<advisor>:<object>"``.
    The live-only advisors (``Advisor.live``) run only with ``live``: on a database in service.
    Everything runs in a transaction (a savepoint inside an open one) that is rolled back, with
    ``search_path`` empty so that policy expressions read back fully qualified.
    """
    picked = set(ADVISORS) if only is None else set(only)
    chosen = [
        a for a in ADVISORS.values() if a.id in picked and a.id not in set(disable) and (live or not a.live)
    ]
    ignored = set(ignore)
    advice: list[Finding] = []
    with conn.transaction(force_rollback=True):
        conn.execute("SELECT pg_catalog.set_config('search_path', '', true)")
        ctx = Context(conn, Scope(tuple(exposed_schemas)))
        for adv in chosen:
            advice.extend(a for a in adv.run(ctx) if f"{a.code}:{a.where}" not in ignored)
    advice.sort(key=lambda a: (-a.level.rank, a.code, a.where))
    return advice
