"""Run directories: where each server lives, who made it, and reaping the ones dead runs left."""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from ..paths import ram_dir, usable_dir

RUN_PREFIX = "supamigrate-"
# Every run directory this process made, so a test session can prove none outlived it.
STARTED_RUN_DIRS: list[Path] = []
OWNER_FILE = "owner.json"
# The variable that moves run directories (Python's temp directory); named in hints.
RUN_ROOT_VARIABLE = "SUPAMIGRATE_RUN_DIR"


def default_run_root(run_root: str | os.PathLike[str] | None = None) -> Path:
    """Where run directories go without the cache: ``run_root`` if given (the run_dir setting),
    else RAM, else the temp directory."""
    if run_root:
        return Path(run_root)
    ram = ram_dir()
    if ram is not None:
        runs = ram / f"supamigrate-runs-{os.geteuid()}"
        if usable_dir(runs):
            runs.mkdir(mode=0o711, exist_ok=True)
            runs.chmod(0o711)  # under root, the server's OS user passes through it
            return runs
    return Path(tempfile.gettempdir())


def write_owner(run_dir: Path, **extra: object) -> None:
    """Mark ``run_dir`` as this process's, so a later run knows when it is stale."""
    (run_dir / OWNER_FILE).write_text(json.dumps({"pid": os.getpid(), "uid": os.getuid(), **extra}))


_PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
_adopting = False


def adopt_orphans() -> None:
    """Become the reaper of this process's orphaned descendants (Linux; elsewhere a no-op).

    ``pg_ctl start`` leaves the postmaster without a parent, so it goes to PID 1, and where PID 1
    does not collect exits (a container's or a micro-VM's init) every stopped server stays behind
    as a ``<defunct>`` entry. As a subreaper this process gets the postmaster instead, and
    ``reap`` collects it once it has stopped.
    """
    global _adopting
    if _adopting or not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0:
            _adopting = True


def reaped(pid: int) -> bool:
    """Collect ``pid``'s exit if it is a child of this process that has ended; whether it is gone."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:  # not ours (or collected already): only its absence tells
        return not pid_alive(pid)
    return done == pid


def reap(pid: int | None, timeout: float = 5.0) -> None:
    """Wait (at most ``timeout`` s) for a stopped server's postmaster to exit, collecting it."""
    if pid is None:
        return
    deadline = time.monotonic() + timeout
    while not reaped(pid) and time.monotonic() < deadline:
        time.sleep(0.005)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def postmaster_pid(datadir: Path) -> int | None:
    """The pid ``datadir``'s postmaster.pid names, if it can be read."""
    try:
        return int((datadir / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


def kill_postmaster(datadir: Path) -> None:
    """Immediate shutdown of a server by its postmaster.pid, waiting for it to go.

    Only a process that is a postgres server of ``datadir`` is signalled: the pid in a stale
    postmaster.pid may since belong to anything else.
    """
    pid = postmaster_pid(datadir)
    if pid is None:
        return
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return
    if pid <= 1 or not cmdline or Path(cmdline[0].decode(errors="replace")).name not in ("postgres", "postmaster"):
        return
    if str(datadir).encode() not in cmdline and str(datadir.resolve()).encode() not in cmdline:
        return
    for sig in (signal.SIGQUIT, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not reaped(pid):
            time.sleep(0.02)
        if reaped(pid):
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
        kill_postmaster(run_dir / "data")
        shutil.rmtree(run_dir, ignore_errors=True)
        removed.append(run_dir)
    return removed
