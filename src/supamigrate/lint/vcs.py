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
from collections.abc import Iterable, Mapping
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


def files_at(directory: Path, ref: str, names: Iterable[str]) -> dict[str, bytes | None]:
    """The contents of ``names`` (paths relative to ``directory``) at git revision ``ref``, read in
    one ``git cat-file`` run; None for a name that revision does not hold."""
    wanted = list(names)
    if not wanted:
        return {}
    prefix = _git(directory, "rev-parse", "--show-prefix")
    if prefix.returncode != 0:
        raise ProjectError(f"git rev-parse failed in {directory}: {prefix.stderr.strip()}")
    request = "".join(f"{ref}:{prefix.stdout.strip()}{name}\n" for name in wanted).encode()
    proc = subprocess.run(
        ["git", "-C", str(directory), "cat-file", "--batch"], input=request, capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise ProjectError(f"git cat-file {ref} failed in {directory}: {proc.stderr.decode(errors='replace').strip()}")
    out: dict[str, bytes | None] = {}
    data, at = proc.stdout, 0
    for name in wanted:
        end = data.index(b"\n", at)
        header = data[at:end].split()
        at = end + 1
        if len(header) != 3 or header[1] != b"blob":  # "<object> missing", or a directory
            out[name] = None
            if len(header) == 3:
                at += int(header[2]) + 1
            continue
        size = int(header[2])
        out[name] = data[at : at + size]
        at += size + 1
    return out
