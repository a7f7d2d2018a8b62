"""Ephemeral PostgreSQL servers: binaries, run directories, the OS user, the server itself.

Knows nothing of the platform or of projects: whatever an extension needs of the server comes
in as ``ServerOptions.extra_settings``, and every location and user comes in as a parameter
(the faces resolve the environment). Importing it turns off mirakuru's exit hook (see ephemeral).
"""

from __future__ import annotations

from .binaries import (
    PACKAGE_HINT,
    PgInstall,
    find_bindir,
    pkglibdir,
    registry_install_dirs,
    server_version,
    sharedir,
)
from .ephemeral import SUPERUSER, TEST_SETTINGS, EphemeralServer, ServerOptions, free_port, version_mismatch
from .osuser import server_os_user, traversable
from .rundirs import (
    OWNER_FILE,
    RUN_PREFIX,
    RUN_ROOT_VARIABLE,
    STARTED_RUN_DIRS,
    default_run_root,
    kill_postmaster,
    leftovers,
    pid_alive,
    reap_stale,
)

__all__ = [
    "OWNER_FILE",
    "PACKAGE_HINT",
    "RUN_PREFIX",
    "RUN_ROOT_VARIABLE",
    "STARTED_RUN_DIRS",
    "SUPERUSER",
    "TEST_SETTINGS",
    "EphemeralServer",
    "PgInstall",
    "ServerOptions",
    "default_run_root",
    "find_bindir",
    "free_port",
    "kill_postmaster",
    "leftovers",
    "pid_alive",
    "pkglibdir",
    "reap_stale",
    "registry_install_dirs",
    "server_os_user",
    "server_version",
    "sharedir",
    "traversable",
    "version_mismatch",
]
