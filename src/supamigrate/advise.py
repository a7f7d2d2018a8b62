"""``advise``: every advisor on a live database, the live-only ones included, read-only.

The connection is preflight's: every transaction on it defaults to READ ONLY, so nothing can be
written whatever an advisor's query does. The exposed schemas are those given, else the ones
the database's PostgREST serves (``pgrst.db_schemas`` set on the ``authenticator`` role, as
Supabase sets it), else the project's ``[api] schemas``, else Supabase's default. Findings carry
splinter's lint names as codes, so the JSON compares line by line with the dashboard's.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg

from .advisors import ADVISORS, AdvisorSettings, run_advisors
from .database import redact
from .errors import ProjectError
from .findings import Finding, failing
from .preflight import open_read_only
from .project import DEFAULT_API_SCHEMAS, Project

# The role PostgREST logs in as; Supabase keeps its in-database configuration there.
POSTGREST_ROLE = "authenticator"


@dataclass
class AdviseReport:
    """What ``advise`` found on the target; ``ok`` is false when a finding reaches ``fail_on``."""

    target: str
    exposed: tuple[str, ...]
    exposed_from: str
    server_version: str = ""
    findings: list[Finding] = field(default_factory=list)
    fail_on: str = "error"
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not failing(self.findings, self.fail_on)


def served_schemas(conn: psycopg.Connection) -> tuple[str, ...] | None:
    """The schemas PostgREST serves as the database configures it (``pgrst.db_schemas`` on the
    authenticator role, for this database or all), or None when it does not say."""
    row = conn.execute(
        """
        SELECT s.setting FROM pg_catalog.pg_db_role_setting d
        JOIN pg_catalog.pg_roles r ON r.oid = d.setrole
        CROSS JOIN LATERAL unnest(d.setconfig) s(setting)
        WHERE r.rolname = %s AND s.setting LIKE 'pgrst.db\\_schemas=%%'
          AND d.setdatabase IN (0, (SELECT oid FROM pg_catalog.pg_database
                                    WHERE datname = pg_catalog.current_database()))
        ORDER BY d.setdatabase DESC LIMIT 1
        """,
        (POSTGREST_ROLE,),
    ).fetchone()
    conn.rollback()
    if row is None:
        return None
    names = tuple(n.strip() for n in str(row[0]).split("=", 1)[1].split(",") if n.strip())
    return names or None


def advise(
    db_url: str,
    *,
    project: Project | None = None,
    schemas: Sequence[str] | None = None,
    only: Sequence[str] | None = None,
    fail_on: str = "error",
) -> AdviseReport:
    """Run every advisor (live-only ones too) on the database at ``db_url``, read-only.

    ``project`` gives the ``[advisors]`` settings and, failing the database's own, the exposed
    schemas; ``schemas`` overrides both; ``only`` picks advisors by id.
    """
    started = time.perf_counter()
    settings = AdvisorSettings.from_project(project) if project is not None else AdvisorSettings()
    unknown = sorted(set(only or ()) - set(ADVISORS))
    if unknown:
        raise ProjectError(f"no such advisor: {', '.join(unknown)}", hint=f"known: {', '.join(sorted(ADVISORS))}")
    with open_read_only(db_url) as conn:
        version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        conn.rollback()
        served = served_schemas(conn)
        if schemas:
            exposed, source = tuple(schemas), "--schema"
        elif served:
            exposed, source = served, f"pgrst.db_schemas of role {POSTGREST_ROLE}"
        elif project is not None:
            exposed, source = project.config.api_schemas, "[api] schemas of supabase/config.toml"
        else:
            exposed, source = DEFAULT_API_SCHEMAS, "Supabase's default"
        findings = run_advisors(
            conn, exposed, only=only, disable=settings.disable, ignore=settings.ignore, live=True
        )
    return AdviseReport(
        redact(db_url), exposed, source, version, findings, fail_on, time.perf_counter() - started
    )
