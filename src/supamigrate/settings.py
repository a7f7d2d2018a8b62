"""Every setting of the toolkit, described once and resolved in one place.

``SETTINGS`` is the single table: each ``Setting`` names its environment variable(s), its pytest
ini key and option (``supamigrate_<name>``, ``--supamigrate-<name>``), its command-line flag and
its default. The plugin's options, the CLI's shared options and the README's table are all made
from it, so the faces cannot drift apart. ``resolve`` applies the one precedence:

    explicit argument > command-line option > environment variable > ini > supamigrate.toml > default

and returns a frozen ``Settings``. The core never reads these variables; the faces pass the values.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from .errors import SettingsError
from .findings import FAIL_ON
from .paths import CACHE_MAX_ENTRIES, CACHE_MAX_MB
from .project import find_root
from .toolconfig import ToolConfig, tool_error

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class Kind:
    """How a setting's text becomes its value: ``parse`` raises ValueError on a bad one."""

    expected: str
    parse: Callable[[object], object]
    choices: tuple[str, ...] | None = None


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError
    return value


def _path(value: object) -> Path:
    if isinstance(value, Path):
        return value
    text = _text(value)
    if not text:
        raise ValueError
    return Path(text)


def _milliseconds(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError
    number = value if isinstance(value, int) else int(_text(value).strip())
    if number < 0:
        raise ValueError
    return number


def _boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    word = _text(value).strip().lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise ValueError


def _choice(*choices: str) -> Kind:
    def parse(value: object) -> str:
        if _text(value) not in choices:
            raise ValueError
        return str(value)

    return Kind(f"one of {', '.join(choices)}", parse, choices)


def _count(value: object) -> int:
    if isinstance(value, bool):
        raise ValueError
    number = value if isinstance(value, int) else int(_text(value).strip())
    if number < 1:
        raise ValueError
    return number


PATH = Kind("a path", _path)
COUNT = Kind("a whole number (1 or more)", _count)
TEXT = Kind("a string", _text)
MILLISECONDS = Kind("a whole number of milliseconds (0 or more)", _milliseconds)
BOOLEAN = Kind(f"a boolean ({'/'.join(_TRUE)} or {'/'.join(_FALSE)})", _boolean)


@dataclass(frozen=True)
class Setting:
    """One setting: where it may come from, what it holds, and how the README describes it."""

    name: str
    field: str  # the attribute of Settings
    kind: Kind
    default: object
    default_text: str  # the default as the README shows it
    help: str
    env: tuple[str, ...] = ()  # the first one set wins
    plugin: bool = True  # has the pytest option --supamigrate-<name> and ini key supamigrate_<name>
    cli: str | None = None  # the command-line flag, on the commands it fits
    cli_negates: bool = False  # the flag takes no value and turns the setting off (--no-cache)
    metavar: str | None = None
    cli_help: str | None = None  # the flag's help where it says it the other way round (--no-seed)
    example: object = None  # a value to show where the default is "none" (supamigrate init's file)

    @property
    def ini_key(self) -> str | None:
        return f"supamigrate_{self.name}" if self.plugin else None

    @property
    def plugin_flag(self) -> str | None:
        return f"--supamigrate-{self.name.replace('_', '-')}" if self.plugin else None

    @property
    def dest(self) -> str:
        """The argparse destination of either face's option."""
        return f"supamigrate_{self.name}"


SETTINGS: tuple[Setting, ...] = (
    Setting("project_dir", "project_dir", PATH, None,
            "the nearest of `.` and its parents holding `supabase/config.toml` (plugin: else the nearest from"
            " pytest's rootdir up); else `.` (CLI), the rootdir (plugin)",
            "directory holding supabase/", env=("SUPAMIGRATE_PROJECT_DIR",), cli="--project-dir"),
    Setting("db_url", "db_url", TEXT, None, "none: start an ephemeral server",
            "run the tests against this existing server instead of starting one",
            env=("SUPAMIGRATE_DB_URL",), example="postgresql://postgres:postgres@127.0.0.1:54322/postgres"),
    Setting("pg_bin", "pg_bin", PATH, None,
            "config.toml's major (`/usr/lib/postgresql/<major>/bin`, `make pg17`'s), else PATH / pg_config"
            " / `/usr/lib/postgresql/*/bin`",
            "directory of the PostgreSQL server binaries (pg_ctl, initdb)",
            env=("SUPAMIGRATE_PG_BIN",), cli="--pg-bin", example="/usr/lib/postgresql/15/bin"),
    Setting("statement_timeout", "statement_timeout_ms", MILLISECONDS, None, "none",
            "cancel any migration statement running longer than this many milliseconds",
            env=("SUPAMIGRATE_STATEMENT_TIMEOUT",), cli="--statement-timeout", metavar="MS", example=60000),
    Setting("seed", "seed", BOOLEAN, True, "`true`", "run the seed files",
            env=("SUPAMIGRATE_SEED",), cli="--no-seed", cli_negates=True, cli_help="do not run the seed files"),
    Setting("cache", "cache", BOOLEAN, True, "`true`", "reuse migrated clusters between runs",
            env=("SUPAMIGRATE_CACHE",), cli="--no-cache", cli_negates=True,
            cli_help="start from initdb instead of a cached cluster"),
    Setting("cache_dir", "cache_dir", PATH, None,
            "`/dev/shm/supamigrate-cache-<uid>`, else `~/.cache/supamigrate` (root: `/var/tmp/supamigrate-cache-0`)",
            "where the cache of migrated clusters lives", env=("SUPAMIGRATE_CACHE_DIR",),
            example="/var/tmp/supamigrate-cache"),
    Setting("cache_max_entries", "cache_max_entries", COUNT, CACHE_MAX_ENTRIES, f"`{CACHE_MAX_ENTRIES}`",
            "most clusters the cache keeps; the least recently used go first",
            env=("SUPAMIGRATE_CACHE_MAX_ENTRIES",)),
    Setting("cache_max_mb", "cache_max_mb", COUNT, CACHE_MAX_MB, f"`{CACHE_MAX_MB}`",
            "most megabytes the cache's clusters take; the least recently used go first",
            env=("SUPAMIGRATE_CACHE_MAX_MB",)),
    Setting("run_dir", "run_dir", PATH, None, "`/dev/shm/supamigrate-runs-<uid>`, else the temp directory",
            "where servers started without the cache get their run directories",
            env=("SUPAMIGRATE_RUN_DIR", "TMPDIR"), example="/var/tmp/supamigrate-runs"),
    Setting("os_user", "os_user", TEXT, None, "`postgres`, else `nobody`",
            "the unprivileged OS user the server runs as when supamigrate runs as root",
            env=("SUPAMIGRATE_OS_USER",), example="postgres"),
    Setting("fail_on", "fail_on", _choice(*FAIL_ON), "error", "`error`",
            "lowest finding level that fails `check` and `preflight`",
            env=("SUPAMIGRATE_FAIL_ON",), plugin=False, cli="--fail-on"),
    Setting("upgrade", "upgrade", BOOLEAN, False, "`false`",
            "also check the upgrade: new migrations on the base revision's schema and seed equal a fresh build"
            " (`check --upgrade`, and a pytest item)",
            env=("SUPAMIGRATE_UPGRADE",)),
    Setting("pgdelta", "pgdelta", PATH, None,
            "`pgdelta` on PATH, else `<venv>/node/node_modules/.bin/pgdelta` (`make setup` installs it there),"
            " else the project's `node_modules/.bin/pgdelta`",
            "the pg-delta executable `diff` and `check`'s drift run (npm package `@supabase/pg-delta`)",
            env=("SUPAMIGRATE_PGDELTA",), plugin=False, cli="--pgdelta",
            example="node_modules/.bin/pgdelta"),
)
BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """The resolved configuration of one run; see ``SETTINGS`` for what each field means."""

    project_dir: Path = Path(".")
    db_url: str | None = None
    pg_bin: Path | None = None
    statement_timeout_ms: int | None = None
    seed: bool = True
    cache: bool = True
    cache_dir: Path | None = None
    cache_max_entries: int = CACHE_MAX_ENTRIES
    cache_max_mb: int = CACHE_MAX_MB
    run_dir: Path | None = None
    os_user: str | None = None
    fail_on: str = "error"
    upgrade: bool = False
    pgdelta: Path | None = None


assert [s.field for s in SETTINGS] == [f.name for f in fields(Settings)], "SETTINGS and Settings disagree"


def parse(setting: Setting, value: object, source: str) -> Any:
    """``value`` as ``setting`` holds it; a SettingsError naming ``source`` when it is not one."""
    try:
        return setting.kind.parse(value)
    except ValueError:
        raise SettingsError(
            f"{source}: expected {setting.kind.expected}, got {value!r}",
            hint=f"{setting.name}: {setting.help}",
        ) from None


def resolve(
    *,
    arguments: Mapping[str, object] | None = None,
    options: Mapping[str, object] | None = None,
    option_names: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    ini: Mapping[str, object] | None = None,
    ini_source: str = "ini key",
    defaults: Mapping[str, object] | None = None,
    project_file: bool = True,
) -> Settings:
    """The one resolution: ``arguments`` > ``options`` > ``environ`` > ``ini`` > supamigrate.toml > default.

    Every mapping is keyed by setting name; ``None`` and ``""`` mean "not given here". ``options``
    are named in errors by ``option_names`` (default the plugin's flags), ini keys by
    ``ini_source``. ``defaults`` replaces a setting's default for one face (the plugin's
    project_dir is pytest's rootdir). With ``project_file``, the ``[settings]`` table of
    ``supamigrate.toml`` in the resolved project_dir comes between ini and the defaults. A
    project_dir given nowhere is searched upward from its default (``project.find_root``). A value
    that is not what its setting holds is a SettingsError naming where it came from.
    """
    unknown = {*(arguments or {}), *(options or {}), *(ini or {}), *(defaults or {})} - set(BY_NAME)
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}", hint=_known_names())
    env = environ or {}

    def values(file: Mapping[str, object], file_source: str, base: Path) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for s in SETTINGS:
            candidates: list[tuple[object, str]] = [
                ((arguments or {}).get(s.name), f"argument {s.name}"),
                ((options or {}).get(s.name), (option_names or {}).get(s.name) or s.plugin_flag or s.cli or s.name),
                *((env.get(var), f"environment variable {var}") for var in s.env),
                ((ini or {}).get(s.name), f"{ini_source} {s.ini_key or s.name}"),
                (file.get(s.name), f"{file_source} {s.name}"),
                ((defaults or {}).get(s.name), f"default of {s.name}"),
            ]
            given = next((i for i, (v, _) in enumerate(candidates) if v is not None and v != ""), None)
            if given is None:
                out[s.field] = s.default
                continue
            value = parse(s, *candidates[given])
            if s.kind is PATH and given == len(candidates) - 2:
                value = base / value  # a path in supamigrate.toml is relative to the file
            out[s.field] = value
        return out

    resolved = values({}, "", Path())
    project = BY_NAME["project_dir"]
    named = [(arguments or {}).get(project.name), (options or {}).get(project.name), (ini or {}).get(project.name)]
    given = (*named, *(env.get(var) for var in project.env))
    if resolved["project_dir"] is not None and all(v is None or v == "" for v in given):
        # Not named anywhere: found like the Supabase CLI finds it, from the face's default up.
        resolved["project_dir"] = find_root(resolved["project_dir"])
    if project_file:
        # project_dir says where the file is, so it is resolved without it (the file may not name it).
        tool = ToolConfig.load(Path(resolved["project_dir"]).resolve())
        table = tool.settings
        for key in table:
            if key not in BY_NAME or key == "project_dir":
                raise tool_error(tool.path, "settings", key, "a known key", f"unknown key {key}",
                                 hint=f"[settings] takes {', '.join(n for n in BY_NAME if n != 'project_dir')}")
        if table:
            resolved = values(table, f"{tool.path}: [settings]", tool.path.parent)
    return Settings(**resolved)


def _known_names() -> str:
    return f"settings are {', '.join(BY_NAME)}"


# -- the command-line face's shared options --------------------------------------------------------


def add_cli_options(parser: argparse._ActionsContainer, *names: str, help: Mapping[str, str] | None = None) -> None:
    """Add the CLI flags of the settings ``names`` to ``parser`` (a parser or an argument group).

    ``help`` overrides a flag's help where a command says more (``dump``'s ``--pg-bin`` runs
    pg_dump too). Values are checked as the resolution checks them, so a bad one is a usage error.
    """
    for name in names:
        s = BY_NAME[name]
        assert s.cli is not None, f"{name} has no command-line flag"
        text = (help or {}).get(name) or s.cli_help or s.help
        if s.cli_negates:
            parser.add_argument(s.cli, dest=s.dest, action="store_const", const=False, default=None, help=text)
        else:
            parser.add_argument(
                s.cli,
                dest=s.dest,
                type=_argparse_type(s),
                choices=s.kind.choices,
                metavar=s.metavar or (None if s.kind.choices else s.name.upper()),
                default=None,
                help=text,
            )


def _argparse_type(s: Setting) -> Callable[[str], object]:
    def convert(text: str) -> object:
        try:
            return s.kind.parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {s.kind.expected}, got {text!r}") from None

    convert.__name__ = s.name  # argparse names the type in some messages
    return convert


def from_cli(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """The settings of one command-line run: its flags, the environment, supamigrate.toml, defaults."""
    options = {s.name: getattr(args, s.dest, None) for s in SETTINGS if s.cli}
    return resolve(
        options=options,
        option_names={s.name: s.cli for s in SETTINGS if s.cli},
        environ=environ,
        defaults={"project_dir": Path(".")},
    )


def _plugin_spellings() -> dict[str, str]:
    names: dict[str, str] = {}
    for s in SETTINGS:
        if s.plugin_flag is None:
            continue
        names[f"--{s.name.replace('_', '-')}"] = s.plugin_flag  # --db-url: apply's and preflight's argument
        if s.cli:
            names[s.cli] = f"{s.plugin_flag}=false" if s.cli_negates else s.plugin_flag
    return names


_OPTION_WORD = re.compile(r"(?<![\w-])--[a-z][a-z-]*(?![\w-])")


def as_plugin_spells(text: str) -> str:
    """``text`` (a message of the core) with the CLI's option names as the pytest plugin spells
    them: ``--project-dir`` becomes ``--supamigrate-project-dir``, ``--no-cache`` ``--supamigrate-cache=false``."""
    names = _plugin_spellings()
    return _OPTION_WORD.sub(lambda m: names.get(m.group(0), m.group(0)), text)


# -- the README ----------------------------------------------------------------------------------

README_HEADER = "| setting | CLI | pytest option | ini key | environment | default | meaning |"


def markdown_table() -> str:
    """The README's table of every setting, made from SETTINGS (a test keeps the README equal)."""

    def code(items: Iterable[str | None]) -> str:
        return ", ".join(f"`{i}`" for i in items if i) or "—"

    rows = [README_HEADER, "|" + "---|" * 7]
    for s in SETTINGS:
        rows.append(
            f"| `{s.name}` | {code([s.cli])} | {code([s.plugin_flag])} | {code([s.ini_key])} | {code(s.env)}"
            f" | {s.default_text} | {s.help} |"
        )
    return "\n".join(rows)
