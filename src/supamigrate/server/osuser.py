"""Running the server as another OS user: initdb and pg_ctl refuse to run as root."""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import stat
from pathlib import Path

from ..errors import ServerError

OS_USER_VARIABLE = "SUPAMIGRATE_OS_USER"


def server_os_user(name: str | None = None) -> pwd.struct_passwd | None:
    """The unprivileged user server processes run as when we are root (None when we are not).

    ``name`` when given (the os_user setting), else ``postgres``, else ``nobody``.
    """
    if os.geteuid() != 0:
        return None
    for candidate in [name] if name else ["postgres", "nobody"]:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(candidate)
    raise ServerError(
        f"running as root, and OS user {name or 'postgres'} does not exist to run the server as",
        hint=f"create it (`useradd --system postgres`) or set {OS_USER_VARIABLE} to an unprivileged user",
    )


def command_prefix(user: pwd.struct_passwd | None) -> list[str]:
    """What runs a command as ``user`` (nothing when the server runs as ourselves)."""
    if user is None:
        return []
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", user.pw_name, "--"]


def hand_over(path: Path, user: pwd.struct_passwd) -> None:
    """Give ``path`` (not its contents) to ``user``, readable and traversable by all."""
    path.chmod(0o755)
    os.lchown(path, user.pw_uid, user.pw_gid)


def traversable(path: Path, user: pwd.struct_passwd) -> bool:
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
