"""`make bench`: how fast supamigrate starts, isolates tests and applies migrations, side by side.

A benchmark, not a test: it prints a table, writes bench-results.json and compares with the
targets of the performance issue, but never fails a build. Medians over repeated runs.

  python bench/bench.py [--repeat N] [--sizes 10,100,1000] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from supamigrate.build import BASE, ProjectDatabase, ServerChoice, Target, build_database
from supamigrate.cache import Cache, default_root
from supamigrate.database import drop_database, unique_name
from supamigrate.lint import lint
from supamigrate.migrations import MigrationSet
from supamigrate.project import Project
from supamigrate.server import EphemeralServer, ServerOptions
from supamigrate.sql.text import SqlText

REPO = Path(__file__).resolve().parents[1]
TEST_BODY = "select count(*) from public.research_sessions"


def median_of(samples: list[float]) -> float:
    return statistics.median(samples) if samples else float("nan")


@contextlib.contextmanager
def scratch_cache() -> Iterator[Cache]:
    """An empty cache of its own where the default cache would be (RAM when /dev/shm allows),
    reachable by the server's OS user when we run as root."""
    where = default_root().parent
    root = Path(tempfile.mkdtemp(prefix="supamigrate-bench-", dir=where if where.is_dir() else None))
    root.chmod(0o711)
    try:
        yield Cache(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def session_start(project: Project, cache: Cache) -> tuple[float, ProjectDatabase]:
    """Time from nothing to the first test's first query: server, template, test database, connection."""
    t = time.perf_counter()
    ts = ProjectDatabase.start(project, server=ServerChoice(cache=cache))
    name = ts.take_spare("bench_test")
    with psycopg.connect(ts.server.conninfo(name, "postgres")) as conn:
        conn.execute(TEST_BODY).fetchone()
    return time.perf_counter() - t, ts


def bench_start(project: Project, repeat: int) -> dict[str, float]:
    cold: list[float] = []
    warm: list[float] = []
    for _ in range(repeat):
        with scratch_cache() as cache:
            seconds, ts = session_start(project, cache)
            cold.append(seconds)
            ts.stop()
            seconds, ts = session_start(project, cache)
            warm.append(seconds)
            ts.stop()
    return {"cold_start_s": median_of(cold), "warm_start_s": median_of(warm)}


def bench_process_start(repeat: int) -> dict[str, float]:
    """The same, as a user sees it: `pytest` from process start to the first test running."""
    probe = REPO / "bench" / "probe_first_test.py"
    results: dict[str, list[float]] = {"cold": [], "warm": []}
    for _ in range(repeat):
        with scratch_cache() as cache:
            env = {**os.environ, "SUPAMIGRATE_CACHE_DIR": str(cache.root)}
            for kind in ("cold", "warm"):
                with tempfile.NamedTemporaryFile("r", suffix=".t") as stamp:
                    env["BENCH_STAMP"] = stamp.name
                    t = time.time()
                    subprocess.run(
                        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(probe)],
                        cwd=REPO,
                        env=env,
                        check=True,
                        capture_output=True,
                    )
                    results[kind].append(float(Path(stamp.name).read_text()) - t)
    return {"process_cold_start_s": median_of(results["cold"]), "process_warm_start_s": median_of(results["warm"])}


class StockJanitor:
    """What pytest-postgresql 10's ``DatabaseJanitor`` runs around each test of its ``postgresql``
    fixture, statement for statement and connection for connection (supamigrate no longer installs
    pytest-postgresql): a database from the template on entry, dropped on exit."""

    def __init__(self, user: str, host: str, port: int, dbname: str, template: str) -> None:
        self.conninfo = make_conninfo(dbname="postgres", user=user, host=host, port=port)
        self.dbname, self.template = dbname, template

    def _terminate(self, conn: psycopg.Connection[Any], dbname: str) -> None:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))

    def __enter__(self) -> StockJanitor:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            self._terminate(conn, self.template)
            create = sql.SQL("CREATE DATABASE {} TEMPLATE {}")
            conn.execute(create.format(sql.Identifier(self.dbname), sql.Identifier(self.template)))
        return self

    def __exit__(self, *exc: object) -> None:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.dbname,)).fetchone() is None:
                return
            conn.execute(sql.SQL("ALTER DATABASE {} WITH allow_connections false").format(sql.Identifier(self.dbname)))
            self._terminate(conn, self.dbname)
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(self.dbname)))


# What a user waits for before anything runs, each with the yardstick the target compares it to.
IMPORT_PROBES: dict[str, list[str]] = {
    "help": [str(Path(sys.executable).with_name("supamigrate")), "--help"],
    "pytest_psycopg": [sys.executable, "-c", "import pytest, psycopg"],
    "plugin": [sys.executable, "-c", "import supamigrate.plugin"],
    "pytest_psycopg_pglast": [sys.executable, "-c", "import pytest, psycopg, pglast"],
}


def bench_imports(repeat: int) -> dict[str, float]:
    """Fresh processes, interleaved so that a busy moment hits every probe alike; medians.

    Bytecode is written and used as in an installed package (the first round only warms it).
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    samples: dict[str, list[float]] = {name: [] for name in IMPORT_PROBES}
    for round_ in range(repeat + 1):
        for name, argv in IMPORT_PROBES.items():
            t = time.perf_counter()
            subprocess.run(argv, env=env, check=True, capture_output=True)
            if round_:
                samples[name].append(time.perf_counter() - t)
    result = {f"{name}_s": median_of(times) for name, times in samples.items()}
    result["help_ratio"] = result["help_s"] / result["pytest_psycopg_s"]
    result["plugin_import_ratio"] = result["plugin_s"] / result["pytest_psycopg_pglast_s"]
    return result


def per_test(fn: Callable[[], None], n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t) / n


def bench_isolation(project: Project, repeat: int) -> dict[str, float]:
    """Per-test cost of each isolation flow, net of the test body itself."""
    with scratch_cache() as cache:
        ts = ProjectDatabase.start(project, server=ServerChoice(cache=cache))
        try:
            server = ts.server
            test_db = ts.take_spare("bench_test")
            conn = psycopg.connect(server.conninfo(test_db, "postgres"), prepare_threshold=None)

            def body() -> None:
                conn.execute(TEST_BODY).fetchone()

            def rollback_test() -> None:
                with conn.transaction(force_rollback=True):
                    conn.execute(TEST_BODY).fetchone()

            def clone_test() -> None:
                name = ts.clone("bench_clone")
                with psycopg.connect(server.conninfo(name, "postgres")) as c:
                    c.execute(TEST_BODY).fetchone()
                drop_database(server, name)

            # pytest-postgresql's stock flow: its `postgresql` fixture makes each test a database
            # from the template that `postgresql_proc(load=[...])` built, via DatabaseJanitor.
            host, port = str(server.socket_dir), server.port  # type: ignore[attr-defined]

            def stock_test() -> None:
                dbname = unique_name("bench_stock")
                janitor = StockJanitor(server.superuser, host, port, dbname, ts.database.dbname)
                with janitor, psycopg.connect(dbname=dbname, user="postgres", host=host, port=port) as c:
                    c.execute(TEST_BODY).fetchone()

            samples: dict[str, list[float]] = {"body": [], "rollback": [], "clone": [], "stock": []}
            for _ in range(repeat):
                samples["body"].append(per_test(body, 2000))
                samples["rollback"].append(per_test(rollback_test, 2000))
                samples["clone"].append(per_test(clone_test, 10))
                samples["stock"].append(per_test(stock_test, 10))
            conn.close()
            drop_database(server, test_db)
        finally:
            ts.stop()
    b = median_of(samples["body"])
    return {
        "test_body_ms": b * 1e3,
        "rollback_overhead_ms": (median_of(samples["rollback"]) - b) * 1e3,
        "clone_overhead_ms": (median_of(samples["clone"]) - b) * 1e3,
        "stock_overhead_ms": (median_of(samples["stock"]) - b) * 1e3,
    }


def _backend_cpu_s(pid: int) -> float:
    """CPU seconds a local server backend has used (utime + stime of /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_smoke(project: Project, repeat: int) -> dict[str, float]:
    """The smoke step as ``check`` runs it on this project: a connection as postgres, then every
    request in a rolled-back transaction. The first run in the process (what one ``check`` pays:
    the password hash, the settable settings) apart from the median of the next ones; and the
    CPU a run costs (server backend + client), which a loaded machine does not inflate."""
    from supamigrate.smoke import run_smoke

    with scratch_cache() as cache:
        ts = ProjectDatabase.start(project, server=ServerChoice(cache=cache))
        try:
            name = ts.take_spare("bench_smoke")
            samples: list[float] = []
            for _ in range(1 + 3 * repeat):
                t = time.perf_counter()
                with psycopg.connect(ts.server.conninfo(name, "postgres")) as conn:
                    found = run_smoke(conn, project)
                samples.append(time.perf_counter() - t)
                assert found == [], found
            runs = 10 * repeat
            with psycopg.connect(ts.server.conninfo(name, "postgres")) as conn:
                server0, client0 = _backend_cpu_s(conn.info.backend_pid), time.process_time()
                for _ in range(runs):
                    run_smoke(conn, project)
                cpu = _backend_cpu_s(conn.info.backend_pid) - server0 + time.process_time() - client0
            drop_database(ts.server, name)
        finally:
            ts.stop()
    return {
        "smoke_first_ms": samples[0] * 1e3,
        "smoke_ms": median_of(samples[1:]) * 1e3,
        "smoke_cpu_ms": cpu / runs * 1e3,
    }


def generated_project(root: Path, count: int) -> Project:
    """A project of ``count`` migrations shaped like real ones: a table, index, RLS and a policy each.

    Every tenth table belongs to auth.users, the others to the table before them: a thousand foreign
    keys into auth.users would measure PostgreSQL's trigger bookkeeping on that one table instead.
    """
    mig = root / "supabase" / "migrations"
    mig.mkdir(parents=True)
    (root / "supabase" / "config.toml").write_text('project_id = "bench"\n[db]\nmajor_version = 15\n')
    for i in range(count):
        parent = "auth.users (id)" if i % 10 == 0 else f"public.t{i - 1} (id)"
        owner_type = "uuid" if i % 10 == 0 else "bigint"
        (mig / f"{20240101000000 + i}_table_{i}.sql").write_text(
            f"-- migration {i}\n"
            f"create table public.t{i} (\n  id bigint generated always as identity primary key,\n"
            f"  owner {owner_type} not null references {parent} on delete cascade,\n"
            f"  name text not null,\n  created_at timestamptz not null default now()\n);\n"
            f"create index t{i}_owner_idx on public.t{i} (owner);\n"
            f"alter table public.t{i} enable row level security;\n"
            f'create policy "own rows" on public.t{i} for select to authenticated\n'
            f"  using ({'owner = (select auth.uid())' if i % 10 == 0 else 'true'});\n"
        )
    return Project.load(root)


def bench_apply(sizes: list[int], repeat: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with scratch_cache() as cache, tempfile.TemporaryDirectory() as tmp:
        # A working database on the cached stubbed cluster, as `check` has; the timed builds copy its base.
        base = ProjectDatabase.start(
            Project.load(REPO), target=Target.WORKING, server=ServerChoice(cache=cache), seed=False
        )
        try:
            for size in sizes:
                project = generated_project(Path(tmp) / f"p{size}", size)
                mset = MigrationSet.discover(project.migrations_dir)
                applies: list[float] = []
                for _ in range(repeat if size < 1000 else max(1, repeat // 2)):
                    name = unique_name("bench_apply")
                    t = time.perf_counter()
                    build_database(base.server, name, project, migrations=mset, template=BASE, seed=False)
                    applies.append(time.perf_counter() - t)
                    drop_database(base.server, name)
                row = {"apply_s": median_of(applies)}
                row.update(bench_lint(project, repeat))
                results[str(size)] = row
        finally:
            base.stop()
    return results


def bench_lint(project: Project, repeat: int) -> dict[str, float]:
    """Lint with sqlfluff from scratch (no result cache), then again with its cache warm."""
    cold, warm = [], []
    for _ in range(max(1, repeat // 2)):
        t = time.perf_counter()
        lint(project, cache=False)
        cold.append(time.perf_counter() - t)
    lint(project)  # fill the cache
    for _ in range(max(1, repeat // 2)):
        t = time.perf_counter()
        lint(project)
        warm.append(time.perf_counter() - t)
    return {"lint_s": median_of(cold), "lint_cached_s": median_of(warm)}


def bench_initdb(repeat: int) -> dict[str, float]:
    """initdb alone, run the way the server runs it: a yardstick of this machine's speed right now."""
    samples = []
    for _ in range(repeat):
        with scratch_cache() as cache:
            server = EphemeralServer(ServerOptions(tmp_root=cache.runs))
            cache.prepare()
            t = time.perf_counter()
            server.start()
            samples.append(time.perf_counter() - t)
            server.stop()
    return {"server_start_with_initdb_s": median_of(samples)}


def _split(text: str) -> object:
    return SqlText(text).statements()


def _str_split(text: str) -> object:
    return [piece.strip() for piece in text.split(";")]


def bench_split(repeat: int, sizes: tuple[int, int] = (10_000, 100_000)) -> dict[str, float]:
    """Split seed-like files of one-line INSERTs (as `supabase db dump --data-only` writes them).

    Next to it, a yardstick for what linear costs on this machine: ``str.split`` on ';' of the
    same text, keeping each stripped piece (between these sizes the data leaves the CPU caches,
    so even that takes more than 10x). CPU time and the best of the runs: the work is
    single-threaded, and on a shared machine the wall clock would measure the neighbours.
    """

    def best(fn: Callable[[], object]) -> float:
        samples = []
        for _ in range(max(3, repeat)):
            t = time.process_time()
            fn()
            samples.append(time.process_time() - t)
        return min(samples)

    result: dict[str, float] = {}
    for size in sizes:
        text = "".join(f"insert into public.t (id, name) values ({i}, 'row; {i}');\n" for i in range(size))
        result[f"split_{size}_s"] = best(functools.partial(_split, text))
        result[f"str_split_{size}_s"] = best(functools.partial(_str_split, text))
    small, large = sizes
    result["split_ratio"] = result[f"split_{large}_s"] / result[f"split_{small}_s"]
    result["str_split_ratio"] = result[f"str_split_{large}_s"] / result[f"str_split_{small}_s"]
    return result


TARGETS: list[tuple[str, str, Callable[[dict[str, Any]], bool]]] = [
    ("rollback overhead <= 1 ms per test", "rollback_overhead_ms", lambda r: r["rollback_overhead_ms"] <= 1.0),
    ("rollback >= 30x cheaper than the stock flow", "stock_ratio", lambda r: r["stock_ratio"] >= 30),
    ("warm start <= 0.3 s", "warm_start_s", lambda r: r["warm_start_s"] <= 0.3),
    ("warm start >= 3x faster than cold", "cold_warm_ratio", lambda r: r["cold_warm_ratio"] >= 3),
    ("cold start <= 1.5 s", "cold_start_s", lambda r: r["cold_start_s"] <= 1.5),
    ("1,000 migrations applied in <= 5 s", "apply_1000_s", lambda r: r.get("apply_1000_s", float("inf")) <= 5),
    (
        "10x the statements split in ~10x the time (no worse than str.split, +25%)",
        "split_ratio",
        lambda r: r["split_ratio"] <= max(10.0, r["str_split_ratio"]) * 1.25,
    ),
    ("smoke step (connect + every request, rolled back) <= 50 ms", "smoke_ms", lambda r: r["smoke_ms"] <= 50),
    ("`supamigrate --help` <= `import pytest, psycopg`", "help_ratio", lambda r: r["help_ratio"] <= 1.0),
    ("`import supamigrate.plugin` <= 1.2x `import pytest, psycopg, pglast`", "plugin_import_ratio",
     lambda r: r["plugin_import_ratio"] <= 1.2),
]


def machine() -> str:
    cpu = "unknown cpu"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="10,100,1000")
    parser.add_argument("--json", type=Path, default=REPO / "bench-results.json")
    args = parser.parse_args()
    project = Project.load(REPO)
    sizes = [int(s) for s in args.sizes.split(",") if s]

    results: dict[str, Any] = {"machine": machine()}
    print(f"machine: {results['machine']}", flush=True)
    results.update(bench_imports(max(11, 3 * args.repeat)))
    results.update(bench_initdb(max(3, args.repeat // 2)))
    results.update(bench_start(project, args.repeat))
    results.update(bench_process_start(max(1, args.repeat // 2)))
    results.update(bench_isolation(project, max(3, args.repeat // 2)))
    results.update(bench_smoke(project, args.repeat))
    results["apply"] = bench_apply(sizes, args.repeat)
    results.update(bench_split(args.repeat))
    results["stock_ratio"] = results["stock_overhead_ms"] / max(results["rollback_overhead_ms"], 1e-6)
    results["cold_warm_ratio"] = results["cold_start_s"] / results["warm_start_s"]
    if "1000" in results["apply"]:
        results["apply_1000_s"] = results["apply"]["1000"]["apply_s"]

    rows = [
        ("yardstick: initdb + server start alone", f"{results['server_start_with_initdb_s']:.3f} s"),
        ("cold start to first test (no cache)", f"{results['cold_start_s']:.3f} s"),
        ("warm start to first test (cache hit)", f"{results['warm_start_s']:.3f} s"),
        ("  same, whole `pytest` process, cold", f"{results['process_cold_start_s']:.3f} s"),
        ("  same, whole `pytest` process, warm", f"{results['process_warm_start_s']:.3f} s"),
        ("per-test overhead: rollback (db fixture)", f"{results['rollback_overhead_ms']:.3f} ms"),
        ("per-test overhead: template clone (fresh_db)", f"{results['clone_overhead_ms']:.1f} ms"),
        ("per-test overhead: pytest-postgresql stock flow", f"{results['stock_overhead_ms']:.1f} ms"),
        ("stock flow / rollback", f"{results['stock_ratio']:.0f}x"),
        (
            "smoke step: connect + every request (first in process; CPU, server + client)",
            f"{results['smoke_ms']:.1f} ms ({results['smoke_first_ms']:.1f} ms; {results['smoke_cpu_ms']:.1f} ms)",
        ),
        ("cold / warm start", f"{results['cold_warm_ratio']:.1f}x"),
        (
            "`supamigrate --help` / `import pytest, psycopg`",
            f"{results['help_s'] * 1e3:.0f} ms / {results['pytest_psycopg_s'] * 1e3:.0f} ms"
            f" ({results['help_ratio']:.2f}x)",
        ),
        (
            "`import supamigrate.plugin` / `import pytest, psycopg, pglast`",
            f"{results['plugin_s'] * 1e3:.0f} ms / {results['pytest_psycopg_pglast_s'] * 1e3:.0f} ms"
            f" ({results['plugin_import_ratio']:.2f}x)",
        ),
    ]
    for size, row in results["apply"].items():
        per = row["apply_s"] / int(size) * 1e3
        rows.append((f"apply {size} migrations", f"{row['apply_s']:.2f} s ({per:.2f} ms each)"))
        rows.append(
            (
                f"lint {size} migrations (sqlfluff cold / cached)",
                f"{row['lint_s']:.2f} s / {row['lint_cached_s']:.2f} s",
            )
        )
    rows.append(
        (
            "split 10,000 / 100,000 one-line statements (CPU)",
            f"{results['split_10000_s']:.3f} s / {results['split_100000_s']:.2f} s"
            f" ({results['split_ratio']:.1f}x; str.split: {results['str_split_ratio']:.1f}x)",
        )
    )
    width = max(len(r[0]) for r in rows)
    print("\n| measure | median |\n|---|---|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")
    print("\ntargets:")
    results["targets"] = {}
    for label, key, ok in TARGETS:
        if key not in results:  # e.g. --sizes without 1000
            print(f"  [not measured] {label}")
            continue
        met = ok(results)
        results["targets"][label] = met
        print(f"  [{'met' if met else 'MISSED'}] {label}")
    args.json.write_text(json.dumps(results, indent=2))
    print(f"\nwritten to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
