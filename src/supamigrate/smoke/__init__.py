"""Platform smoke: the requests Supabase's services make, run against the built database.

``REQUESTS`` is the registry, in the order they run: the auth requests, the Data API's, then
storage's and realtime's. ``run_smoke`` runs them in one transaction it rolls back: first the auth
service signs up the run's user, then every request runs in a savepoint that is rolled back too,
so each starts from the seed plus that user. A refused request is an error ``Finding``: what the
service answers, the SQL error, the culprit at its migration file:line, and the fix.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg

from ..auth import create_user
from ..findings import FileLocation, Finding, Level
from ..project import Project
from ..toolconfig import SmokeSection
from .auth import AUTH_REQUESTS, sign_up_email
from .locate import Locator
from .postgrest import POSTGREST_REQUESTS
from .realtime import REALTIME_REQUESTS
from .requests import SmokeContext, SmokeError, SmokeFailure, SmokeRequest
from .storage import STORAGE_REQUESTS

REQUESTS: list[SmokeRequest] = [*AUTH_REQUESTS, *POSTGREST_REQUESTS, *STORAGE_REQUESTS, *REALTIME_REQUESTS]



_SAVEPOINT = "supamigrate_smoke_request"

SERVICES = {"auth": "Supabase Auth", "storage": "Storage", "realtime": "Realtime", "postgrest": "PostgREST"}


def request_names() -> list[str]:
    """The names ``[smoke] disable`` accepts."""
    return [r.name for r in REQUESTS]


def off_by_config(project: Project) -> set[str]:
    """Requests config.toml turns off: phone sign-up unless ``[auth.sms] enable_signup``,
    anonymous sign-in unless ``[auth] enable_anonymous_sign_ins`` (the CLI's defaults: off),
    e-mail sign-up when ``[auth.email] enable_signup = false``."""
    auth: dict[str, Any] = project.config.raw.get("auth") or {}
    off = set()
    if not (auth.get("sms") or {}).get("enable_signup", False):
        off.add("sign_up_phone")
    if not auth.get("enable_anonymous_sign_ins", False):
        off.add("sign_in_anonymous")
    if not (auth.get("email") or {}).get("enable_signup", True):
        off.update({"sign_up_email", "confirm_email"})
    return off


def _finding(failure: SmokeFailure, service: str, locator: Locator) -> Finding:
    error = failure.error
    below, detail, state = "", None, None
    if isinstance(error, psycopg.Error):
        state = error.sqlstate
        below = f": {state} {error.diag.message_primary or str(error).strip()}"
        said = (("DETAIL", error.diag.message_detail), ("CONTEXT", error.diag.context))
        detail = "\n".join(f"{name}: {text.strip()}" for name, text in said if text) or None
    elif error is not None and error.message != failure.service_error:  # said once, not twice
        below = f": {error.message}"
    culprit = f" ({failure.culprit})" if failure.culprit else ""
    level, hint = (Level.WARNING if failure.doubtful else Level.ERROR), failure.fix
    if service == "storage" and state is not None and state.startswith("22"):
        # A data exception inside a policy: it could not read the made-up object path (a policy
        # casting the file name to a uuid, say), which says more about the path than the policy.
        level = Level.WARNING
        hint = (f"the policies could not read the smoke's object path ({state}): set [smoke] storage_path to"
                " a path your app uploads to, e.g. \"{user_id}/avatar.png\"")
    return Finding(
        level,
        "smoke",
        f'{failure.request}: {SERVICES.get(service, service)} answers "{failure.service_error}"{below}{culprit}',
        locator.locate(failure.culprit),
        hint=hint,
        detail=detail,
        source="smoke",
        extras={"request": failure.request, "service": service, "sqlstate": state, "culprit": failure.culprit},
    )


def in_production(findings: Iterable[Finding], applied: frozenset[Path], root: Path) -> list[Finding]:
    """The findings, those whose culprit an applied migration made as warnings: production has
    that trap today, and no edit of that file will fix it (``check`` judges them as ``lint``
    judges the applied migrations; ``--all`` keeps them errors)."""
    judged = []
    for f in findings:
        where = f.location
        made = isinstance(where, FileLocation) and (root / where.path).resolve() in applied
        if made and f.level is Level.ERROR:
            f = dataclasses.replace(f, level=Level.WARNING, hint=f"{f.hint} (the culprit is in an applied migration,"
                                    " so production has this trap today: fix it in a new migration)")
        judged.append(f)
    return judged


def _add(findings: list[Finding], found: Finding) -> None:
    """Add ``found``, or name its request in an earlier finding that says the same (confirm_email
    signs up too, so a sign-up trap refuses both)."""
    _, _, said = found.message.partition(": ")
    for i, f in enumerate(findings):
        names, _, earlier = f.message.partition(": ")
        if (f.where, f.hint, earlier) == (found.where, found.hint, said):
            requests = [*f.extras.get("requests", [f.extras["request"]]), found.extras["request"]]
            findings[i] = dataclasses.replace(
                f, message=f"{names}, {found.extras['request']}: {said}", extras={**f.extras, "requests": requests}
            )
            return
    findings.append(found)


def run_smoke(
    conn: psycopg.Connection,
    project: Project,
    section: SmokeSection | None = None,
    *,
    requests: Iterable[SmokeRequest] | None = None,
    timings: dict[str, float] | None = None,
) -> list[Finding]:
    """Run the smoke requests on ``conn`` (connected as ``postgres`` to the built database) and
    roll everything back; the findings of the refused ones. ``section`` is ``[smoke]`` (the
    project's when None); ``timings`` gets each request's seconds."""
    section = section if section is not None else project.tool.smoke
    if not section.enabled:
        return []
    chosen = list(REQUESTS if requests is None else requests)
    project.tool.require_known("smoke", "disable", section.disable, request_names(), "requests")
    off = set(section.disable) | off_by_config(project)
    options: dict[str, Any] = {
        "email": section.email, "phone": section.phone, "user_metadata": section.user_metadata,
        "rpc": section.rpc, "api_schemas": project.config.api_schemas,
    }
    # Storage's and realtime's keys only when set: their modules hold the defaults.
    where = {"storage_buckets": list(section.storage_buckets) or None, "storage_path": section.storage_path,
             "realtime_topic": section.realtime_topic}
    options.update({k: v for k, v in where.items() if v is not None})
    locator = Locator(project)
    findings: list[Finding] = []
    with conn.transaction(force_rollback=True):
        # The run's user: signed up by the sign_up_email request itself (kept, not rolled back),
        # or inserted directly when that request is off.
        user = None
        signs_up = "sign_up_email" not in off and any(r.name == "sign_up_email" for r in chosen)
        started = time.perf_counter()
        try:
            if signs_up:
                user = sign_up_email(conn, options)
            else:
                with conn.transaction():
                    user = create_user(conn, section.email, user_metadata=section.user_metadata)
        except SmokeError as exc:
            _add(findings, _finding(exc.failure, "auth", locator))
        except psycopg.Error:
            user = None  # the seed-like insert itself failed: the requests needing a user do nothing
        if signs_up and timings is not None:
            timings["sign_up_email"] = time.perf_counter() - started
        ctx = SmokeContext(conn, user, options)
        # One savepoint, rolled back to after every request (it stays established), so each
        # request starts from the seed plus the run's user: one round trip a request.
        conn.execute(f"SAVEPOINT {_SAVEPOINT}")
        for request in chosen:
            if request.name in off or (signs_up and request.name == "sign_up_email") or not request.applies(conn):
                continue
            started = time.perf_counter()
            try:
                request.run(ctx)
            except SmokeError as exc:
                _add(findings, _finding(exc.failure, request.service, locator))
            except psycopg.Error as exc:  # a request that broke rather than was refused
                findings.append(_finding(
                    SmokeFailure(request.name, "an error the smoke request did not expect", exc, None,
                                 "report it: the request itself failed"), request.service, locator))
            finally:
                conn.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
            if timings is not None:
                timings[request.name] = time.perf_counter() - started
    return findings


__all__ = [
    "REQUESTS", "SmokeContext", "SmokeError", "SmokeFailure", "SmokeRequest", "in_production", "request_names",
    "run_smoke",
]
