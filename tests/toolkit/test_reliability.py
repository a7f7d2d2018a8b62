"""Bad input and faults: the exact message, the exit code, nothing applied, nothing left running."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import psycopg
import pytest

from supamigrate import pgtap
from supamigrate.cli import run
from supamigrate.errors import ServerError
from supamigrate.server import EphemeralServer, PgInstall, ServerOptions, find_bindir, leftovers, reap_stale

from .conftest import SUITE_MAJOR, ProjectFactory, absent_major, cli_server_major, query, server_major

HISTORY = "select count(*) from supabase_migrations.schema_migrations"
REPO = Path(__file__).resolve().parents[2]


def apply(capsys: pytest.CaptureFixture[str], project_root: Path, conninfo: str, *extra: str) -> tuple[int, str, str]:
    code = run(["apply", "--db-url", conninfo, "--project-dir", str(project_root), "--no-seed", *extra])
    out, err = capsys.readouterr()
    return code, out, err


def history(conninfo: str) -> int:
    rows = query(conninfo, "select to_regclass('supabase_migrations.schema_migrations') is not null")
    return int(query(conninfo, HISTORY)[0][0]) if rows[0][0] else 0  # type: ignore[call-overload]


BAD_INPUT = {
    "syntax error mid-file": (
        "create table public.a (id int);\ncreate table public.b (id int;\n",
        r"2_bad\.sql:2:30: 42601 syntax error at end of input",
    ),
    "error inside a function body": (
        "create function public.f() returns int language sql as $$\n  select nope\n$$;\n",
        r"2_bad\.sql:2:10: 42703 column \"nope\" does not exist",
    ),
    # Issue 14: a file in BEGIN/COMMIT applies as with the CLI; a LOCK outside one fails as with it.
    "LOCK TABLE outside BEGIN": (
        "create table public.a (id int);\nlock table public.a;\n",
        r"2_bad\.sql:2:1: 25P01 LOCK TABLE can only be used in transaction blocks\n"
        r"HINT: the Supabase CLI sends each migration file as one pipeline",
    ),
    "CREATE INDEX CONCURRENTLY": (
        "create table public.a (id int);\ncreate index concurrently a_id on public.a (id);\n",
        r"2_bad\.sql:2:1: 25001 CREATE INDEX CONCURRENTLY cannot be executed within a pipeline\n"
        r"HINT: the Supabase CLI sends each migration file as one pipeline, and PostgreSQL runs this"
        r" statement in one only as the first of its transaction",
    ),
    "a missing extension": (
        "\ncreate extension no_such_extension;\n",
        r"2_bad\.sql:2:1: extension \"no_such_extension\" is not available on this server \(PostgreSQL {major}\),"
        r" nor shimmed\nHINT: install the package that provides no_such_extension",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT), ids=lambda c: c.replace(" ", "-"))
def test_bad_migration_is_reported_exactly_and_nothing_of_it_applied(
    case: str, make_project: ProjectFactory, stubbed_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    sql, expected = BAD_INPUT[case]
    project = make_project({"1_ok.sql": "create table public.ok (id int);", "2_bad.sql": sql})
    code, _, err = apply(capsys, project.root, stubbed_db)
    assert code == 1
    expected = expected.replace("{major}", str(server_major(stubbed_db)))  # the server's own major
    assert re.search(expected, err), err
    assert history(stubbed_db) == 1
    assert query(stubbed_db, "select to_regclass('public.a'), to_regproc('public.f')") == [(None, None)]


def test_function_body_error_line_inside_the_body(make_project: ProjectFactory, stubbed_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    sql = "create function public.f() returns int language plpgsql as $$\nbegin\n  retrun 1;\nend\n$$;\n"
    code, _, err = apply(capsys, make_project({"1_f.sql": sql}).root, stubbed_db)
    assert code == 1 and re.search(r"1_f\.sql:3:3: 42601 syntax error at or near \"retrun\"", err), err


def test_non_utf8_file_names_the_byte_and_its_position(
    make_project: ProjectFactory, stubbed_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project({"1_latin1.sql": b"-- ok\ninsert into x values ('caf" + b"\xe9');\n"})
    code, _, err = apply(capsys, project.root, stubbed_db)
    assert code == 1
    assert f"{project.migrations_dir / '1_latin1.sql'}:2:27: file is not valid UTF-8 (byte 0xe9 at offset 32)" in err
    assert history(stubbed_db) == 0


def test_empty_migration_is_applied_with_a_warning(
    make_project: ProjectFactory, stubbed_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = apply(capsys, make_project({"1_empty.sql": "  \n\n", "2_comment.sql": "\n-- \n"}).root, stubbed_db)
    assert code == 0 and "1_empty.sql: empty migration (no statements); it is recorded as applied" in out
    assert "2_comment.sql: empty" not in out  # the CLI records a lone comment as a statement
    assert query(stubbed_db, "select statements from supabase_migrations.schema_migrations order by 1") == [
        ([],),
        (["--"],),
    ]


def test_fifty_thousand_line_migration_applies_and_reports_its_last_line(
    make_project: ProjectFactory, stubbed_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = ",\n".join(f"  ({i}, 'row {i}')" for i in range(49_996))
    big = f"create table public.big (id int primary key, label text);\ninsert into public.big values\n{rows};\n"
    assert big.count("\n") == 49_998
    project = make_project({"1_big.sql": big})
    code, _, err = apply(capsys, project.root, stubbed_db)
    assert code == 0, err
    assert query(stubbed_db, "select count(*) from public.big") == [(49_996,)]
    bad = big.replace("public.big", "public.big2").replace("(49995, 'row 49995')", "(49995, 'row 49995',)")
    code, _, err = apply(capsys, make_project({"1_big.sql": big, "2_bad.sql": bad}).root, stubbed_db)
    assert code == 1 and re.search(r"2_bad\.sql:49998:23: 42601 syntax error at or near \"\)\"", err), err
    assert query(stubbed_db, "select to_regclass('public.big2')") == [(None,)]


def test_seed_violating_a_constraint(make_project: ProjectFactory, stubbed_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    project = make_project(
        {"1_a.sql": "create table public.a (id int primary key);"},
        seed="insert into public.a values (1);\n\ninsert into public.a values (1);\n",
    )
    code = run(["apply", "--db-url", stubbed_db, "--project-dir", str(project.root)])
    err = capsys.readouterr().err
    assert code == 1
    assert f"{project.supabase_dir / 'seed.sql'}:3:1: 23505 duplicate key value violates unique constraint" in err
    assert query(stubbed_db, "select count(*) from public.a") == [(0,)]
    assert query(stubbed_db, "select count(*) from supabase_migrations.seed_files") == [(0,)]


def test_malformed_config_toml(make_project: ProjectFactory, capsys: pytest.CaptureFixture[str]) -> None:
    project = make_project({})
    (project.supabase_dir / "config.toml").write_text('project_id = "x"\n[db\nport = 1\n')
    assert run(["check", "--project-dir", str(project.root)]) == 1
    err = capsys.readouterr().err
    assert f"error: {project.supabase_dir / 'config.toml'}: invalid TOML: Expected ']' at the end of a table" in err
    assert "(at line 2, column 4)" in err


def test_wrongly_typed_config_value(make_project: ProjectFactory, capsys: pytest.CaptureFixture[str]) -> None:
    project = make_project({})
    (project.supabase_dir / "config.toml").write_text('[db]\nmajor_version = "15"\n')
    assert run(["check", "--project-dir", str(project.root)]) == 1
    assert "db.major_version must be int, not str ('15')" in capsys.readouterr().err


def test_statement_timeout_cancels_a_statement_that_runs_forever(
    make_project: ProjectFactory, stubbed_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    project = make_project({"1_slow.sql": "create table public.a (id int);\nselect pg_sleep(600);\n"})
    code, _, err = apply(capsys, project.root, stubbed_db, "--statement-timeout", "200")
    assert code == 1
    assert "1_slow.sql:2:1: 57014 canceling statement due to statement timeout" in err
    assert "HINT: the statement ran longer than the statement timeout; raise --statement-timeout" in err
    assert history(stubbed_db) == 0


def test_statement_timeout_reports_a_migration_waiting_on_a_lock(
    make_project: ProjectFactory, stubbed_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = make_project({"1_a.sql": "create table public.a (id int);"})
    assert apply(capsys, first.root, stubbed_db)[0] == 0
    with psycopg.connect(stubbed_db) as holder:
        holder.execute("lock table public.a in access exclusive mode")  # held until this block ends
        second = make_project(
            {"1_a.sql": "create table public.a (id int);", "2_b.sql": "alter table public.a add b int;"}
        )
        code, _, err = apply(capsys, second.root, stubbed_db, "--statement-timeout", "300")
    assert code == 1 and "2_b.sql:1:1: 57014 canceling statement due to statement timeout" in err
    assert history(stubbed_db) == 1


def test_missing_server_binaries_name_the_package(make_project: ProjectFactory, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    project = make_project({})
    assert run(["check", "--project-dir", str(project.root), "--pg-bin", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert f"error: no PostgreSQL server binaries (pg_ctl, initdb, postgres) in {tmp_path / 'nowhere'}" in err
    assert f"apt-get install postgresql-{SUITE_MAJOR} postgresql-contrib" in err  # config.toml's major


def test_server_of_another_major_version_than_config_is_a_warning(
    make_project: ProjectFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    # A major not installed here: with 17 installed (`make pg17`), a project naming 17 runs on it.
    major = absent_major()
    project = make_project({}, config=f"[db]\nmajor_version = {major}\n")
    assert run(["check", "--project-dir", str(project.root)]) == 0
    out = capsys.readouterr().out
    server = cli_server_major(major)
    said = rf"config.toml says major_version = {major}, but the server binaries are PostgreSQL {server} \(/"
    assert re.search(said, out)


def test_the_configured_major_is_found_where_the_pg17_installer_puts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # tools/pg17/install.sh's default for an ordinary user: ~/.cache/supamigrate/pg<major>/bin.
    major, real = absent_major(), find_bindir()
    bindir = tmp_path / ".cache" / "supamigrate" / f"pg{major}" / "bin"
    bindir.mkdir(parents=True)
    for name in ("pg_ctl", "initdb", "postgres"):
        (bindir / name).symlink_to(real / name)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert find_bindir(major=major) == bindir  # before PATH and pg_config, which find another major
    assert find_bindir(major=None) != bindir  # without a major it is not looked at
    assert find_bindir(real, major=major) == real  # an explicit --pg-bin still wins


def test_an_install_without_pg_config_has_its_libraries_and_extensions_beside_bin(tmp_path: Path) -> None:
    # The npm build of 17 (tools/pg17/install.sh) has no pg_config: lib/postgresql and
    # share/postgresql beside bin/, as PostgreSQL lays out a prefix that names no "postgres".
    root = tmp_path / "pg17"
    (root / "bin").mkdir(parents=True)
    (root / "lib" / "postgresql").mkdir(parents=True)
    (root / "share" / "postgresql" / "extension").mkdir(parents=True)
    install = PgInstall(root / "bin", 17, "postgres (PostgreSQL) 17")
    assert (install.pkglibdir, install.sharedir) == (root / "lib" / "postgresql", root / "share" / "postgresql")
    assert not pgtap.available_on_disk(root / "bin")
    (root / "share" / "postgresql" / "extension" / "pgtap.control").write_text("")
    assert pgtap.available_on_disk(root / "bin")  # part of the template cache key


def test_binaries_the_server_user_cannot_reach_are_a_clear_error(tmp_path: Path, shared_tmp: Path) -> None:
    real = find_bindir()
    bindir = tmp_path / "pg" / "bin"  # under pytest's private tmp dir, as under root's home
    bindir.mkdir(parents=True)
    for name in ("pg_ctl", "initdb", "postgres"):
        (bindir / name).symlink_to(real / name)
    if os.geteuid() == 0:  # the server's OS user cannot pass through it
        with pytest.raises(ServerError, match=r"^the server runs as OS user \w+, who cannot reach the binaries in /"):
            EphemeralServer(ServerOptions(bindir=bindir, tmp_root=shared_tmp)).start()
        assert list(shared_tmp.iterdir()) == []
    else:  # an ordinary user's server runs as that user, who can
        with EphemeralServer(ServerOptions(bindir=bindir, tmp_root=shared_tmp)) as server:
            assert server.connect().execute("select 1").fetchone() == (1,)


def test_a_port_that_is_taken_is_a_clear_error(shared_tmp: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ServerError, match=rf"^port {port} on 127.0.0.1 is already in use$"):
            EphemeralServer(ServerOptions(port=port, tmp_root=shared_tmp)).start()
    assert list(shared_tmp.iterdir()) == []


def test_a_run_directory_location_the_server_cannot_reach_is_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:  # as root the server's OS user cannot pass through pytest's private tmp dirs
        with pytest.raises(ServerError, match=r"^the server runs as OS user \w+, who cannot reach "):
            EphemeralServer(ServerOptions(tmp_root=tmp_path)).start()
    else:  # an ordinary user's server runs as that user, for whom its own tmp dir is fine
        with EphemeralServer(ServerOptions(tmp_root=tmp_path)) as server:
            assert server.connect().execute("select 1").fetchone() == (1,)


def test_a_run_directory_location_the_server_cannot_use_is_a_clear_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    with pytest.raises(ServerError, match=rf"^cannot create a run directory in {re.escape(str(not_a_dir))}: "):
        EphemeralServer(ServerOptions(tmp_root=not_a_dir)).start()


def test_server_listens_only_on_loopback_and_its_own_socket(supamigrate_server: EphemeralServer) -> None:
    with supamigrate_server.connect() as conn:
        settings: dict[str, str] = dict(conn.execute("select name, setting from pg_settings where name in"
                                     " ('listen_addresses', 'unix_socket_directories', 'fsync')").fetchall())
    assert settings == {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": str(supamigrate_server.socket_dir),
        "fsync": "off",
    }


KILLED = """
import sys, time
from pathlib import Path
from supamigrate.server import EphemeralServer, ServerOptions
s = EphemeralServer(ServerOptions(tmp_root=Path(sys.argv[1]))).start()
print(s.run_dir, flush=True)
time.sleep(120)
"""


def test_kill_9_leaves_a_server_that_the_next_run_reaps(shared_tmp: Path) -> None:
    tmp_path = shared_tmp
    proc = subprocess.Popen([sys.executable, "-c", KILLED, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    run_dir = Path(proc.stdout.readline().strip())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert leftovers([run_dir]), "the killed run's server should still be there"
    assert reap_stale(tmp_path) == [run_dir]
    assert leftovers([run_dir]) == []


INTERRUPTED_TEST = """
import os, time
from pathlib import Path

def test_waits_for_ctrl_c(db):
    Path(os.environ["STARTED"]).write_text(str(os.getpid()))
    time.sleep(120)  # interrupted long before this ends
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_during_a_run_stops_the_server_and_removes_its_directories(
    shared_tmp: Path, sig: signal.Signals
) -> None:
    tmp_path = shared_tmp
    (tmp_path / "test_interrupted.py").write_text(INTERRUPTED_TEST)
    started = tmp_path / "started"
    env = {
        **os.environ,
        "STARTED": str(started),
        "SUPAMIGRATE_PROJECT_DIR": str(REPO),
        "SUPAMIGRATE_CACHE": "0",
        "TMPDIR": str(tmp_path),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         str(tmp_path / "test_interrupted.py")],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    tick = threading.Event()
    for _ in range(6000):  # bounded: at most a minute for the session to reach the test
        if started.exists() or proc.poll() is not None:
            break
        tick.wait(0.01)
    assert started.exists(), proc.communicate()[0]
    proc.send_signal(sig)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 2, output
    assert "KeyboardInterrupt" in output
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("supamigrate-")]
    assert [x for x in leftovers([tmp_path]) if x.startswith("process")] == []


def test_two_runs_at_once_share_the_cache_safely(shared_tmp: Path) -> None:
    tmp_path = shared_tmp
    (tmp_path / "test_probe.py").write_text(
        textwrap.dedent(
            """
            def test_schema_is_there(db, catalog):
                assert catalog.table_exists("public.research_sessions")
                db.execute("insert into public.research_sessions (user_id, title)"
                           " select id, 'x' from auth.users limit 1")
                assert db.execute("select count(*) from public.research_sessions").fetchone() == (5,)
            """
        )
    )
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o711)
    env = {**os.environ, "SUPAMIGRATE_PROJECT_DIR": str(REPO), "SUPAMIGRATE_CACHE_DIR": str(cache)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
           str(tmp_path / "test_probe.py")]
    for _round in range(2):  # a cold round (both build), then a warm one (both find a slot)
        runs = [subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True) for _ in range(2)]
        outputs = [r.communicate(timeout=300)[0] for r in runs]
        assert [r.returncode for r in runs] == [0, 0], outputs
    entries = [p for p in (cache / "entries").iterdir()]
    assert len(entries) == 1 and len(list(entries[0].iterdir())) == 2
    assert list((cache / "runs").iterdir()) == []


FULL_DISK = """
import resource, signal, sys
from pathlib import Path
from supamigrate.errors import ServerError
from supamigrate.server import EphemeralServer, ServerOptions
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG, like a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 20, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
try:
    EphemeralServer(ServerOptions(tmp_root=Path(sys.argv[1]))).start()
except ServerError as exc:
    print(exc.render())
    sys.exit(1)
"""


def test_a_full_disk_is_a_clear_error_and_leaves_nothing(shared_tmp: Path) -> None:
    small = shared_tmp / "small"
    small.mkdir()
    if os.geteuid() == 0:  # a real full disk: an 8 MB tmpfs, too small for a cluster
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=1777", "tmpfs", str(small)], check=True)
        try:
            with pytest.raises(ServerError) as exc:
                EphemeralServer(ServerOptions(tmp_root=small)).start()
            message = exc.value.render()
            assert list(small.iterdir()) == []
        finally:
            subprocess.run(["umount", str(small)], check=True)
        assert message.startswith("initdb failed (1): ") and "No space left on device" in message
    else:  # an ordinary user cannot mount: cap file sizes instead
        proc = subprocess.run([sys.executable, "-c", FULL_DISK, str(small)], capture_output=True, text=True)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert proc.stdout.startswith("initdb failed (1): ") and "File too large" in proc.stdout
        assert list(small.iterdir()) == []


def test_the_plugin_warns_when_the_server_is_not_the_configured_major_version(pytester: pytest.Pytester) -> None:
    (pytester.path / "supabase" / "migrations").mkdir(parents=True)
    major = absent_major()
    (pytester.path / "supabase" / "config.toml").write_text(f"[db]\nmajor_version = {major}\n")
    pytester.makepyfile("def test_it(db):\n    assert db.execute('select 1').fetchone() == (1,)\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.re_match_lines([rf".*SupamigrateWarning: config.toml says major_version = {major}, but the server"
                                  rf" binaries are PostgreSQL {cli_server_major(major)} .*"])


def test_a_deep_run_directory_gets_its_socket_in_a_short_one(shared_tmp: Path) -> None:
    deep = shared_tmp / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    for d in (deep, deep.parent):
        d.chmod(0o711)
    server = EphemeralServer(ServerOptions(tmp_root=deep)).start()
    try:
        assert server.run_dir is not None and server.run_dir.parent == deep
        assert server.socket_dir != server.run_dir and len(str(server.socket_dir)) < 60
        assert server.connect().execute("select 1").fetchone() == (1,)
        socket_dir = server.socket_dir
    finally:
        server.stop()
    assert not socket_dir.exists() and list(deep.iterdir()) == []


PROBE_EXIT_HOOK = """
import sys
import mirakuru.base_env
import {module}
mirakuru.base_env.processes_with_env = lambda *a: print("mirakuru exit cleanup ran") or set()
"""


@pytest.mark.parametrize(
    ("module", "runs"), [("mirakuru", True), ("supamigrate.server.pgctl", False), ("supamigrate.server", False)]
)
def test_no_exiting_process_runs_mirakurus_kill_by_pid_substring(module: str, runs: bool) -> None:
    # mirakuru's exit hook SIGKILLs processes whose marker merely contains the exiting pid; importing
    # the toolkit turns it off (the first case shows the probe sees the hook when it is there).
    out = subprocess.run([sys.executable, "-c", PROBE_EXIT_HOOK.format(module=module)], capture_output=True, text=True)
    assert ("mirakuru exit cleanup ran" in out.stdout) is runs, out.stdout + out.stderr


SIGTERMED_CHECK = """
import os, signal, sys
from supamigrate import cli, server
real_start = server.EphemeralServer.start
def start_then_terminate(self, **kw):
    real_start(self, **kw)
    print(self.run_dir, flush=True)
    os.kill(os.getpid(), signal.SIGTERM)  # as a CI time-out would, while the server runs
    return self
server.EphemeralServer.start = start_then_terminate
sys.exit(cli.main(["check", "--no-cache", "--project-dir", sys.argv[1]]))
"""


def test_sigterm_during_check_stops_its_server(shared_tmp: Path) -> None:
    env = {**os.environ, "TMPDIR": str(shared_tmp)}
    proc = subprocess.run([sys.executable, "-c", SIGTERMED_CHECK, str(REPO)], env=env, capture_output=True, text=True)
    assert proc.returncode == 130 and "interrupted" in proc.stderr, proc.stdout + proc.stderr
    run_dir = Path(proc.stdout.splitlines()[0])
    assert leftovers([run_dir]) == []


def test_a_pytest_session_run_inside_this_one_leaves_our_sigterm_handler(pytester: pytest.Pytester) -> None:
    ours = signal.getsignal(signal.SIGTERM)
    assert callable(ours), "the plugin turns SIGTERM into an orderly stop for this session"
    pytester.makepyfile("def test_nothing():\n    pass\n")
    pytester.runpytest_inprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    assert signal.getsignal(signal.SIGTERM) is ours
