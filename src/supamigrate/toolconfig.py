"""``supamigrate.toml`` beside ``supabase/``: the toolkit's own settings, parsed once into typed sections.

Kept out of config.toml so the Supabase CLI never sees keys it does not know. Every problem is
reported in one format, ``<path>: [section] key: expected <what>, got <value>``, with a hint that
lists what is known. The structure (sections, keys, types) is checked here when the project loads;
the names inside (shims, rule ids, advisor ids) are checked by the layer that knows them, through
``ToolConfig.require_known``, in the same format.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ProjectError

TOOL_CONFIG = "supamigrate.toml"


@dataclass(frozen=True)
class PlatformSection:
    """``[platform]``: ``shims``, the extensions a supamigrate shim may stand in for.

    ``None`` (the default, or ``shims = "auto"``): every shim, each used only where the server
    lacks the real extension; a list: only those; ``[]``: none.
    """

    shims: tuple[str, ...] | None = None


@dataclass(frozen=True)
class LintSection:
    """``[lint]``: ``disable`` (rule ids never reported), ``baseline`` (the newest migration version
    production has applied: later ones are new) and ``sqlfluff_level`` (what a sqlfluff finding is:
    ``auto``, ``warning`` or ``error``)."""

    disable: tuple[str, ...] = ()
    baseline: str | None = None
    sqlfluff_level: str = "auto"


# The values of [lint] sqlfluff_level: auto is error with the project's own sqlfluff config (as
# sqlfluff would judge it), warning with the bundled defaults.
SQLFLUFF_LEVELS = ("auto", "warning", "error")


@dataclass(frozen=True)
class AdvisorsSection:
    """``[advisors]``: ``disable`` (advisor ids) and ``ignore`` (``"<advisor>:<object>"``)."""

    disable: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()


@dataclass(frozen=True)
class MigrationsSection:
    """``[migrations]``: ``allow_lost_work``, apply a file whose work the Supabase CLI would lose
    (a ROLLBACK, a BEGIN never committed) with a warning instead of an error."""

    allow_lost_work: bool = False


@dataclass(frozen=True)
class SmokeSection:
    """``[smoke]``: the service requests ``check`` runs. ``enabled``; ``disable`` (request names);
    what a sign-up needs: ``email`` (its address gets ``+tag`` per request), ``phone``,
    ``user_metadata`` (the sign-up's ``options.data``); ``rpc``, functions to call through the Data
    API, each with its named arguments (``rpc = { "public.search" = { q = "x" } }``); where storage
and realtime requests go: ``storage_buckets`` (default: every bucket the policies let a signed-in
user write), ``storage_path`` and ``realtime_topic`` (``{user_id}`` is the run's user)."""

    enabled: bool = True
    disable: tuple[str, ...] = ()
    email: str | None = None
    phone: str | None = None
    user_metadata: dict[str, Any] = field(default_factory=dict)
    rpc: dict[str, Any] = field(default_factory=dict)
    storage_buckets: tuple[str, ...] = ()
    storage_path: str | None = None
    realtime_topic: str | None = None


# What each key of each section holds, as the error message says it.
_EXPECTED: dict[str, dict[str, str]] = {
    "platform": {"shims": 'a list of extension names, or "auto"'},
    "lint": {
        "disable": 'a list of rule ids, e.g. ["SB014"]',
        "baseline": 'a migration version as a string, e.g. "20240101000000"',
        "sqlfluff_level": f"one of {', '.join(SQLFLUFF_LEVELS)}",
    },
    "advisors": {"disable": "a list of strings (advisor ids)", "ignore": 'a list of strings ("advisor:object")'},
    "migrations": {"allow_lost_work": "true or false"},
    "smoke": {
        "enabled": "true or false",
        "disable": 'a list of request names, e.g. ["sign_up_phone"]',
        "email": 'an e-mail address, e.g. "smoke@example.com"',
        "phone": 'a phone number as GoTrue stores it, e.g. "15555550100"',
        "user_metadata": 'a table, e.g. { full_name = "Ada" }',
        "rpc": 'a table of function names to argument tables, e.g. { "public.f" = {} }',
        "storage_buckets": 'a list of bucket ids, e.g. ["avatars"]',
        "storage_path": 'an object path, e.g. "{user_id}/avatar.png"',
        "realtime_topic": 'a channel topic, e.g. "room:{user_id}"',
    },
}
_SECTIONS: dict[str, type[PlatformSection | LintSection | AdvisorsSection | MigrationsSection | SmokeSection]] = {
    "platform": PlatformSection,
    "lint": LintSection,
    "advisors": AdvisorsSection,
    "migrations": MigrationsSection,
    "smoke": SmokeSection,
}


def tool_error(path: Path | str, section: str, key: str | None, expected: str, got: str, hint: str) -> ProjectError:
    """The one error format of supamigrate.toml: file, ``[section] key``, what was expected, what was there."""
    where = f"[{section}]" + (f" {key}" if key else "")
    return ProjectError(f"{path}: {where}: expected {expected}, got {got}", hint=hint)


@dataclass(frozen=True)
class ToolConfig:
    """The parsed supamigrate.toml (every section at its default when the file is absent)."""

    path: Path
    platform: PlatformSection = PlatformSection()
    lint: LintSection = LintSection()
    advisors: AdvisorsSection = AdvisorsSection()
    migrations: MigrationsSection = MigrationsSection()
    smoke: SmokeSection = SmokeSection()
    settings: dict[str, Any] = field(default_factory=dict)  # [settings]: checked by settings.resolve
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def load(cls, root: Path) -> ToolConfig:
        """Read ``root/supamigrate.toml``: bad TOML, unknown sections or keys, wrong types are ProjectErrors."""
        path = root / TOOL_CONFIG
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, NotADirectoryError):
            return cls(path)
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ProjectError(f"{path}: invalid TOML: {exc}") from None
        return cls.from_mapping(data, path)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], path: Path) -> ToolConfig:
        """Check and type an already parsed table (``data``) as read from ``path``."""
        sections: dict[str, Any] = {}
        for name, value in data.items():
            if name not in _SECTIONS and name != "settings":
                raise tool_error(path, name, None, "a known section", f"unknown section [{name}]",
                                 hint=f"sections are {', '.join(f'[{s}]' for s in [*_SECTIONS, 'settings'])}")
            if not isinstance(value, dict):
                hint = f"write it as [{name}] followed by its keys"
                raise tool_error(path, name, None, "a table", repr(value), hint=hint)
            sections[name] = dict(value) if name == "settings" else _section(_SECTIONS[name], name, value, path)
        return cls(path, raw=dict(data), **sections)

    def require_known(self, section: str, key: str, names: Iterable[str], known: Iterable[str], what: str) -> None:
        """Raise the one-format error when ``names`` (read from ``[section] key``) hold any not in ``known``."""
        listed = list(names)
        known = list(known)
        unknown = sorted({n for n in listed if n not in known})
        if unknown:
            raise tool_error(
                self.path, section, key, f"known {what}", f"unknown {what}: {', '.join(unknown)}",
                hint=f"known {what}: {', '.join(known)}",
            )


def _valid_text(name: str, key: str, value: str) -> bool:
    """Whether a string value of ``[name] key`` is one it may hold."""
    if (name, key) == ("lint", "sqlfluff_level"):
        return value in SQLFLUFF_LEVELS
    if (name, key) == ("lint", "baseline"):
        return value.isdigit()
    return True


def _section(kind: type[Any], name: str, table: Mapping[str, Any], path: Path) -> Any:
    keys = [f.name for f in fields(kind)]
    lists = {f.name for f in fields(kind) if isinstance(f.default, tuple)}
    flags = {f.name for f in fields(kind) if isinstance(f.default, bool)}
    tables = {f.name for f in fields(kind) if f.default_factory is dict}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in keys:
            raise tool_error(path, name, key, "a known key", f"unknown key {key}",
                             hint=f"[{name}] takes {', '.join(keys)}")
        if (name, key, value) == ("platform", "shims", "auto"):
            values[key] = None
        elif key in flags:
            if not isinstance(value, bool):
                raise tool_error(path, name, key, _EXPECTED[name][key], repr(value),
                                 hint=f"write {key} = true or {key} = false")
            values[key] = value
        elif key in tables:
            if not isinstance(value, dict) or (key == "rpc" and not all(isinstance(v, dict) for v in value.values())):
                raise tool_error(path, name, key, _EXPECTED[name][key], repr(value),
                                 hint=f"[{name}] takes {', '.join(keys)}; {key} is {_EXPECTED[name][key]}")
            values[key] = dict(value)
        elif key in lists or (name, key) == ("platform", "shims"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise tool_error(path, name, key, _EXPECTED[name][key], repr(value),
                                 hint=f"[{name}] takes {', '.join(keys)}; {key} is {_EXPECTED[name][key]}")
            values[key] = tuple(value)
        elif isinstance(value, str) and _valid_text(name, key, value):
            values[key] = value
        else:
            raise tool_error(path, name, key, _EXPECTED[name][key], repr(value),
                             hint=f"[{name}] takes {', '.join(keys)}; {key} is {_EXPECTED[name][key]}")
    return kind(**values)
