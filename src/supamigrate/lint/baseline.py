"""The baseline: which migrations production has applied already, and what that does to findings.

An applied migration cannot be edited (``supabase db push`` would see a changed file), so a
finding that only an edit of it could fix must not fail every run. Rules that judge how a
migration was written (``AUTHORING``) and sqlfluff's findings are held back on applied migrations
and counted in one info line; the syntax error (SB000), the rules on the whole set (RLS, file
names, the sign-up trap SB018: a later migration fixes those) and anything that breaks the apply
still fail everywhere. ``--all`` judges every migration.

Which migrations are applied, in this order:

1. ``--since REV``: the migrations the git revision REV holds (CI passes the base of the push);
2. ``[lint] baseline = "<version>"`` in supamigrate.toml: that version and the ones before it
   (``supamigrate baseline`` writes the newest version there);
3. in CI, the base of the pull request when git has it (``vcs.ci_base``);
4. the migrations git's ``HEAD`` holds (what is committed; what you are about to commit is new);
5. outside a git work tree, with no baseline: none. Every migration is judged as new, and the
   report says so when that makes a difference.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import ProjectError
from ..findings import Finding, Level
from ..migrations import MigrationListing, _version_key
from ..project import Project
from ..toolconfig import TOOL_CONFIG
from .findings import file_of
from .vcs import ci_base, names_at

# Rules that judge how a migration was written: fixing one means editing the migration.
AUTHORING = frozenset(
    {
        "SB001", "SB002", "SB003",
        "SB006", "SB007", "SB008", "SB009", "SB010",
        "SB014", "SB015", "SB016", "SB017",
        "SB019", "SB020", "SB021", "SB022", "SB023",
        "SB024", "SB025", "SB026", "SB027", "SB028",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Baseline:
    """The migrations counted as applied, and what says so (``committed in HEAD``, ...);
    ``known`` is false when nothing could tell (no git work tree, no baseline)."""

    applied: frozenset[Path]
    source: str
    known: bool = True
    # The git revision the applied migrations were read from (None: [lint] baseline, or unknown).
    revision: str | None = None


def baseline_of(
    project: Project, listing: MigrationListing, new_in_git: frozenset[Path] | None, ref: str, *, since: str | None
) -> Baseline:
    """The applied migrations of ``listing``, by the order in this module's docstring.

    ``new_in_git`` holds the migrations not in git revision ``ref`` (None outside a work tree).
    """
    paths = [m.path.resolve() for m in listing.migrations]
    if since is None and project.tool.lint.baseline is not None:
        version = project.tool.lint.baseline
        applied = frozenset(
            m.path.resolve() for m in listing.migrations if _version_key(m.version) <= _version_key(version)
        )
        return Baseline(applied, f'up to [lint] baseline = "{version}"')
    if new_in_git is not None:
        new = {p.resolve() for p in new_in_git}
        return Baseline(frozenset(p for p in paths if p not in new), f"committed in {ref}", revision=ref)
    return Baseline(frozenset(), "", known=False)


def is_held_back(finding: Finding, baseline: Baseline) -> bool:
    """Whether ``finding`` is one only an edit of an applied migration could fix."""
    if finding.code not in AUTHORING and finding.source != "sqlfluff":
        return False
    return file_of(finding).path.resolve() in baseline.applied


def summary(held: Sequence[Finding], baseline: Baseline) -> Finding:
    """The one info line that counts the held-back findings."""
    files = len({file_of(f).path.resolve() for f in held})
    found = f"{len(held)} finding{'s' if len(held) != 1 else ''}"
    migrations = f"{files} applied migration{'s' if files != 1 else ''}"
    return Finding(
        Level.INFO,
        "baseline",
        f"{found} in {migrations} ({baseline.source}), see --all",
        hint="applied migrations cannot be edited; fix what matters in a new migration",
    )


UNKNOWN_BASELINE = (
    "every migration is judged as new: this is not a git work tree and supamigrate.toml sets no"
    " [lint] baseline"
)


def unknown_note() -> Finding:
    """The info line saying that no migration is known to be applied (and how to say which are)."""
    return Finding(
        Level.INFO,
        "baseline",
        UNKNOWN_BASELINE,
        hint="run `supamigrate baseline` to mark the migrations production has applied, or pass --since REV",
    )


# -- `supamigrate baseline` ----------------------------------------------------------------------


def newest_version(project: Project) -> str:
    """The version of the newest migration file; a ProjectError when there is none."""
    listing = MigrationListing.of(project.migrations_dir)
    if not listing.migrations:
        raise ProjectError(
            f"no migrations in {project.migrations_dir}", hint="there is nothing to mark as applied yet"
        )
    return max((m.version for m in listing.migrations), key=_version_key)


_SECTION = re.compile(r"^\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$")
_BASELINE_KEY = re.compile(r"^\s*baseline\s*=")


def set_baseline(text: str, version: str) -> str:
    """``text`` (a supamigrate.toml) with ``[lint] baseline = "<version>"``, everything else kept:
    the key's line replaced, or added at the top of ``[lint]``, or a ``[lint]`` section appended."""
    lines = text.splitlines(keepends=True)
    entry = f'baseline = "{version}"\n'
    section: str | None = None
    header: int | None = None
    for i, line in enumerate(lines):
        m = _SECTION.match(line)
        if m and not line.lstrip().startswith("[["):
            section = m.group(1)
            if section == "lint":
                header = i
            continue
        if section == "lint" and _BASELINE_KEY.match(line):
            lines[i] = entry
            return "".join(lines)
    if header is not None:
        lines.insert(header + 1, entry)
        return "".join(lines)
    prefix = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
    return text + prefix + "[lint]\n" + entry


def write_baseline(project: Project, version: str | None = None) -> tuple[Path, str, str | None]:
    """Write ``[lint] baseline`` (the newest migration's version by default) into the project's
    supamigrate.toml, keeping the rest of the file. Returns the file, the version, the one before."""
    version = version or newest_version(project)
    if not version.isdigit():
        raise ProjectError(
            f"invalid migration version {version!r}", hint="a version is the digits before _ in a file name"
        )
    path = project.root / TOOL_CONFIG
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    previous = project.tool.lint.baseline
    updated = set_baseline(text, version)
    try:
        written = tomllib.loads(updated).get("lint", {}).get("baseline")
    except tomllib.TOMLDecodeError:
        written = None
    if written != version:  # a layout this editor does not understand: touch nothing
        raise ProjectError(
            f"{path}: could not set [lint] baseline",
            hint=f'add `baseline = "{version}"` under [lint] yourself',
        )
    path.write_text(updated, encoding="utf-8")
    return path, version, previous


def given_or_ci_base(project: Project, since: str | None) -> str | None:
    """``since``, else (without ``[lint] baseline``) the base of the pull request CI runs, if any."""
    if since is None and project.tool.lint.baseline is None:
        return ci_base(project.migrations_dir)
    return since


def resolve_baseline(project: Project, listing: MigrationListing, *, since: str | None) -> Baseline:
    """The baseline as ``lint`` resolves it (``--since``, ``[lint] baseline``, the CI base, ``HEAD``;
    see this module's docstring)."""
    since = given_or_ci_base(project, since)
    ref = since or "HEAD"
    base = names_at(project.migrations_dir, ref)
    new = None if base is None else frozenset(m.path for m in listing.migrations if m.path.name not in base)
    return baseline_of(project, listing, new, ref, since=since)
