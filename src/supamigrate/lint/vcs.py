"""Which migration files are new: those absent from a git revision (``HEAD`` by default).

A file counts as new when the migrations directory at the base revision does not hold it: an
untracked file, or one added since that revision. Locally the base is ``HEAD`` (what you are
about to commit); in CI it is the commit before the push (``--since``). Outside a git work tree,
or where git is not installed, no file is known to be new and the ordering rule does not apply.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from ..errors import ProjectError


def _git(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-C", str(directory), *args],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def names_at(directory: Path, ref: str) -> frozenset[str] | None:
    """File names in ``directory`` at git revision ``ref``; None when that cannot be known.

    A repository without commits has an empty ``HEAD``. Any other revision git does not know is a
    ProjectError, so that a mistyped ``--since`` does not pass silently.
    """
    if shutil.which("git") is None or not directory.is_dir():
        return None
    inside = _git(directory, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return None
    if _git(directory, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
        if ref == "HEAD":
            return frozenset()
        raise ProjectError(
            f"unknown git revision {ref!r} (given as the base for new migrations)",
            hint="pass a commit, branch or tag that exists here (`git fetch` it first in CI)",
        )
    listed = _git(directory, "ls-tree", "--name-only", ref, "--", ".")
    if listed.returncode != 0:
        raise ProjectError(f"git ls-tree {ref} failed in {directory}: {listed.stderr.strip()}")
    return frozenset(line for line in listed.stdout.splitlines() if line)


def ci_base(directory: Path, environ: Mapping[str, str] | None = None) -> str | None:
    """The base revision of the pull or merge request CI is running, when git here has it.

    A clean CI checkout has every migration committed, so ``HEAD`` would call none of them new and
    a pull request adding a bad migration would pass. GitHub Actions names the base branch of a
    pull request (``GITHUB_BASE_REF``), GitLab the merge request's base commit
    (``CI_MERGE_REQUEST_DIFF_BASE_SHA``); ``--since`` and ``[lint] baseline`` still win.
    """
    env = os.environ if environ is None else environ
    candidates = []
    if env.get("GITHUB_BASE_REF"):
        candidates.append(f"origin/{env['GITHUB_BASE_REF']}")
    if env.get("CI_MERGE_REQUEST_DIFF_BASE_SHA"):
        candidates.append(env["CI_MERGE_REQUEST_DIFF_BASE_SHA"])
    if not candidates or shutil.which("git") is None or not directory.is_dir():
        return None
    for ref in candidates:
        if _git(directory, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode == 0:
            return ref
    return None
