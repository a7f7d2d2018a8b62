"""The ephemeral PostgreSQL server, started with pg_ctl through a mirakuru executor (``pgctl``).

``initdb`` and ``pg_ctl`` refuse to run as root, so under root every server command runs as an
unprivileged OS user (``postgres`` where it exists) through ``runuser``, and the data directory is
handed to that user. The server listens on 127.0.0.1 and on a unix socket in its own run
directory, is tuned for tests (no fsync), and is stopped and deleted by ``stop()``, at interpreter
exit, or by the next run when a killed one left it behind (``reap_stale``). It knows nothing of the
platform: settings an extension needs (pg_cron's preload) come in ``ServerOptions.extra_settings``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import psycopg

from ..errors import ServerError
from .binaries import PgInstall
from .osuser import OS_USER_VARIABLE, command_prefix, hand_over, server_os_user, traversable
from .rundirs import (
    RUN_PREFIX,
    RUN_ROOT_VARIABLE,
    STARTED_RUN_DIRS,
    adopt_orphans,
    default_run_root,
    kill_postmaster,
    postmaster_pid,
    reap,
    reap_stale,
    write_owner,
)

if TYPE_CHECKING:
    from .pgctl import PgCtlExecutor

# mirakuru's exit hook may SIGKILL live servers of other runs (see pgctl, which turns it off when
# a server starts); in a process that loaded mirakuru before this module, it is turned off now.
if "mirakuru.base" in sys.modules:
    atexit.unregister(sys.modules["mirakuru.base"].cleanup_subprocesses)

SUPERUSER = "supabase_admin"
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


@dataclass(frozen=True)
class ServerOptions:
    """How to start an ephemeral server. Every field has a sensible default.

    ``install`` (found once, e.g. by the build) wins over ``bindir``/``major``. ``tmp_root`` is where
    the run directory goes (default: RAM or the temp directory); ``os_user`` is who the server runs
    as under root (default ``postgres``); ``extra_settings`` are more ``-c name=value`` options.
    """

    bindir: Path | None = None
    major: int | None = None
    tmp_root: Path | None = None  # where the run directory goes (the run_dir setting, or the cache's)
    os_user: str | None = None  # the OS user the server runs as under root (the os_user setting)
    port: int | None = None
    superuser: str = SUPERUSER
    extra_settings: str = ""
    start_timeout: int = 60
    install: PgInstall | None = None


class EphemeralServer:
    """A PostgreSQL server that lives in a temporary run directory and is deleted on stop.

    Use as a context manager, or call ``start()`` and ``stop()``. ``start(adopt=...)`` may put a
    stopped data directory in place instead of running initdb, and ``stop(salvage=...)`` may take
    the data directory away after a clean shutdown (that is how the cache moves clusters around).
    """

    def __init__(self, options: ServerOptions | None = None) -> None:
        self.options = options or ServerOptions()
        self.install = self.options.install or PgInstall.find(self.options.bindir, major=self.options.major)
        self.bindir = self.install.bindir
        self.os_user = server_os_user(self.options.os_user)
        self.superuser = self.options.superuser
        self.run_dir: Path | None = None
        self._socket_dir: Path | None = None
        self.port: int = 0
        self._executor: PgCtlExecutor | None = None
        self._postmaster: int | None = None  # its pid, to collect its exit once it has stopped
        self.major, self.version_line = self.install.major, self.install.version_line

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, *, adopt: Callable[[Path], object] | None = None) -> EphemeralServer:
        """Create the run directory, let ``adopt(datadir)`` fill it or run initdb, and start."""
        if self._executor is not None:
            return self
        root = self.options.tmp_root or default_run_root()
        if self.os_user is not None and root.is_dir() and not traversable(root, self.os_user):
            raise ServerError(
                f"the server runs as OS user {self.os_user.pw_name}, who cannot reach {root}",
                hint=f"use a directory every user can traverse ({RUN_ROOT_VARIABLE}=/tmp or /var/tmp),"
                f" or set {OS_USER_VARIABLE}",
            )
        if self.os_user is not None and not traversable(self.bindir, self.os_user):
            # Binaries installed under root's home (tools/pg17/install.sh ~/.cache/...) would fail
            # in initdb with "could not find a postgres to execute".
            raise ServerError(
                f"the server runs as OS user {self.os_user.pw_name}, who cannot reach the binaries in {self.bindir}",
                hint="install them where every user can traverse (tools/pg17/install.sh defaults to"
                " /opt/supamigrate/pg17 as root)",
            )
        for place in {root, Path("/tmp")}:  # /tmp: the short socket directories of deep run directories
            reap_stale(place)
        try:
            self.run_dir = Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=root))
        except OSError as exc:
            raise ServerError(
                f"cannot create a run directory in {root}: {exc.strerror}",
                hint=f"free disk space there or set {RUN_ROOT_VARIABLE} to a writable directory",
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
        write_owner(self.run_dir, started=time.time())
        if self.os_user is not None:
            # The server runs as another OS user: it must own what it writes to. An adopted data
            # directory already belongs to it (it was made by the same user), so only fix the rest.
            uid, gid = self.os_user.pw_uid, self.os_user.pw_gid
            hand_over(self.run_dir, self.os_user)
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
        write_owner(self._socket_dir)
        if self.os_user is not None:
            hand_over(self._socket_dir, self.os_user)

    def _start_with_free_port(self) -> None:
        # mirakuru (and psutil) only once a server starts: importing this module stays cheap.
        from mirakuru.exceptions import AlreadyRunning, ProcessExitedWithError, TimeoutExpired

        from .pgctl import PgCtlExecutor

        assert self.run_dir is not None
        last: Exception | None = None
        fixed = self.options.port
        for _attempt in range(1 if fixed else 5):
            self.port = fixed or free_port()
            executor = PgCtlExecutor(
                initdb=[*command_prefix(self.os_user), str(self.bindir / "initdb")],
                pg_ctl=[*command_prefix(self.os_user), str(self.bindir / "pg_ctl")],
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
                    s for s in (TEST_SETTINGS, self.options.extra_settings) if s
                ),
            )
            adopt_orphans()  # so that the postmaster pg_ctl leaves parentless is ours to reap
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
            self._postmaster = postmaster_pid(self.datadir)
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

    def _stop_quietly(self, executor: PgCtlExecutor) -> None:
        with contextlib.suppress(Exception):
            executor.stop()

    def stop(self, *, salvage: Callable[[Path], object] | None = None) -> None:
        """Stop the server and delete its run directory. Safe to call twice.

        After a clean shutdown ``salvage(datadir)`` may move the data directory elsewhere first.
        """
        executor, self._executor = self._executor, None
        if self._postmaster is None and self.run_dir is not None:
            self._postmaster = postmaster_pid(self.datadir)
        clean = False
        if executor is not None:
            try:
                executor.stop()
                clean = not (self.datadir / "postmaster.pid").exists()
            except Exception:
                kill_postmaster(self.datadir)
        if self.run_dir is not None:
            if executor is None:
                kill_postmaster(self.datadir)
            reap(self._postmaster)
            self._postmaster = None
            if executor is not None and clean and salvage is not None:
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
