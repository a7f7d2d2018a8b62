"""An ephemeral PostgreSQL server, started through pytest-postgresql's process machinery.

``initdb`` and ``pg_ctl`` refuse to run as root, so under root every server command runs as an
unprivileged OS user (``postgres`` where it exists) through ``runuser``, and the data directory is
handed to that user. The server listens on 127.0.0.1 and on a unix socket in its own run
directory, is tuned for tests (no fsync), and is stopped and deleted by ``stop()``, at interpreter
exit, or by the next run when a killed one left it behind (``reap_stale``).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import psycopg
from mirakuru.exceptions import AlreadyRunning, ProcessExitedWithError, TimeoutExpired
from port_for import get_port
from pytest_postgresql.executors import PostgreSQLExecutor

from .errors import ServerError
from .platform.extensions import cron_settings, pg_cron_library

RUN_PREFIX = "supamigrate-"
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
)
_BINARIES = ("pg_ctl", "initdb", "postgres")


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


def server_major(bindir: Path) -> int:
    """Major version of the server binaries in ``bindir`` (``postgres --version``)."""
    out = subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, timeout=30)
    m = re.search(r"(\d+)(?:\.\d+)?", out.stdout)
    if out.returncode != 0 or not m:
        raise ServerError(f"could not read the version of {bindir / 'postgres'}: {out.stderr.strip()}")
    return int(m.group(1))


def _server_os_user() -> pwd.struct_passwd | None:
    """The unprivileged user server processes run as when we are root (None when we are not)."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("SUPAMIGRATE_OS_USER")
    for candidate in ([name] if name else ["postgres", "nobody"]):
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
    superuser: str = SUPERUSER
    extra_settings: str = ""
    start_timeout: int = 60
    # The database that may hold the real pg_cron (its library is preloaded for it) when installed.
    cron_database: str | None = None


class _Executor(PostgreSQLExecutor):
    """pytest-postgresql's executor, with a faster initdb that can also run as another OS user."""

    def __init__(self, *, initdb: list[str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._initdb = initdb

    def init_directory(self) -> None:
        """Run initdb with the options tests want (trust auth, no fsync, UTF-8, C locale)."""
        if Path(self.datadir, "PG_VERSION").exists():
            return
        proc = subprocess.run(
            [
                *self._initdb,
                "--pgdata",
                self.datadir,
                f"--username={self.user}",
                "--auth=trust",
                "--no-sync",
                "--no-instructions",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            capture_output=True,
            text=True,
            env={**os.environ, **self.envvars},
            timeout=self._timeout,
            cwd="/",
        )
        if proc.returncode != 0:
            raise ServerError(f"initdb failed ({proc.returncode}): {proc.stderr.strip()[-800:]}")


class EphemeralServer:
    """A PostgreSQL server that lives in a temporary run directory and is deleted on stop.

    Use as a context manager, or call ``start()`` and ``stop()``. ``datadir_source`` starts it
    from a copy of an existing (stopped) data directory instead of running initdb.
    """

    def __init__(self, options: ServerOptions | None = None) -> None:
        self.options = options or ServerOptions()
        self.bindir = find_bindir(self.options.bindir, major=self.options.major)
        self.os_user = _server_os_user()
        self.superuser = self.options.superuser
        self.run_dir: Path | None = None
        self.port: int = 0
        self._executor: _Executor | None = None
        self.major = server_major(self.bindir)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self, *, datadir_source: Path | None = None) -> EphemeralServer:
        """Create the run directory, initialise (or copy) the data directory and start."""
        if self._executor is not None:
            return self
        root = self.options.tmp_root or Path(tempfile.gettempdir())
        reap_stale(root)
        try:
            self.run_dir = Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=root))
        except OSError as exc:
            raise ServerError(
                f"cannot create a run directory in {root}: {exc.strerror}",
                hint="free disk space there or set SUPAMIGRATE_TMPDIR to a writable directory",
            ) from None
        atexit.register(self.stop)
        try:
            self._prepare_run_dir(datadir_source)
            self._start_with_free_port()
        except BaseException:
            self.stop()
            raise
        return self

    def _prepare_run_dir(self, datadir_source: Path | None) -> None:
        assert self.run_dir is not None
        (self.run_dir / OWNER_FILE).write_text(
            json.dumps({"pid": os.getpid(), "uid": os.getuid(), "started": time.time()})
        )
        if datadir_source is not None:
            try:
                shutil.copytree(datadir_source, self.datadir, symlinks=True)
            except OSError as exc:
                raise ServerError(f"cannot copy the cached data directory: {exc}") from None
            with contextlib.suppress(FileNotFoundError):
                (self.datadir / "postmaster.pid").unlink()
        if self.os_user is not None:
            # The server runs as another OS user: it must own everything it writes to.
            self.run_dir.chmod(0o755)
            for path in [self.run_dir, *self.run_dir.rglob("*")]:
                os.lchown(path, self.os_user.pw_uid, self.os_user.pw_gid)
        if datadir_source is not None:
            self.datadir.chmod(0o700)

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
        assert self.run_dir is not None
        pg_ctl = self._pg_ctl()
        last: Exception | None = None
        for _attempt in range(5):
            self.port = int(get_port(None) or 0)
            executor = _Executor(
                initdb=[*self._command_prefix(), str(self.bindir / "initdb")],
                executable=pg_ctl,
                host="127.0.0.1",
                port=self.port,
                datadir=str(self.datadir),
                unixsocketdir=str(self.run_dir),
                logfile=str(self.logfile),
                startparams="-w",
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
                continue
            except (ProcessExitedWithError, TimeoutExpired) as exc:
                log = self.log_tail()
                if "could not bind" in log or "Address already in use" in log:
                    last = exc
                    self._stop_quietly(executor)
                    continue
                self._stop_quietly(executor)
                raise ServerError(f"PostgreSQL did not start: {log or exc}") from None
            try:
                # The executor calls the server started once its port accepts TCP, which happens
                # before recovery ends ("the database system is starting up"): wait for a login.
                executor.wait_for(self._accepts_logins)
            except TimeoutExpired:
                self._stop_quietly(executor)
                raise ServerError(f"PostgreSQL did not accept connections: {self.log_tail()}") from None
            self._executor = executor
            return
        raise ServerError(f"PostgreSQL could not find a free port after 5 tries: {last}")

    def _accepts_logins(self) -> bool:
        try:
            psycopg.connect(self.conninfo(), connect_timeout=5).close()
        except psycopg.OperationalError as exc:
            if "starting up" in str(exc) or "No such file" in str(exc):
                return False
            raise
        return True

    def _cron_settings(self) -> str:
        if self.options.cron_database is None or not pg_cron_library(pkglibdir(self.bindir)):
            return ""
        return cron_settings(self.options.cron_database)

    def _stop_quietly(self, executor: _Executor) -> None:
        with contextlib.suppress(Exception):
            executor.stop()

    def stop(self) -> None:
        """Stop the server and delete its run directory. Safe to call twice."""
        executor, self._executor = self._executor, None
        if executor is not None:
            try:
                executor.stop()
            except Exception:
                _kill_postmaster(self.datadir)
        if self.run_dir is not None:
            if executor is None:
                _kill_postmaster(self.datadir)
            shutil.rmtree(self.run_dir, ignore_errors=True)
            self.run_dir = None
        atexit.unregister(self.stop)

    def __enter__(self) -> EphemeralServer:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
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
        assert self.run_dir is not None, "server not started"
        return self.run_dir

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


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_postmaster(datadir: Path) -> None:
    """Immediate shutdown of a server by its postmaster.pid, waiting for it to go."""
    try:
        pid = int((datadir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        cmdline = b"postgres"
    if b"postgres" not in cmdline:  # the pid was reused by something else
        return
    for sig in (signal.SIGQUIT, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _pid_alive(pid):
            time.sleep(0.02)
        if not _pid_alive(pid):
            return


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
        if info.get("uid") != os.getuid() or _pid_alive(int(info.get("pid", 0))):
            continue
        _kill_postmaster(run_dir / "data")
        shutil.rmtree(run_dir, ignore_errors=True)
        removed.append(run_dir)
    return removed
