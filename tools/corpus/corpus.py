"""Run a supamigrate build over the corpus of public Supabase projects and tabulate the results.

    python tools/corpus/corpus.py export --corpus DIR [--git-dirs TEMPLATE]
    python tools/corpus/corpus.py run --corpus DIR --supamigrate PATH --out DIR [--timeout S] [NAME...]
    python tools/corpus/corpus.py table OUT_DIR [--title TEXT]

``projects.tsv`` (beside this file) lists the projects: name, repository, commit, the path of the
directory holding ``supabase/`` inside the repository, notes. ``export`` writes each project's
``supabase/`` folder, and nothing else, to ``DIR/<name>/supabase``; ``run`` builds each with the
given console script as its team would (``check --format json``, then the pgTAP files through the
build's pytest plugin) and writes ``OUT/<name>.json`` plus the raw outputs; ``table`` prints the
markdown table of an ``OUT`` directory. Their code is never committed: only the list, the scripts
and the tables of results.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECTS_TSV = HERE / "projects.tsv"
# The CLI's migration file pattern (pkg/migration/list.go): others are skipped with a warning.
MIGRATION_NAME = re.compile(r"^([0-9]+)_(.*)\.sql$")
# `error: <path>:<line>:<col>: [SQLSTATE ]message` as supamigrate prints a failing statement.
ERROR_LINE = re.compile(
    r"^(?:supamigrate \w+: )?error: (?P<path>[^:\n]+):(?P<line>\d+)(?::(?P<col>\d+))?: "
    r"(?:(?P<state>[0-9A-Z]{5}) )?(?P<message>.*)$"
)
PLAN = re.compile(r"\bplan\s*\(\s*(\d+)\s*\)", re.IGNORECASE)
# Comments, so that a plan(n) in a usage example is not counted (nested /* */ is rare in tests).
SQL_COMMENT = re.compile(r"/\*.*?\*/|--[^\n]*", re.DOTALL)
MAJOR = re.compile(r"^\s*major_version\s*=\s*(\d+)", re.MULTILINE)
CREATE_EXTENSION = re.compile(r'create\s+extension\s+(?:if\s+not\s+exists\s+)?"?([a-z0-9_-]+)"?', re.IGNORECASE)
SHIM_NAMES = "from supamigrate.platform.extensions import shim_names; print(' '.join(shim_names()))"


@dataclass(frozen=True)
class Entry:
    """One line of projects.tsv."""

    name: str
    repository: str
    commit: str
    path: str
    notes: str


def load_projects(tsv: Path = PROJECTS_TSV) -> list[Entry]:
    """The projects of the list, in its order (``#`` lines are comments)."""
    entries = []
    for line in tsv.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 5:
            raise SystemExit(f"{tsv}: expected 5 tab-separated columns, got {len(cols)}: {line!r}")
        entries.append(Entry(*cols))
    return entries


@dataclass
class PgTap:
    """pgTAP as the build's pytest plugin ran it."""

    files: int = 0
    files_passed: int = 0
    files_failed: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    planned: int = 0
    first_failure: str = ""
    timed_out: bool = False


@dataclass
class Result:
    """What one build did with one project."""

    name: str
    repository: str
    commit: str
    major_version: str
    migrations_total: int
    migrations_applied: int | None = None
    seed: str = "none"  # none | applied | failed | not reached | skipped
    check_rc: int | None = None
    check_timed_out: bool = False
    check_json: bool = False  # whether check printed its JSON report
    findings: dict[str, int] = field(default_factory=dict)
    top_errors: list[str] = field(default_factory=list)
    failure: str = ""  # file:line SQLSTATE message of the first statement that failed
    failure_stage: str = ""  # migration | seed | other
    pgtap: PgTap | None = None
    shims: list[str] = field(default_factory=list)  # written to supamigrate.toml (run --shims)
    seconds: float = 0.0


def migration_files(project: Path) -> list[str]:
    folder = project / "supabase" / "migrations"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and MIGRATION_NAME.match(p.name))


def seed_files(project: Path) -> list[Path]:
    # The CLI's default sql_paths is ./seed.sql; projects that set others are rare in the corpus.
    return sorted((project / "supabase").glob("seed*.sql"))


def test_files(project: Path) -> list[Path]:
    folder = project / "supabase" / "tests"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".sql", ".pg"))


def extensions_created(project: Path) -> set[str]:
    """The extensions the project's migrations and seed create (as written, lower case)."""
    names: set[str] = set()
    for path in [*(project / "supabase" / "migrations").glob("*.sql"), *seed_files(project)]:
        names.update(n.lower() for n in CREATE_EXTENSION.findall(path.read_text(encoding="utf-8", errors="replace")))
    return names


def build_shims(sm: Path) -> set[str]:
    """The shims the build offers (``supamigrate.platform.extensions.shim_names``)."""
    proc = subprocess.run([str(sm.parent / "python"), "-c", SHIM_NAMES], capture_output=True, text=True, check=False)
    return set(proc.stdout.split()) if proc.returncode == 0 else set()


def shimmed_copy(project: Path, target: Path, shims: list[str]) -> Path:
    """A copy of the project with a supamigrate.toml switching ``shims`` on, and nothing else changed."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(project, target, symlinks=True)
    listed = ", ".join(f'"{n}"' for n in shims)
    (target / "supamigrate.toml").write_text(f"[platform]\nshims = [{listed}]\n", encoding="utf-8")
    return target


def _relative(path: str, project: Path) -> str:
    return path.replace(f"{project}/", "")


def parse_failure(stderr: str, project: Path) -> tuple[str, str, str]:
    """(file:line SQLSTATE message, the failing file, stage) of the first error line of ``stderr``."""
    for line in stderr.splitlines():
        m = ERROR_LINE.match(line)
        if m:
            path = _relative(m["path"], project)
            state = f" {m['state']}" if m["state"] else ""
            stage = "migration" if "/migrations/" in f"/{path}" else "seed" if "seed" in path else "other"
            return f"{path}:{m['line']}{state} {m['message']}", path, stage
    for line in stderr.splitlines():
        if line.startswith(("error:", "supamigrate check: error:")) or "Traceback" in line:
            return _relative(line.strip(), project)[:300], "", "other"
    return "", "", ""


def run_check(
    sm: Path, project: Path, raw: Path, timeout: float, env: dict[str, str], result: Result, pg_bin: str | None
) -> None:
    cmd = ["nice", "timeout", "--kill-after=30", str(int(timeout)), str(sm), "check", "--format", "json",
           "--project-dir", str(project)]
    if pg_bin:
        cmd += ["--pg-bin", pg_bin]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    (raw / "check.out").write_text(proc.stdout, encoding="utf-8")
    (raw / "check.err").write_text(proc.stderr, encoding="utf-8")
    result.check_rc = proc.returncode
    result.check_timed_out = proc.returncode in (124, 137)
    report: dict[str, Any] | None = None
    try:
        loaded = json.loads(proc.stdout) if proc.stdout.strip() else None
        report = loaded if isinstance(loaded, dict) else None
    except json.JSONDecodeError:
        report = None
    migrations = migration_files(project)
    seeds = seed_files(project)
    failure, failed_file, stage = parse_failure(proc.stderr, project)
    if report is not None:
        result.check_json = True
        findings = [f for f in report.get("findings", []) if isinstance(f, dict)]
        result.findings = dict(Counter(str(f.get("level")) for f in findings))
        errors = Counter(str(f.get("code")) for f in findings if f.get("level") == "error")
        result.top_errors = [f"{code} x{n}" for code, n in errors.most_common(3)]
        if "applied" in report:
            result.migrations_applied = len(report["applied"])
        if report.get("seeded"):
            result.seed = "applied"
        # A build that names its failure in the JSON (newer builds) wins over stderr.
        for key in ("failure", "error"):
            value = report.get(key)
            if isinstance(value, dict) and not failure:
                where = value.get("where") or value.get("file") or ""
                if value.get("file") and value.get("line"):
                    where = f"{value['file']}:{value['line']}"
                parts = (where, value.get("sqlstate") or "", value.get("message") or "")
                failure = " ".join(str(x) for x in parts if x)
                failed_file = str(value.get("file") or "")
                stage = "migration" if "migrations/" in failed_file else "seed" if "seed" in failed_file else "other"
    result.failure, result.failure_stage = failure, stage
    seeded = bool(report and report.get("seeded"))
    if stage == "migration":
        name = Path(failed_file).name
        result.migrations_applied = migrations.index(name) if name in migrations else result.migrations_applied
        result.seed = "not reached" if seeds else "none"
    elif stage == "seed":
        result.migrations_applied = len(migrations)
        result.seed = "failed"
    else:
        if result.migrations_applied is None and not failure and proc.returncode in (0, 1):
            result.migrations_applied = len(migrations)
        result.seed = "applied" if seeded else "not run" if seeds else "none"


def planned(path: Path) -> int:
    """The assertions a pgTAP file plans: the sum of its ``plan(n)`` outside comments."""
    text = SQL_COMMENT.sub("", path.read_text(encoding="utf-8", errors="replace"))
    return sum(int(n) for n in PLAN.findall(text))


def run_pgtap(sm: Path, project: Path, raw: Path, timeout: float, env: dict[str, str], pg_bin: str | None) -> PgTap:
    files = test_files(project)
    tap = PgTap(files=len(files))
    tap.planned = sum(planned(f) for f in files)
    rows_path = raw / "pgtap.jsonl"
    rows_path.unlink(missing_ok=True)
    python = sm.parent / "python"
    tap_env = dict(env, CORPUS_TAP_OUT=str(rows_path), PYTHONPATH=str(HERE))
    cmd = ["nice", "timeout", "--kill-after=30", str(int(timeout)), str(python), "-m", "pytest", "-p", "tap_counts",
           "-p", "no:cacheprovider", "-q", "--rootdir", str(project), "--supamigrate-project-dir", str(project),
           str(project / "supabase" / "tests")]
    if pg_bin:
        cmd[-1:-1] = ["--supamigrate-pg-bin", pg_bin]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=tap_env, cwd=project, check=False)
    (raw / "pgtap.out").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    tap.timed_out = proc.returncode in (124, 137)
    rows = [json.loads(line) for line in rows_path.read_text().splitlines()] if rows_path.exists() else []
    for row in rows:
        if row["subtest"]:
            if row["outcome"] == "passed":
                tap.passed += 1
            elif row["outcome"] == "failed":
                tap.failed += 1
            else:
                tap.skipped += 1
        elif row["when"] == "call" or row["outcome"] == "failed":
            if row["outcome"] == "passed":
                tap.files_passed += 1
            elif row["outcome"] == "failed":
                tap.files_failed += 1
        if row["outcome"] == "failed" and not tap.first_failure and row["message"]:
            tap.first_failure = row["message"]
    if not rows and proc.returncode not in (0, 5):
        tail = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
        tap.first_failure = tail[-1][:300] if tail else f"pytest exited {proc.returncode}"
    return tap


def run(args: argparse.Namespace) -> int:
    corpus = Path(args.corpus).resolve()
    out = Path(args.out).resolve()
    sm = Path(args.supamigrate).absolute()
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, SUPAMIGRATE_CACHE_DIR=str(out / "cache"))
    env.pop("SUPAMIGRATE_PROJECT_DIR", None)
    wanted = set(args.names)
    offered = build_shims(sm) if args.shims else set()
    for entry in load_projects():
        if wanted and entry.name not in wanted:
            continue
        project = corpus / entry.name
        if not (project / "supabase").is_dir():
            print(f"{entry.name}: not exported (run `corpus.py export`)", file=sys.stderr)
            continue
        shims = sorted(extensions_created(project) & offered)
        if shims:
            project = shimmed_copy(project, out / "projects" / entry.name, shims)
        config = project / "supabase" / "config.toml"
        major = MAJOR.search(config.read_text(encoding="utf-8")) if config.exists() else None
        result = Result(entry.name, entry.repository, entry.commit, major[1] if major else "-",
                        len(migration_files(project)), shims=shims)
        raw = out / entry.name
        raw.mkdir(exist_ok=True)
        started = time.monotonic()
        run_check(sm, project, raw, args.timeout, env, result, args.pg_bin)
        if test_files(project):
            if result.failure_stage in ("migration", "seed") or result.check_timed_out:
                files = test_files(project)
                result.pgtap = PgTap(files=len(files), planned=sum(planned(f) for f in files),
                                     first_failure="not run: the build failed")
            else:
                result.pgtap = run_pgtap(sm, project, raw, args.timeout, env, args.pg_bin)
        result.seconds = round(time.monotonic() - started, 1)
        (out / f"{entry.name}.json").write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
        print(f"{entry.name}: {row(result)}", flush=True)
    shutil.rmtree(out / "cache", ignore_errors=True)
    shutil.rmtree(out / "projects", ignore_errors=True)
    return 0


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def pgtap_cell(tap: PgTap | None) -> str:
    if tap is None:
        return "-"
    if tap.first_failure.startswith("not run"):
        return f"not run ({tap.files} files, {tap.planned} planned)"
    text = f"{tap.passed}/{tap.failed}/{tap.planned}"
    text += f" ({tap.files_passed}/{tap.files} files ok)"
    return text + (" TIMEOUT" if tap.timed_out else "")


def row(r: Result, with_shims: bool = False) -> str:
    applied = "?" if r.migrations_applied is None else str(r.migrations_applied)
    findings = " ".join(f"{r.findings.get(k, 0)}{k[0].upper()}" for k in ("error", "warning", "info"))
    findings = findings if r.check_json else "no JSON"
    rc = "timeout" if r.check_timed_out else str(r.check_rc)
    first = r.failure
    if not first and r.pgtap and r.pgtap.first_failure and not r.pgtap.first_failure.startswith("not run"):
        first = f"pgTAP: {r.pgtap.first_failure}"
    cells = [
        r.name, r.major_version, f"{applied}/{r.migrations_total}", r.seed, pgtap_cell(r.pgtap),
        f"{rc} ({findings})", ", ".join(r.top_errors) or "-", first or "-",
    ]
    if with_shims:
        cells.insert(2, ", ".join(r.shims) or "-")
    return " | ".join(_cell(c) for c in cells)


def load_results(out: Path) -> list[Result]:
    results = []
    order = {e.name: i for i, e in enumerate(load_projects())}
    for path in sorted(out.glob("*.json"), key=lambda p: (order.get(p.stem, len(order)), p.stem)):
        data = json.loads(path.read_text(encoding="utf-8"))
        tap = data.pop("pgtap")
        result = Result(**data, pgtap=PgTap(**tap) if tap else None)
        result.top_errors = [e.replace("\u00d7", " x") for e in result.top_errors]  # runs before 0f72045
        results.append(result)
    return results


def table(args: argparse.Namespace) -> int:
    results = load_results(Path(args.out))
    print(f"### {args.title}\n" if args.title else "")
    with_shims = any(r.shims for r in results)
    print("| project | PG |" + (" shims |" if with_shims else "") + " migrations applied | seed "
          "| pgTAP passed/failed/planned | check exit (E W I) | top error codes "
          "| first failure (file:line SQLSTATE message) |")
    print("|---" * (9 if with_shims else 8) + "|")
    for r in results:
        print(f"| {row(r, with_shims)} |")
    total = len(results)
    full = sum(1 for r in results if r.migrations_applied == r.migrations_total and not r.failure)
    zero = sum(1 for r in results if r.check_rc == 0)
    print(f"\n{total} projects: {full} apply every migration (and seed), `check` exits 0 on {zero}.")
    return 0


def export(args: argparse.Namespace) -> int:
    corpus = Path(args.corpus).resolve()
    corpus.mkdir(parents=True, exist_ok=True)
    wanted = set(args.names)
    for entry in load_projects():
        if wanted and entry.name not in wanted:
            continue
        owner, name = entry.repository.split("/", 1)
        git_dir = Path(args.git_dirs.format(owner=owner, name=name, repository=entry.repository))
        if not git_dir.exists():
            print(f"{entry.name}: no git directory {git_dir} (e.g. `git clone --bare "
                  f"https://github.com/{entry.repository} {git_dir}`)", file=sys.stderr)
            continue
        sub = "supabase" if entry.path == "." else f"{entry.path}/supabase"
        target = corpus / entry.name
        shutil.rmtree(target, ignore_errors=True)
        with tempfile.TemporaryDirectory(dir=corpus) as tmp:
            archive = subprocess.run(["git", f"--git-dir={git_dir}", "archive", entry.commit, sub],
                                     capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
            target.mkdir()
            (Path(tmp) / sub).rename(target / "supabase")
        # A project lives in a git work tree with its migrations committed: what a build that tells
        # new migrations from applied ones by git (`--since`, default HEAD) meets in a real checkout.
        git = ["git", "-C", str(target), "-c", "user.name=corpus", "-c", "user.email=corpus@localhost"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", f"{entry.repository}@{entry.commit} {sub}"], check=True)
        print(f"{entry.name}: {len(migration_files(target))} migrations, {len(test_files(target))} test files")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("export", help="write each project's supabase/ folder to CORPUS/<name>/")
    p.add_argument("--corpus", required=True)
    p.add_argument("--git-dirs", default="/work/.mirror/{owner}+{name}/repo",
                   help="where each repository's git directory is ({owner}, {name}, {repository})")
    p.add_argument("names", nargs="*")
    p.set_defaults(func=export)
    p = sub.add_parser("run", help="run one build over the exported projects")
    p.add_argument("--corpus", required=True)
    p.add_argument("--supamigrate", required=True, help="the build's console script, e.g. .venv/bin/supamigrate")
    p.add_argument("--out", required=True, help="results directory (one JSON and raw outputs per project)")
    p.add_argument("--timeout", type=float, default=600, help="seconds per command and project (default 600)")
    p.add_argument("--shims", action="store_true",
                   help="switch on, in a copy's supamigrate.toml, every shim of the build the project's SQL creates")
    p.add_argument("--pg-bin", help="server binaries to build with (check --pg-bin, pytest --supamigrate-pg-bin)")
    p.add_argument("names", nargs="*", help="only these projects")
    p.set_defaults(func=run)
    p = sub.add_parser("table", help="print the markdown table of a results directory")
    p.add_argument("out")
    p.add_argument("--title", default="")
    p.set_defaults(func=table)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
