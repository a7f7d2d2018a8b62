"""An ephemeral PostgreSQL server, started with pg_ctl through a mirakuru executor (``pgctl``).

``initdb`` and ``pg_ctl`` refuse to run as root, so under root every server command runs as an
unprivileged OS user (``postgres`` where it exists) through ``runuser``, and the data directory is
handed to that user. The server listens on 127.0.0.1 and on a unix socket in its own run
directory, is tuned for tests (no fsync), and is stopped and deleted by ``stop()``, at interpreter
exit, or by the next run when a killed one left it behind (``reap_stale``).
"""

from __future__ import annotations

import atexit
import contextlib
import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import psycopg

from .errors import ServerError
from .platform.extensions import cron_settings, pg_cron_library

if TYPE_CHECKING:
    from .pgctl import PgCtlExecutor

# mirakuru's exit hook may SIGKILL live servers of other runs (see pgctl, which turns it off when
# a server starts); in a process that loaded mirakuru before this module, it is turned off now.
if "mirakuru.base" in sys.modules:
    atexit.unregister(sys.modules["mirakuru.base"].cleanup_subprocesses)

RUN_PREFIX = "supamigrate-"
# Every run directory this process made, so a test session can prove none outlived it.
STARTED_RUN_DIRS: list[Path] = []
OWNER_FILE = "owner.json"
SUPERUSER = "supabase_admin"
PACKAGE_HINT = (
    "install the PostgreSQL server: `apt-get install postgresql-{major} postgresql-contrib` "
    "(Debian/Ubuntu), or point SUPAMIGRATE_PG_BIN / --pg-bin at the directory holding pg_ctl"
)
# Durability is worthless for a database that lives as long as a test run.
TEST_SETTINGS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c jit=off"
    " -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=64MB"
    " -c max_wal_size=1GB -c lc_messages=C -c log_min_messages=warning"
    # No background work on a throwaway server: it would compete with the tests, and an autovacuum
    # worker in the template makes CREATE DATABASE ... TEMPLATE wait for it to leave.
    " -c autovacuum=off"
    # Shared memory segments in the data directory, so that even a killed server leaves nothing
    # outside its run directory (posix segments would stay in /dev/shm).
    " -c dynamic_shared_memory_type=mmap"
)
_BINARIES = ("pg_ctl", "initdb", "postgres")


def ram_dir() -> Path | None:
    """``/dev/shm`` when it is a writable RAM file system with room (2 GB free), else None.

    A throwaway cluster needs no durability, and on a busy disk initdb alone takes twice as long.
    """
    shm = Path("/dev/shm")
    try:
        st = os.statvfs(shm)
    except OSError:
        return None
    if not os.access(shm, os.W_OK | os.X_OK) or st.f_bavail * st.f_frsize < 2 << 30:
        return None
    return shm


def usable_dir(path: Path) -> bool:
    """Ours or not there yet: in a world-writable place, another user's directory is never used."""
    try:
        return path.lstat().st_uid == os.geteuid() and path.is_dir() and not path.is_symlink()
    except FileNotFoundError:
        return True


def default_run_root() -> Path:
    """Where run directories go without the cache: ``TMPDIR`` if set, else RAM, else the temp dir."""
    if os.environ.get("TMPDIR"):
        return Path(tempfile.gettempdir())
    ram = ram_dir()
    if ram is not None:
        runs = ram / f"supamigrate-runs-{os.geteuid()}"
        if usable_dir(runs):
            runs.mkdir(mode=0o711, exist_ok=True)
            runs.chmod(0o711)  # under root, the server's OS user passes through it
            return runs
    return Path(tempfile.gettempdir())


def find_bindir(explicit: str | os.PathLike[str] | None = None, *, major: int | None = None) -> Path:
    """The directory holding pg_ctl, initdb and postgres.

    Looked for in order: ``explicit`` (a directory or the pg_ctl path), ``SUPAMIGRATE_PG_BIN``,
    ``/usr/lib/postgresql/<major>/bin``, pg_ctl on PATH, ``pg_config --bindir``, then the newest
    ``/usr/lib/postgresql/*/bin``.
    """
    tried: list[str] = []

    def usable(d: Path) -> bool:
        tried.append(str(d))
        return all(os.access(d / b, os.X_OK) for b in _BINARIES)

    given = explicit or os.environ.get("SUPAMIGRATE_PG_BIN")
    if given:
        d = Path(given)
        d = d.parent if d.is_file() else d
        if usable(d):
            return d
        raise ServerError(
            f"no PostgreSQL server binaries (pg_ctl, initdb, postgres) in {d}",
            hint=PACKAGE_HINT.format(major=major or 15),
        )
    candidates: list[Path] = []
    if major is not None:
        candidates.append(Path(f"/usr/lib/postgresql/{major}/bin"))
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(Path(out.stdout.strip()))
    versioned = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    candidates.extend(versioned)
    for d in candidates:
        if usable(d):
            return d
    raise ServerError(
        f"PostgreSQL server binaries not found (looked in: {', '.join(tried) or 'PATH'})",
        hint=PACKAGE_HINT.format(major=major or 15),
    )


def pkglibdir(bindir: Path) -> Path:
    """Where the server in ``bindir`` loads extension libraries from (``pg_config --pkglibdir``)."""
    pg_config = bindir / "pg_config"
    if os.access(pg_config, os.X_OK):
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run([str(pg_config), "--pkglibdir"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                return Path(out.stdout.strip())
    return bindir.parent / "lib"


def server_version(bindir: Path) -> tuple[int, str]:
    """Major version and full ``postgres --version`` line of the server binaries in ``bindir``."""
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=30)
    m = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    if out.returncode != 0 or not m:
        raise ServerError(f"could not read the version of {bindir / 'postgres'}: {out.stderr.strip()}")
    return int(m.group(1)), out.stdout.strip()


def version_mismatch(server: EphemeralServer, expected_major: int) -> str | None:
    """A warning when the server's major version is not the one config.toml names, else None."""
    if server.major == expected_major:
        return None
    return (
        f"config.toml says major_version = {expected_major}, but the server binaries are"
        f" PostgreSQL {server.major} ({server.bindir})"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_os_user() -> pwd.struct_passwd | None:
    """The unprivileged user server processes run as when we are root (None when we are not)."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("SUPAMIGRATE_OS_USER")
    for candidate in [name] if name else ["postgres", "nobody"]:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(candidate)
    raise ServerError(
        f"running as root, and OS user {name or 'postgres'} does not exist to run the server as",
        hint="create it (`useradd --system postgres`) or set SUPAMIGRATE_OS_USER to an unprivileged user",
    )


@dataclass(frozen=True)
class ServerOptions:
    """How to start an ephemeral server. Every field has a sensible default."""

    bindir: Path | None = None
    major: int | None = None
    tmp_root: Path | None = None
    port: int | None = None
    superuser: str = SUPERUSER
    extra_settings: str = ""
    start_timeout: int = 60
    # The database that may hold the real pg_cron (its library is preloaded for it) when installed.
    cron_database: str | None = None


class EphemeralServer:
    """A PostgreSQL server that lives in a temporary run directory and is deleted on stop.

    Use as a context manager, or call ``start()`` and ``stop()``. ``start(adopt=...)`` may put a
    stopped data directory in place instead of running initdb, and ``stop(salvage=...)`` may take
    the data directory away after a clean shutdown (that is how the cache moves clusters around).
    """

    def __init__(self, options: ServerOptions | None = None) -> None:
        self.options = options or ServerOptions()
        self.bindir = find_bindir(self.options.bindir, major=self.options.major)
        self.os_user = _server_os_user()
        self.superuser = self.options.superuser
        self.run_dir: Path | None = None
        self._socket_dir: Path | None = None
        self.port: int = 0
        self._executor: PgCtlExecutor | None = None
        self.major, self.version_line = server_version(self.bindir)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, *, adopt: Callable[[Path], object] | None = None) -> EphemeralServer:
        """Create the run directory, let ``adopt(datadir)`` fill it or run initdb, and start."""
        if self._executor is not None:
            return self
        root = self.options.tmp_root or default_run_root()
        if self.os_user is not None and root.is_dir() and not _traversable(root, self.os_user):
            raise ServerError(
                f"the server runs as OS user {self.os_user.pw_name}, who cannot reach {root}",
                hint="use a directory every user can traverse (TMPDIR=/tmp or /var/tmp), or set SUPAMIGRATE_OS_USER",
            )
        for place in {root, Path("/tmp")}:  # /tmp: the short socket directories of deep run directories
            reap_stale(place)
        try:
            self.run_dir = Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=root))
        except OSError as exc:
            raise ServerError(
                f"cannot create a run directory in {root}: {exc.strerror}",
                hint="free disk space there or set SUPAMIGRATE_TMPDIR to a writable directory",
            ) from None
        STARTED_RUN_DIRS.append(self.run_dir)
        atexit.register(self.stop)
        try:
            if adopt is not None:
                adopt(self.datadir)
            self._short_socket_dir()
            self._prepare_run_dir()
            self._start_with_free_port()
        except BaseException:
            self.stop()
            raise
        return self

    def _prepare_run_dir(self) -> None:
        assert self.run_dir is not None
        (self.run_dir / OWNER_FILE).write_text(
            json.dumps({"pid": os.getpid(), "uid": os.getuid(), "started": time.time()})
        )
        if self.os_user is not None:
            # The server runs as another OS user: it must own what it writes to. An adopted data
            # directory already belongs to it (it was made by the same user), so only fix the rest.
            uid, gid = self.os_user.pw_uid, self.os_user.pw_gid
            self.run_dir.chmod(0o755)
            os.lchown(self.run_dir, uid, gid)
            if self.datadir.exists() and self.datadir.stat().st_uid != uid:
                for path in [self.datadir, *self.datadir.rglob("*")]:
                    os.lchown(path, uid, gid)

    def _short_socket_dir(self) -> None:
        """A unix socket path may not exceed 107 bytes; a deep run directory gets a socket elsewhere."""
        assert self.run_dir is not None
        if len(str(self.run_dir / ".s.PGSQL.65535.lock")) <= 100:
            return
        self._socket_dir = Path(tempfile.mkdtemp(prefix=RUN_PREFIX + "sock-", dir="/tmp"))
        STARTED_RUN_DIRS.append(self._socket_dir)
        (self._socket_dir / OWNER_FILE).write_text(json.dumps({"pid": os.getpid(), "uid": os.getuid()}))
        if self.os_user is not None:
            self._socket_dir.chmod(0o755)
            os.lchown(self._socket_dir, self.os_user.pw_uid, self.os_user.pw_gid)

    def _command_prefix(self) -> list[str]:
        if self.os_user is None:
            return []
        runuser = shutil.which("runuser") or "/usr/sbin/runuser"
        return [runuser, "-u", self.os_user.pw_name, "--"]

    def _pg_ctl(self) -> str:
        """pg_ctl, or under root a wrapper that runs it as the server's OS user."""
        if self.os_user is None:
            return str(self.bindir / "pg_ctl")
        assert self.run_dir is not None
        wrapper = self.run_dir / "pg_ctl"
        prefix = " ".join(f"'{p}'" for p in self._command_prefix())
        wrapper.write_text(f"#!/bin/sh\ncd / && exec {prefix} '{self.bindir / 'pg_ctl'}' \"$@\"\n")
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
        return str(wrapper)

    def _start_with_free_port(self) -> None:
        # mirakuru (and psutil) only once a server starts: importing this module stays cheap.
        from mirakuru.exceptions import AlreadyRunning, ProcessExitedWithError, TimeoutExpired

        from .pgctl import PgCtlExecutor

        assert self.run_dir is not None
        pg_ctl = self._pg_ctl()
        last: Exception | None = None
        fixed = self.options.port
        for _attempt in range(1 if fixed else 5):
            self.port = fixed or free_port()
            executor = PgCtlExecutor(
                initdb=[*self._command_prefix(), str(self.bindir / "initdb")],
                executable=pg_ctl,
                host="127.0.0.1",
                port=self.port,
                datadir=str(self.datadir),
                unixsocketdir=str(self.socket_dir),
                logfile=str(self.logfile),
                # -W: pg_ctl returns at once instead of polling every 100 ms until the server is up
                # (its default since PostgreSQL 10); we wait for the port and then a login ourselves.
                # A waiting pg_ctl would also outlive a fast run and be killed by the executor's stop.
                startparams="-W",
                sleep=0.005,
                dbname="postgres",
                user=self.superuser,
                timeout=self.options.start_timeout,
                postgres_options=" ".join(
                    s for s in (TEST_SETTINGS, self._cron_settings(), self.options.extra_settings) if s
                ),
            )
            try:
                executor.start()
            except AlreadyRunning as exc:  # someone else holds the port: pick another
                last = exc
                if fixed:
                    raise ServerError(
                        f"port {fixed} on 127.0.0.1 is already in use",
                        hint="choose another port, or leave the port unset to pick a free one",
                    ) from None
                continue
            except (ProcessExitedWithError, TimeoutExpired) as exc:
                log = self.log_tail()
                if "could not bind" in log or "Address already in use" in log:
                    last = exc
                    self._stop_quietly(executor)
                    continue
                self._stop_quietly(executor)
                raise ServerError(f"PostgreSQL did not start: {log or exc}") from None
            self._executor = executor
            self._wait_accepting()
            return
        raise ServerError(f"PostgreSQL could not find a free port after 5 tries: {last}")

    def _wait_accepting(self) -> None:
        """Wait until a login succeeds: the port opens before recovery or startup has finished."""
        deadline = time.monotonic() + self.options.start_timeout
        while True:
            try:
                psycopg.connect(self.conninfo(), connect_timeout=5).close()
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise ServerError(f"PostgreSQL did not accept connections: {exc}") from None
                time.sleep(0.005)

    def _cron_settings(self) -> str:
        if self.options.cron_database is None or not pg_cron_library(pkglibdir(self.bindir)):
            return ""
        return cron_settings(self.options.cron_database)

    def _stop_quietly(self, executor: PgCtlExecutor) -> None:
        with contextlib.suppress(Exception):
            executor.stop()

    def stop(self, *, salvage: Callable[[Path], object] | None = None) -> None:
        """Stop the server and delete its run directory. Safe to call twice.

        After a clean shutdown ``salvage(datadir)`` may move the data directory elsewhere first.
        """
        executor, self._executor = self._executor, None
        clean = False
        if executor is not None:
            try:
                executor.stop()
                clean = not (self.datadir / "postmaster.pid").exists()
            except Exception:
                _kill_postmaster(self.datadir)
        if self.run_dir is not None:
            if executor is None:
                _kill_postmaster(self.datadir)
            elif clean and salvage is not None:
                with contextlib.suppress(OSError):
                    salvage(self.datadir)
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir = None
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None
        atexit.unregister(self.stop)

    def __enter__(self) -> EphemeralServer:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # -- paths and connections ---------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._executor is not None

    @property
    def datadir(self) -> Path:
        assert self.run_dir is not None, "server not started"
        return self.run_dir / "data"

    @property
    def logfile(self) -> Path:
        assert self.run_dir is not None, "server not started"
        return self.run_dir / "postgresql.log"

    @property
    def socket_dir(self) -> Path:
        """Where the unix socket is: the run directory, or a short directory when that path is long."""
        assert self.run_dir is not None, "server not started"
        return self._socket_dir or self.run_dir

    def conninfo(self, dbname: str = "postgres", user: str | None = None) -> str:
        """A libpq connection string over the unix socket."""
        return psycopg.conninfo.make_conninfo(
            host=str(self.socket_dir), port=self.port, dbname=dbname, user=user or self.superuser
        )

    def url(self, dbname: str = "postgres", user: str | None = None) -> str:
        """The same as ``conninfo`` as a postgresql:// URL over loopback TCP."""
        return f"postgresql://{user or self.superuser}@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres", user: str | None = None, **kw: object) -> psycopg.Connection:
        """A new psycopg connection to ``dbname`` as ``user`` (the superuser by default)."""
        return psycopg.connect(self.conninfo(dbname, user), **kw)  # type: ignore[arg-type]

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except (OSError, AssertionError):
            return ""


def _traversable(path: Path, user: pwd.struct_passwd) -> bool:
    """Whether ``user`` may pass through every directory from / down to ``path``."""
    groups = {user.pw_gid, *(g.gr_gid for g in grp.getgrall() if user.pw_name in g.gr_mem)}
    for d in [path.resolve(), *path.resolve().parents]:
        st = d.stat()
        if st.st_uid == user.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def sigterm_as_interrupt() -> Callable[[], None]:
    """Make SIGTERM unwind like Ctrl-C, so servers are stopped; returns a function that undoes it.

    Python's default for SIGTERM exits without running cleanup, and CI time-outs and process
    managers send SIGTERM. A handler someone else installed is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        return lambda: None

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"terminated by signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_postmaster(datadir: Path) -> None:
    """Immediate shutdown of a server by its postmaster.pid, waiting for it to go.

    Only a process that is a postgres server of ``datadir`` is signalled: the pid in a stale
    postmaster.pid may since belong to anything else.
    """
    try:
        pid = int((datadir / "postmaster.pid").read_text().split("\n", 1)[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return
    if pid <= 1 or not cmdline or Path(cmdline[0].decode(errors="replace")).name not in ("postgres", "postmaster"):
        return
    if str(datadir).encode() not in cmdline and str(datadir.resolve()).encode() not in cmdline:
        return
    for sig in (signal.SIGQUIT, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.02)
        if not pid_alive(pid):
            return


def leftovers(run_dirs: list[Path]) -> list[str]:
    """Run directories that still exist and postgres processes still serving any of them."""
    found = [f"directory {d}" for d in run_dirs if d.exists()]
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "postgres" in cmdline and any(str(d) in cmdline for d in run_dirs):
            found.append(f"process {proc.name}: {cmdline.strip()}")
    return found


def reap_stale(root: Path) -> list[Path]:
    """Stop servers and delete run directories left by runs of this OS user that died.

    A run directory is stale when the process that created it no longer exists (a ``kill -9``
    or a crash). Returns the directories removed.
    """
    removed: list[Path] = []
    for run_dir in root.glob(f"{RUN_PREFIX}*"):
        owner = run_dir / OWNER_FILE
        try:
            info = json.loads(owner.read_text())
        except (OSError, ValueError):
            continue
        if info.get("uid") != os.getuid() or pid_alive(int(info.get("pid", 0))):
            continue
        _kill_postmaster(run_dir / "data")
        shutil.rmtree(run_dir, ignore_errors=True)
        removed.append(run_dir)
    return removed
