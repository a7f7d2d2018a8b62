"""supamigrate: lint, apply and test Supabase migrations on a real, local PostgreSQL, without Docker.

The public API is what ``__all__`` names: the commands as typed functions (``check``, ``apply``,
``dump``, ``new_migration``, ``lint``, ``preflight``, ``advise``, ``check_upgrade``), their results, and the errors they
raise.
Besides it, these modules are public: ``supamigrate.cli`` (``run`` and ``main``), the pytest plugin
(its fixtures and options), ``supamigrate.advisors`` (``run_advisors``), ``supamigrate.auth``
(``create_user``), ``supamigrate.callers`` (``Caller``, ``acting_as``) and ``supamigrate.platform.facts``.
Every other module is internal and may change without notice.

Names are imported on first use (PEP 562): ``import supamigrate`` costs nothing, so the command
line's ``--help`` and the pytest plugin do not pay for psycopg, pglast or sqlfluff up front.

Four commands share their name with the module that holds them (``lint``, ``dump``,
``preflight``, ``advise``): ``supamigrate.lint`` is always the function, whichever was imported first; the
modules stay importable by their dotted names (``from supamigrate.lint import RULES``).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .advise import AdviseReport, advise
    from .cache import Cache
    from .commands import CheckReport, DumpResult, apply, check, dump, new_migration
    from .errors import (
        ConnectionFailed,
        ExtensionUnavailable,
        HistoryMismatch,
        MigrationError,
        ProjectError,
        RemoteRefused,
        ServerError,
        SettingsError,
        SqlLocation,
        StubFailed,
        SupamigrateError,
    )
    from .findings import FileLocation, Finding, Level, ObjectLocation
    from .lint import LintReport, lint
    from .migrations import ApplyResult, MigrationSet
    from .preflight import PreflightReport, preflight
    from .project import Project
    from .settings import Settings
    from .upgrade import UpgradeReport, check_upgrade

__version__ = "0.1.0"

# Each public name and the module (relative to this package) that defines it.
_EXPORTS: dict[str, str] = {
    "check": "commands",
    "apply": "commands",
    "dump": "commands",
    "new_migration": "commands",
    "lint": "lint",
    "preflight": "preflight",
    "advise": "advise",
    "AdviseReport": "advise",
    "CheckReport": "commands",
    "DumpResult": "commands",
    "ApplyResult": "migrations",
    "LintReport": "lint",
    "PreflightReport": "preflight",
    "Finding": "findings",
    "Level": "findings",
    "FileLocation": "findings",
    "ObjectLocation": "findings",
    "Settings": "settings",
    "Project": "project",
    "MigrationSet": "migrations",
    "Cache": "cache",
    "SupamigrateError": "errors",
    "ProjectError": "errors",
    "ServerError": "errors",
    "ConnectionFailed": "errors",
    "RemoteRefused": "errors",
    "MigrationError": "errors",
    "SqlLocation": "errors",
    "ExtensionUnavailable": "errors",
    "StubFailed": "errors",
    "HistoryMismatch": "errors",
    "SettingsError": "errors",
    "check_upgrade": "upgrade",
    "UpgradeReport": "upgrade",
}
# Exported functions named like a submodule: importing the submodule must not rebind them.
_SHADOWED = frozenset({"lint", "dump", "preflight", "advise"})

__all__ = [
    "AdviseReport",
    "ApplyResult",
    "Cache",
    "CheckReport",
    "ConnectionFailed",
    "DumpResult",
    "ExtensionUnavailable",
    "FileLocation",
    "Finding",
    "HistoryMismatch",
    "Level",
    "LintReport",
    "MigrationError",
    "MigrationSet",
    "ObjectLocation",
    "PreflightReport",
    "Project",
    "ProjectError",
    "RemoteRefused",
    "ServerError",
    "Settings",
    "SettingsError",
    "SqlLocation",
    "StubFailed",
    "SupamigrateError",
    "UpgradeReport",
    "__version__",
    "advise",
    "apply",
    "check",
    "check_upgrade",
    "dump",
    "lint",
    "new_migration",
    "preflight",
]


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value  # later look-ups find it without this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


class _Package(types.ModuleType):
    """This package's module type: the import system binds each loaded submodule as an attribute of
    its package, which for ``lint``, ``dump``, ``preflight`` and ``advise`` would replace the exported function
    (or, before its first use, shadow it) with the module, depending on what was imported first."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _SHADOWED and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
