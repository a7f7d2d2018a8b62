"""A mirakuru executor that starts and stops PostgreSQL with ``pg_ctl``.

The same command lines as pytest-postgresql 10's ``PostgreSQLExecutor`` (which supamigrate used
until issue 12), without that package: installing it registers its own pytest plugin, whose
``postgresql_proc`` fixtures and ``--postgresql-*`` options would appear in every user's session
(and cannot start a server as root). Only Unix is supported, like the rest of the server code.
initdb runs with the options tests want, through the same command prefix as pg_ctl (``runuser``
as root).

Imported only when a server starts (``EphemeralServer.start``): mirakuru and psutil are not
cheap, and importing mirakuru arms the exit hook turned off below.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import mirakuru.base
from mirakuru import TCPExecutor
from mirakuru.exceptions import ProcessFinishedWithError, TimeoutExpired

from ..errors import ServerError

# mirakuru kills, at interpreter exit, every process whose `mirakuru_uuid` contains this process's
# pid as a *substring* (mirakuru.base_env.processes_with_env). With pids wrapping at 32768 and the
# marker holding a uuid4, any exiting Python process that imported mirakuru (a pytest subprocess,
# an xdist worker) could SIGKILL an unrelated live server. The server's stop() and reap_stale()
# clean up instead.
atexit.unregister(mirakuru.base.cleanup_subprocesses)

# pg_ctl's -o: the port, logs on stderr (pg_ctl's -l file) and the socket directory; single quotes
# are PostgreSQL's own string quoting.
SERVER_OPTIONS = (
    "-F -p {port} -c log_destination='stderr' -c logging_collector=off -c unix_socket_directories='{unixsocketdir}'"
)
LOCALE = "C.UTF-8"


class PgCtlExecutor(TCPExecutor):
    """initdb when the data directory is empty, ``pg_ctl start``, then waits for the port;
    ``stop()`` runs ``pg_ctl stop -m fast``. ``initdb`` and ``pg_ctl`` are the commands that run
    them (under root: ``runuser -u postgres -- .../pg_ctl``), always from ``/``, which every OS user
    may enter. They are argument lists, not a wrapper script written at start: a process forked
    while such a file is open for writing (sqlfluff's workers, linting in parallel) would keep it
    busy, and executing it would fail with "Text file busy"."""

    def __init__(
        self,
        *,
        initdb: Sequence[str],
        pg_ctl: Sequence[str],
        host: str,
        port: int,
        datadir: str,
        unixsocketdir: str,
        logfile: str,
        dbname: str,
        user: str,
        startparams: str = "",
        postgres_options: str = "",
        timeout: int = 60,
        sleep: float = 0.1,
    ) -> None:
        self.initdb = list(initdb)
        self.pg_ctl = list(pg_ctl)
        self.datadir = datadir
        self.unixsocketdir = unixsocketdir
        self.logfile = logfile
        self.dbname = dbname
        self.user = user
        self.startparams = startparams
        self.postgres_options = postgres_options
        options = SERVER_OPTIONS.format(port=port, unixsocketdir=unixsocketdir.replace("'", "''"))
        if postgres_options:
            options += f" {postgres_options}"
        command = [*self.pg_ctl, "start", "-D", datadir, "-o", options, "-l", logfile, *startparams.split()]
        super().__init__(
            command,
            host,
            port,
            cwd="/",
            timeout=timeout,
            sleep=sleep,
            envvars={"LC_ALL": LOCALE, "LC_CTYPE": LOCALE, "LANG": LOCALE},
        )

    def init_directory(self) -> None:
        """Run initdb with the options tests want (trust auth, no fsync, UTF-8, C locale)."""
        if Path(self.datadir, "PG_VERSION").exists():  # adopted from the cache, or started before
            return
        proc = subprocess.run(
            [
                *self.initdb,
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

    def start(self) -> Self:
        self.init_directory()
        return super().start()

    def running(self) -> bool:
        """Whether a server runs on the data directory (``pg_ctl status``), not just pg_ctl itself."""
        try:
            status = subprocess.run(
                [*self.pg_ctl, "status", "-D", self.datadir],
                capture_output=True,
                cwd="/",
                timeout=self._timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return True
        return status.returncode == 0

    def stop(self, stop_signal: int | None = None, expected_returncode: int | None = None) -> Self:
        """``pg_ctl stop -m fast`` (waits for the shutdown), then mirakuru reaps pg_ctl's process."""
        try:
            subprocess.run(
                [*self.pg_ctl, "stop", "-D", self.datadir, "-m", "f"],
                capture_output=True,
                cwd="/",
                timeout=self._timeout,
                check=True,
            )
        except subprocess.TimeoutExpired as exc:
            raise TimeoutExpired(self, self._timeout) from exc
        # mirakuru's own process is `pg_ctl start`, long gone (-W); its exit code says nothing now.
        with contextlib.suppress(ProcessFinishedWithError):
            super().stop(stop_signal, expected_returncode)
        return self
