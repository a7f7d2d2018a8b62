"""sqlfluff over the project's SQL files, through its Python API, in parallel across files.

The configuration is sqlfluff's own: ``.sqlfluff`` files from the project root down to each file.
A project without any gets the bundled Supabase settings (``supabase.sqlfluff``, see
``defaults.py``). Every file asked for must come back linted: one sqlfluff skipped
(``large_file_skip_byte_limit``) or failed on is a finding, and so is SQL it cannot parse
(``PRS``), with its line. Each finding keeps sqlfluff's own level (a rule listed in ``warnings =``
is a warning); ``linter.py`` decides what a sqlfluff finding counts as in the report.

A run can be cancelled (``check`` does when a migration fails): files not linted yet are left out
and the run says how many in ``SqlfluffRun.unfinished``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import sqlfluff
from sqlfluff.core import FluffConfig, Linter, SQLBaseError

from .. import __version__
from ..digest import digest
from ..findings import Finding, Level
from .defaults import CONFIG_FILES, config_dirs, own_sqlfluff_config, sqlfluff_defaults_path
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


def load_config(root: Path, *, bundled: bool = False) -> FluffConfig:
    """sqlfluff's configuration for files under ``root``, with our defaults where it has none.

    With ``bundled``, the bundled Supabase settings are read on top (the project has none of its
    own). Parse, template and lex errors are never filtered out: an ``ignore`` naming them is dropped.
    """
    extra = str(sqlfluff_defaults_path()) if bundled else None
    config = FluffConfig.from_path(str(root), extra_config_path=extra, require_dialect=False)
    overrides: ConfigMappingType = {}
    if config.get("dialect") is None:
        overrides.update(DEFAULTS)
    ignore = config.get("ignore")
    ignored = {str(i).strip() for i in (ignore if isinstance(ignore, list) else str(ignore or "").split(","))}
    if ignored & UNREADABLE_TYPES:
        kept = ",".join(sorted(i for i in ignored - UNREADABLE_TYPES if i))
        overrides["ignore"] = kept or None
    return FluffConfig.from_path(str(root), extra_config_path=extra, overrides=overrides) if overrides else config


class _SizeSkipFilter(logging.Filter):
    """Drops sqlfluff's log line about a file skipped for its size: the SKIP finding reports it,
    with its file and the setting to change (the log line points at a config file that may not
    exist, and goes to stderr beside the report)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Skipping to avoid parser lock" not in record.getMessage()


logging.getLogger("sqlfluff.linter").addFilter(_SizeSkipFilter())

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


@dataclass
class SqlfluffRun:
    """What one sqlfluff run found, and how many files it did not lint (it was cancelled)."""

    findings: list[Finding] = field(default_factory=list)
    unfinished: list[Path] = field(default_factory=list)


def uses_bundled_defaults(paths: Sequence[Path]) -> bool:
    """Whether sqlfluff gets the bundled settings for ``paths``: the project configures none."""
    return not own_sqlfluff_config(paths)


def run_sqlfluff(
    paths: Sequence[Path],
    *,
    root: Path,
    jobs: int | None = None,
    bundled: bool | None = None,
    cancel: threading.Event | None = None,
) -> list[Finding]:
    """Lint ``paths`` with sqlfluff; findings carry ``source="sqlfluff"`` and sqlfluff's rule code.

    ``bundled``: read the bundled Supabase settings (default: when the project has none).
    Files are spread over worker processes forked from this one, so each starts with sqlfluff
    already imported and its dialect loaded (sqlfluff's own pool spawns fresh interpreters that
    import everything again, which on two cores costs more than it saves).
    """
    return run_sqlfluff_cancellable(paths, root=root, jobs=jobs, bundled=bundled, cancel=cancel).findings


def run_sqlfluff_cancellable(
    paths: Sequence[Path],
    *,
    root: Path,
    jobs: int | None = None,
    bundled: bool | None = None,
    cancel: threading.Event | None = None,
) -> SqlfluffRun:
    """``run_sqlfluff``, stopping soon after ``cancel`` is set: workers are terminated, and the
    files not linted by then are ``unfinished``. With ``cancel``, even one file is linted in a
    worker process, so that a slow file does not hold the caller up."""
    global _worker_linter
    run = SqlfluffRun()
    if not paths:
        return run
    if cancel is not None and cancel.is_set():
        run.unfinished = list(paths)
        return run
    wanted = {str(p.resolve()): p for p in paths}
    if bundled is None:
        bundled = uses_bundled_defaults(paths)
    linter = Linter(config=load_config(root, bundled=bundled))
    processes = default_processes(len(wanted), jobs)
    results: dict[str, tuple[str, list[Finding]] | None] = {}
    forked = sys.platform.startswith("linux") and (processes > 1 or cancel is not None)
    _worker_linter = linter
    try:
        if forked:
            linter.lint_string("select 1\n")  # load the dialect once, before the workers fork
            results = _in_workers(list(wanted), processes, cancel)
        else:
            results = {p: _lint_file(p) for p in wanted}
    finally:
        _worker_linter = None
    linted: set[str] = set()
    for item in results.values():
        if item is not None:
            linted.add(item[0])
            run.findings.extend(_moved(f, wanted[item[0]]) for f in item[1])
    for key, path in wanted.items():
        if key in linted:
            continue
        if key not in results:  # cancelled before sqlfluff got to it
            run.unfinished.append(path)
            continue
        run.findings.append(
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
    return run


def _in_workers(
    paths: list[str], processes: int, cancel: threading.Event | None
) -> dict[str, tuple[str, list[Finding]] | None]:
    """``_lint_file`` over ``paths`` in forked workers, by path; on ``cancel`` the workers are
    terminated and the results so far returned (``None``: a file sqlfluff skipped)."""
    done: queue.Queue[tuple[str, tuple[str, list[Finding]] | None]] = queue.Queue()
    results: dict[str, tuple[str, list[Finding]] | None] = {}
    pool = multiprocessing.get_context("fork").Pool(processes, initializer=_worker_signals)
    try:
        for path in paths:
            pool.apply_async(
                _lint_file,
                (path,),
                callback=lambda r, p=path: done.put((p, r)),  # type: ignore[misc]
                error_callback=lambda e, p=path: done.put((p, _failed(p, e))),  # type: ignore[misc]
            )
        pool.close()
        while len(results) < len(paths):
            if cancel is not None and cancel.is_set():
                break
            try:
                path, result = done.get(timeout=0.05)
            except queue.Empty:
                continue
            results[path] = result
    finally:
        pool.terminate()  # kills workers still linting when cancelled; a no-op for finished ones
        pool.join()
    return results


def _worker_signals() -> None:
    """A worker ends quietly when terminated and leaves Ctrl-C to its parent (which stops it):
    the parent's handlers, inherited by the fork, would turn either into a traceback here."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _failed(path: str, exc: BaseException) -> tuple[str, list[Finding]]:
    message = f"sqlfluff failed on this file: {type(exc).__name__}: {exc}"
    return path, [at(Path(path), 1, 1, "SKIP", message, source="sqlfluff")]


def _config_files_for(directory: Path) -> list[Path]:
    """The config files sqlfluff may read for a file in ``directory``.

    sqlfluff reads the user's config (home and its config directory) and every directory from where
    it was started down to the file: a ``.sqlfluff`` above the project root (a monorepo's, or the
    repository's around a test project) decides the verdict too. Every directory from ``/`` down
    is taken, which can only cost an extra miss, never a stale hit.
    """
    return [d / name for d in config_dirs(directory) for name in CONFIG_FILES if (d / name).is_file()]


def _config_fingerprint(root: Path, path: Path, seen: dict[Path, list[str | bytes]] | None = None) -> list[str | bytes]:
    """Everything besides the file that decides sqlfluff's verdict on it: versions and config files.

    Config files under the project root are named relative to it, so a clone elsewhere hits the
    same entries; those outside it by their absolute path. ``seen`` keeps one answer per directory.
    """
    directory = path.resolve().parent
    if seen is not None and directory in seen:
        return seen[directory]
    top = root.resolve()
    # The bundled settings are part of every key: they apply whenever the project has none.
    parts: list[str | bytes] = [sqlfluff.__version__, __version__, sqlfluff_defaults_path().read_bytes()]
    for f in _config_files_for(directory):
        label = f.relative_to(top).as_posix() if f.is_relative_to(top) else str(f)
        parts += [label, f.read_bytes()]
    if seen is not None:
        seen[directory] = parts
    return parts


def run_sqlfluff_cached(
    paths: Sequence[Path],
    *,
    root: Path,
    jobs: int | None = None,
    cache_dir: Path | None = None,
    cancel: threading.Event | None = None,
) -> SqlfluffRun:
    """``run_sqlfluff_cancellable``, remembering each file's findings by its content and sqlfluff's
    config. sqlfluff takes about a second for a handful of files; an unchanged file is not linted
    again. A cancelled run still returns every cached file's findings."""
    bundled = uses_bundled_defaults(paths)
    if cache_dir is None:
        return run_sqlfluff_cancellable(paths, root=root, jobs=jobs, bundled=bundled, cancel=cancel)
    seen: dict[Path, list[str | bytes]] = {}
    # Whether the bundled settings apply depends on every file's directories, not only this one's.
    mode = "bundled" if bundled else "own"
    keys = {
        p: cache_dir / f"{digest([*_config_fingerprint(root, p, seen), mode, p.read_bytes()])}.json" for p in paths
    }
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
    run = run_sqlfluff_cancellable(missing, root=root, jobs=jobs, bundled=bundled, cancel=cancel)
    fresh = run.findings
    findings += fresh
    unfinished = set(run.unfinished)
    with contextlib.suppress(OSError):
        cache_dir.mkdir(parents=True, exist_ok=True)
        for path in missing:
            if path in unfinished:
                continue
            rows = [
                {"line": file_of(f).line, "column": file_of(f).column, "rule": f.code, "message": f.message,
                 "level": f.level, "fix": f.hint}
                for f in fresh
                if file_of(f).path == path
            ]
            tmp = keys[path].with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(rows))
            tmp.replace(keys[path])  # atomic: a reader sees a whole entry or none
    return SqlfluffRun(findings, run.unfinished)
