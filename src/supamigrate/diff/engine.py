"""The diff engine: Supabase's pg-delta (``@supabase/pg-delta`` on npm), run as its CLI.

``pgdelta plan --profile supabase`` reads both catalogs and writes a plan: ordered actions, each
with its SQL and the objects it produces, consumes and destroys, and the deltas (what differs, by
object id). We read the plan's JSON rather than its rendered SQL, so post-processing works on
actions and the drift finding can name objects. Why pg-delta and not migra and its successors:
the README's "diff" section.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SupamigrateError

# The version `make setup` installs and the README's evaluation was made on.
PGDELTA_PACKAGE = "@supabase/pg-delta@1.0.0-alpha.34"
PROFILE = "supabase"
PLAN_TIMEOUT_S = 300
INSTALL_HINT = (
    f"install it: `npm install --prefix .venv/node {PGDELTA_PACKAGE}` (what `make setup` does),"
    " or point --pgdelta / SUPAMIGRATE_PGDELTA at a pgdelta executable; it needs node 20 or later"
)


class DiffError(SupamigrateError):
    """The diff engine is missing, failed, or what it wrote does not take us to the declared schema."""


@dataclass(frozen=True)
class Action:
    """One statement of a plan and the objects (pg-delta ids) it touches."""

    sql: str
    verb: str
    produces: tuple[Mapping[str, Any], ...] = ()
    consumes: tuple[Mapping[str, Any], ...] = ()
    destroys: tuple[Mapping[str, Any], ...] = ()
    data_loss: str = "none"

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Action:
        return cls(
            sql=str(raw["sql"]).strip().rstrip(";"),
            verb=str(raw.get("verb", "")),
            produces=tuple(raw.get("produces") or ()),
            consumes=tuple(raw.get("consumes") or ()),
            destroys=tuple(raw.get("destroys") or ()),
            data_loss=str(raw.get("dataLoss", "none")),
        )


@dataclass(frozen=True)
class Delta:
    """One difference the engine found: ``add``, ``remove`` or ``alter`` of an object."""

    verb: str
    id: Mapping[str, Any]
    attr: str | None = None  # what a ``set`` changes (a column's type, a function's body)

    @property
    def name(self) -> str:
        return object_name(self.id) + (f" ({self.attr})" if self.attr else "")


@dataclass(frozen=True)
class Plan:
    """What the engine says takes the source database to the desired one."""

    actions: tuple[Action, ...] = ()
    deltas: tuple[Delta, ...] = ()
    preamble: tuple[tuple[str, str], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> Plan:
        deltas = []
        for d in raw.get("deltas") or ():
            # add / remove carry the fact, set its id and attribute; link / unlink are the
            # dependency edges between facts, not objects of their own.
            fact = d.get("fact")
            ident = fact.get("id") if isinstance(fact, Mapping) else d.get("id")
            if isinstance(ident, Mapping):
                attr = d.get("attr")
                deltas.append(Delta(str(d.get("verb", "")), ident, str(attr) if attr else None))
        return cls(
            actions=tuple(Action.of(a) for a in raw.get("actions") or ()),
            deltas=tuple(deltas),
            preamble=tuple((str(p["name"]), str(p["value"])) for p in raw.get("preamble") or ()),
            raw=raw,
        )


_PLAIN = re.compile(r"[a-z_][a-z0-9_$]*")


def _ident(name: str) -> str:
    return name if _PLAIN.fullmatch(name) else '"' + name.replace('"', '""') + '"'


def object_name(ident: Mapping[str, Any]) -> str:
    """A pg-delta object id as a report names it: ``table public.notes``, ``policy public.t."p"``."""
    kind = str(ident.get("kind", "?"))
    if kind == "acl" or kind == "comment":
        target = ident.get("target")
        inner = object_name(target) if isinstance(target, Mapping) else "?"
        grantee = ident.get("grantee")
        return f"{kind} on {inner}" + (f" for {grantee}" if grantee else "")
    parts = [_ident(str(ident[k])) for k in ("schema", "table", "name") if ident.get(k) is not None]
    if kind in ("function", "procedure", "aggregate") and "args" in ident:
        parts[-1] += "(" + ", ".join(str(a) for a in ident.get("args") or ()) + ")"
    if kind == "publicationRel":
        kind = "publication table"
    return f"{kind} {'.'.join(parts)}" if parts else kind


def find_pgdelta(explicit: Path | None, project_root: Path | None = None) -> list[str]:
    """The command that runs pg-delta: ``explicit``, else ``pgdelta`` on PATH, else the one
    ``make setup`` installs beside this Python (``<venv>/node/node_modules/.bin``), else the
    project's own ``node_modules``. A DiffError with the install command when none is there."""
    if explicit is not None:
        if not explicit.exists():
            raise DiffError(f"pgdelta not found at {explicit}", hint=INSTALL_HINT)
        return [str(explicit)]
    on_path = shutil.which("pgdelta")
    if on_path:
        return [on_path]
    places = [Path(sys.prefix) / "node" / "node_modules" / ".bin" / "pgdelta"]
    if project_root is not None:
        places.append(project_root / "node_modules" / ".bin" / "pgdelta")
    for place in places:
        if place.exists():
            return [str(place)]
    raise DiffError("the diff engine pg-delta is not installed", hint=INSTALL_HINT)


def plan(command: Sequence[str], source_url: str, desired_url: str, *, profile: str = PROFILE) -> Plan:
    """Run ``pgdelta plan`` from ``source_url`` to ``desired_url`` (TCP URLs: pg-delta takes no socket)."""
    with tempfile.TemporaryDirectory(prefix="supamigrate-diff-") as tmp:
        out = Path(tmp) / "plan.json"
        argv = [*command, "plan", "--source", source_url, "--desired", desired_url, "--profile", profile,
                "--renames", "off", "--out", str(out)]
        env = {**os.environ, "NO_COLOR": "1"}
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=PLAN_TIMEOUT_S, env=env, check=False)
        except FileNotFoundError as exc:
            raise DiffError(f"could not run pg-delta: {exc}", hint=INSTALL_HINT) from None
        except subprocess.TimeoutExpired:
            raise DiffError(f"pg-delta did not finish in {PLAN_TIMEOUT_S} s") from None
        if done.returncode != 0 or not out.is_file():
            said = [line for line in (done.stderr + done.stdout).splitlines() if "WARNING" not in line]
            raise DiffError(
                "pg-delta failed: " + ("\n".join(said[-15:]).strip() or f"exit status {done.returncode}"),
                hint="run it by hand with the same arguments to see all it says: " + " ".join(argv[:2]),
            )
        return Plan.of(json.loads(out.read_text(encoding="utf-8")))
