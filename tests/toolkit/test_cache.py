"""The cluster cache: hits when nothing changed, one rebuild per change, nothing half-built reused."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from supamigrate.build import ProjectDatabase, ServerChoice
from supamigrate.cache import Cache
from supamigrate.cli import run
from supamigrate.database import connect
from supamigrate.project import Project
from supamigrate.server import leftovers

from .conftest import ProjectFactory

FIRST = {"1_a.sql": "create table public.a (id int primary key);\nalter table public.a enable row level security;\n"}


def start(project: Project, cache: Cache) -> ProjectDatabase:
    return ProjectDatabase.start(project, server=ServerChoice(cache=cache))


def test_a_second_start_is_a_hit_and_a_changed_migration_rebuilds_once(
    make_project: ProjectFactory, shared_tmp: Path
) -> None:
    cache = Cache(shared_tmp / "cache")
    project = make_project(dict(FIRST))
    hits = []
    for _ in range(2):
        ts = start(project, cache)
        hits.append(ts.cache_hit)
        ts.stop()
    (project.migrations_dir / "2_b.sql").write_text("create table public.b (id int primary key);\n")
    for _ in range(2):
        ts = start(project, cache)
        hits.append(ts.cache_hit)
        with connect(ts.server.conninfo(ts.take_spare("t"))) as conn:
            assert conn.execute("select to_regclass('public.b') is not null").fetchone() == (True,)
        ts.stop()
    assert hits == [False, True, False, True]


KILLED = """
import sys, time
from pathlib import Path

import pytest
from supamigrate.cache import Cache
from supamigrate.project import Project
from supamigrate.build import ProjectDatabase, ServerChoice
ts = ProjectDatabase.start(Project.load(sys.argv[1]), server=ServerChoice(cache=Cache(Path(sys.argv[2]))))
print(ts.server.run_dir, flush=True)
time.sleep(120)
"""


def test_a_run_killed_halfway_is_never_reused_and_the_next_run_builds_afresh(
    make_project: ProjectFactory, shared_tmp: Path
) -> None:
    cache = Cache(shared_tmp / "cache")
    project = make_project(dict(FIRST))
    start(project, cache).stop()  # one cached cluster
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(project.root), str(cache.root)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    run_dir = Path(proc.stdout.readline().strip())  # it checked out the only slot
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    ts = start(project, cache)  # no slot left: a fresh build, and the dead run is reaped
    try:
        assert not ts.cache_hit
        with connect(ts.server.conninfo(ts.take_spare("t"))) as conn:
            assert conn.execute("select count(*) from supabase_migrations.schema_migrations").fetchone() == (1,)
    finally:
        ts.stop()
    assert leftovers([run_dir]) == []
    assert start_is_hit(project, cache)


def start_is_hit(project: Project, cache: Cache) -> bool:
    ts = start(project, cache)
    hit = ts.cache_hit
    ts.stop()
    return hit


def test_cache_clear_empties_it(make_project: ProjectFactory, shared_tmp: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    root = shared_tmp / "cache"
    monkeypatch.setenv("SUPAMIGRATE_CACHE_DIR", str(root))
    start(make_project(dict(FIRST)), Cache(root)).stop()  # the CLI below finds root through the env
    assert run(["cache", "clear"]) == 0
    assert capsys.readouterr().out.strip() == f"Removed 1 cached cluster(s) from {root}"
    assert list((root / "entries").iterdir()) == []
    shutil.rmtree(root)


def test_a_check_whose_migration_fails_keeps_the_stubbed_cluster_warm(
    make_project: ProjectFactory, shared_tmp: Path
) -> None:
    # The edit-and-check-again loop: a failing migration leaves the stubbed base as it was, so the
    # cluster goes back to the cache and the next check starts warm; nothing of the run is kept.
    from supamigrate.build import Target
    from supamigrate.errors import MigrationError

    cache = Cache(shared_tmp / "cache")
    project = make_project({"1_a.sql": "create table public.a (id int primary key);\nselect 1/0;\n"})
    try:
        ProjectDatabase.start(project, target=Target.WORKING, server=ServerChoice(cache=cache)).stop()
    except MigrationError as exc:
        assert exc.sqlstate == "22012"
    else:
        raise AssertionError("the migration should fail")
    assert len(list(cache.entries.glob("base-*/*/meta.json"))) == 1
    (project.migrations_dir / "1_a.sql").write_text("create table public.a (id int primary key);\n")
    built = ProjectDatabase.start(project, target=Target.WORKING, server=ServerChoice(cache=cache))
    try:
        assert built.cache_hit
        with connect(built.conninfo) as conn:
            assert conn.execute("select to_regclass('public.a') is not null").fetchone() == (True,)
            names = {str(r[0]) for r in conn.execute("select datname from pg_database")}
        # The failed run's database went with it: the cached cluster held the stubbed base only.
        assert names == {"postgres", "template0", "template1", "supamigrate_base", built.database.dbname}
    finally:
        built.stop()


def table(name: str) -> dict[str, str]:
    return {"1_a.sql": f"create table public.{name} (id int primary key);\n"}


def test_builds_of_distinct_projects_never_exceed_the_bounds_and_the_least_recently_used_go(
    make_project: ProjectFactory, shared_tmp: Path
) -> None:
    cache = Cache(shared_tmp / "cache", max_entries=2)
    first, second, third, fourth = (make_project(table(n)) for n in "abcd")
    for project in (first, second):
        start(project, cache).stop()
    assert cache.info().entries == 2
    assert start_is_hit(first, cache)  # used again: now the second is the least recently used
    start(third, cache).stop()
    assert cache.info().entries == 2
    assert start_is_hit(first, cache) and start_is_hit(third, cache)
    assert not start_is_hit(second, cache)  # evicted; this start put it back and dropped the first
    assert not start_is_hit(first, cache)

    # A byte bound that holds one cluster and a half: every check-in leaves one.
    one = cache.info().bytes // cache.info().entries
    by_size = Cache(shared_tmp / "by-size", max_entries=10, max_mb=max(1, one * 3 // 2 // 1_000_000))
    for project in (first, second, third, fourth, first):
        start(project, by_size).stop()
        info = by_size.info()
        assert info.entries == 1 and info.bytes <= info.max_bytes, info
    assert start_is_hit(first, by_size)


def test_cache_info_shows_location_entries_size_and_bounds(
    make_project: ProjectFactory, shared_tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = shared_tmp / "cache"
    monkeypatch.setenv("SUPAMIGRATE_CACHE_DIR", str(root))
    monkeypatch.setenv("SUPAMIGRATE_CACHE_MAX_ENTRIES", "3")
    monkeypatch.setenv("SUPAMIGRATE_CACHE_MAX_MB", "900")
    start(make_project(table("a")), Cache(root)).stop()
    assert run(["cache", "info"]) == 0
    location, entries, size = capsys.readouterr().out.splitlines()
    assert location == f"location: {root}"
    assert entries == "entries:  1 cluster(s), at most 3 (cache_max_entries)"
    megabytes = float(size.split()[1])
    assert 10 < megabytes < 200 and size.endswith("MB, at most 900 MB (cache_max_mb)"), size


def test_a_cached_stubbed_cluster_without_its_base_database_is_rebuilt_not_trusted(
    make_project: ProjectFactory, shared_tmp: Path
) -> None:
    from supamigrate.build import BASE, Target

    cache = Cache(shared_tmp / "cache-nobase")
    project = make_project(dict(FIRST))
    first = ProjectDatabase.start(project, target=Target.WORKING, server=ServerChoice(cache=cache))
    with connect(first.server.conninfo(), autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {BASE} WITH IS_TEMPLATE false")
        admin.execute(f"DROP DATABASE {BASE}")
    first.stop()  # checked in as it is: a stubbed cluster with no base database
    again = ProjectDatabase.start(project, target=Target.WORKING, server=ServerChoice(cache=cache))
    try:
        assert again.cache_hit
        with connect(again.conninfo) as conn:
            assert conn.execute("select to_regclass('public.a') is not null").fetchone() == (True,)
    finally:
        again.stop()
