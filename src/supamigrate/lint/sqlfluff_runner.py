"""sqlfluff over the project's SQL files, through its Python API, in parallel across files.

The configuration is sqlfluff's own: ``.sqlfluff`` files from the project root down to each file.
A project without one gets the postgres dialect and the raw templater. Every file asked for must
come back linted: one sqlfluff skipped (``large_file_skip_byte_limit``) or failed on is a finding,
and so is SQL it cannot parse (``PRS``), with its line.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import sqlfluff
from sqlfluff.core import FluffConfig, Linter, SQLBaseError

from .. import __version__
from ..digest import digest
from ..findings import Finding, Level
from .findings import at, file_of

if TYPE_CHECKING:
    from sqlfluff.core.types import ConfigMappingType

# Fewer files than this lint in this process: forking workers costs more than it saves.
PARALLEL_MIN_FILES = 4

DEFAULTS = {"dialect": "postgres", "templater": "raw"}
# Violations sqlfluff raises for a file it could not read through; never filtered by `ignore`.
UNREADABLE = {"PRS", "TMP", "LXR"}
UNREADABLE_TYPES = {"parsing", "templating", "lexing"}

PARSE_FIX = (
    "if PostgreSQL accepts the statement (no SB000 on it), sqlfluff's postgres dialect lacks the"
    " syntax: rewrite it (e.g. quote a dotted setting name) or end the line with `-- noqa: PRS`"
)
SKIP_FIX = "set large_file_skip_byte_limit = 0 in .sqlfluff so that no file is skipped"


def default_processes(files: int, jobs: int | None = None) -> int:
    """Worker processes for ``files`` files: ``jobs`` if given, else one per CPU when it pays."""
    if jobs is not None:
        return max(1, min(jobs, files))
    if files < PARALLEL_MIN_FILES:
        return 1
    return max(1, min(os.cpu_count() or 1, files))


def load_config(root: Path) -> FluffConfig:
    """sqlfluff's configuration for files under ``root``, with our defaults where it has none.

    Parse, template and lex errors are never filtered out: an ``ignore`` naming them is dropped.
    """
    config = FluffConfig.from_path(str(root), require_dialect=False)
    overrides: ConfigMappingType = {}
    if config.get("dialect") is None:
        overrides.update(DEFAULTS)
    ignore = config.get("ignore")
    ignored = {str(i).strip() for i in (ignore if isinstance(ignore, list) else str(ignore or "").split(","))}
    if ignored & UNREADABLE_TYPES:
        kept = ",".join(sorted(i for i in ignored - UNREADABLE_TYPES if i))
        overrides["ignore"] = kept or None
    return FluffConfig.from_path(str(root), overrides=overrides) if overrides else config


# The linter a forked worker inherits from its parent (set just before the pool starts).
_worker_linter: Linter | None = None


def _lint_file(path: str) -> tuple[str, list[Finding]] | None:
    """Lint one file with the inherited linter; None when sqlfluff returned nothing for it."""
    assert _worker_linter is not None
    try:
        result = _worker_linter.lint_paths((path,), ignore_files=False, processes=1)
    except Exception as exc:  # a sqlfluff bug on one file must not hide the others' findings
        message = f"sqlfluff failed on this file: {type(exc).__name__}: {exc}"
        return path, [at(Path(path), 1, 1, "SKIP", message, source="sqlfluff")]
    for linted_dir in result.paths:
        for linted_file in linted_dir.files:
            return path, _findings(Path(path), linted_file.get_violations(filter_ignore=True, filter_warning=False))
    return None


def _findings(path: Path, violations: Sequence[SQLBaseError]) -> list[Finding]:
    findings = []
    for v in violations:
        code = v.rule_code()
        findings.append(
            at(
                path,
                v.line_no or 1,
                v.line_pos or 1,
                code,
                v.desc(),
                level=Level.WARNING if v.warning and code not in UNREADABLE else Level.ERROR,
                source="sqlfluff",
                fix=PARSE_FIX if code in UNREADABLE else None,
            )
        )
    return findings


def _moved(finding: Finding, path: Path) -> Finding:
    """``finding`` placed in ``path`` (the path as asked for, not as a worker resolved it)."""
    place = file_of(finding)
    return finding if place.path == path else replace(finding, location=replace(place, path=path))


def run_sqlfluff(paths: Sequence[Path], *, root: Path, jobs: int | None = None) -> list[Finding]:
    """Lint ``paths`` with sqlfluff; findings carry ``source="sqlfluff"`` and sqlfluff's rule code.

    Files are spread over worker processes forked from this one, so each starts with sqlfluff
    already imported and its dialect loaded (sqlfluff's own pool spawns fresh interpreters that
    import everything again, which on two cores costs more than it saves).
    """
    global _worker_linter
    if not paths:
        return []
    wanted = {str(p.resolve()): p for p in paths}
    linter = Linter(config=load_config(root))
    processes = default_processes(len(wanted), jobs)
    results: list[tuple[str, list[Finding]] | None]
    _worker_linter = linter
    try:
        if processes > 1 and sys.platform.startswith("linux"):
            linter.lint_string("select 1\n")  # load the dialect once, before the workers fork
            with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork")) as pool:
                results = list(pool.map(_lint_file, wanted))
        else:
            results = [_lint_file(p) for p in wanted]
    finally:
        _worker_linter = None
    findings: list[Finding] = []
    linted: set[str] = set()
    for item in results:
        if item is not None:
            linted.add(item[0])
            findings.extend(_moved(f, wanted[item[0]]) for f in item[1])
    for key, path in wanted.items():
        if key not in linted:
            findings.append(
                at(
                    path,
                    1,
                    1,
                    "SKIP",
                    "sqlfluff did not lint this file (skipped for its size, or it failed on it)",
                    source="sqlfluff",
                    fix=SKIP_FIX,
                )
            )
    return findings


_CONFIG_FILES = (".sqlfluff", ".sqlfluffignore", "setup.cfg", "tox.ini", "pyproject.toml")


def _config_files_for(directory: Path) -> list[Path]:
    """The config files sqlfluff may read for a file in ``directory``.

    sqlfluff reads the user's config (home and its config directory) and every directory from where
    it was started down to the file: a ``.sqlfluff`` above the project root (a monorepo's, or the
    repository's around a test project) decides the verdict too. Every directory from ``/`` down
    is taken, which can only cost an extra miss, never a stale hit.
    """
    home = Path.home()
    user = [home, Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config") / "sqlfluff"]
    dirs = [*user, *reversed(directory.parents), directory]
    return [d / name for d in dirs for name in _CONFIG_FILES if (d / name).is_file()]


def _config_fingerprint(root: Path, path: Path, seen: dict[Path, list[str | bytes]] | None = None) -> list[str | bytes]:
    """Everything besides the file that decides sqlfluff's verdict on it: versions and config files.

    Config files under the project root are named relative to it, so a clone elsewhere hits the
    same entries; those outside it by their absolute path. ``seen`` keeps one answer per directory.
    """
    directory = path.resolve().parent
    if seen is not None and directory in seen:
        return seen[directory]
    top = root.resolve()
    parts: list[str | bytes] = [sqlfluff.__version__, __version__]
    for f in _config_files_for(directory):
        label = f.relative_to(top).as_posix() if f.is_relative_to(top) else str(f)
        parts += [label, f.read_bytes()]
    if seen is not None:
        seen[directory] = parts
    return parts


def run_sqlfluff_cached(
    paths: Sequence[Path], *, root: Path, jobs: int | None = None, cache_dir: Path | None = None
) -> list[Finding]:
    """``run_sqlfluff``, remembering each file's findings by its content and sqlfluff's config.

    sqlfluff takes about a second for a handful of files; an unchanged file is not linted again.
    """
    if cache_dir is None:
        return run_sqlfluff(paths, root=root, jobs=jobs)
    seen: dict[Path, list[str | bytes]] = {}
    keys = {p: cache_dir / f"{digest([*_config_fingerprint(root, p, seen), p.read_bytes()])}.json" for p in paths}
    findings: list[Finding] = []
    missing = []
    for path, entry in keys.items():
        try:
            rows = json.loads(entry.read_text())
        except (OSError, ValueError):
            missing.append(path)
            continue
        findings += [
            at(path, r["line"], r["column"], r["rule"], r["message"], level=Level(r["level"]), source="sqlfluff",
               fix=r["fix"])
            for r in rows
        ]
    fresh = run_sqlfluff(missing, root=root, jobs=jobs)
    findings += fresh
    with contextlib.suppress(OSError):
        cache_dir.mkdir(parents=True, exist_ok=True)
        for path in missing:
            rows = [
                {"line": file_of(f).line, "column": file_of(f).column, "rule": f.code, "message": f.message,
                 "level": f.level, "fix": f.hint}
                for f in fresh
                if file_of(f).path == path
            ]
            tmp = keys[path].with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(rows))
            tmp.replace(keys[path])  # atomic: a reader sees a whole entry or none
    return findings
