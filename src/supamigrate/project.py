"""The Supabase project on disk: where ``supabase/`` is, what its ``config.toml`` and ``supamigrate.toml`` say."""

from __future__ import annotations

import glob
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ProjectError
from .toolconfig import TOOL_CONFIG, ToolConfig

__all__ = ["TOOL_CONFIG", "Config", "Project", "ToolConfig"]

DEFAULT_API_SCHEMAS = ("public", "graphql_public")
_DEFAULT_SEED = ("./seed.sql", "seed.sql")  # `supabase init`'s [db.seed] sql_paths


@dataclass(frozen=True)
class Config:
    """The parts of ``supabase/config.toml`` the toolkit uses (defaults as the Supabase CLI's)."""

    project_id: str | None = None
    api_schemas: tuple[str, ...] = DEFAULT_API_SCHEMAS
    db_port: int = 54322
    major_version: int = 15
    seed_enabled: bool = True
    seed_sql_paths: tuple[str, ...] = ("./seed.sql",)
    # [db.migrations] schema_paths: the declared schema files (globs relative to supabase/), in
    # the order they are applied; empty means the CLI's default, every *.sql under supabase/schemas.
    schema_paths: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_toml(cls, path: Path) -> Config:
        """Read and check ``config.toml``; a malformed file is a ProjectError with its line."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except UnicodeDecodeError as exc:
            raise ProjectError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ProjectError(
                f"{path}: invalid TOML: {exc}",
                hint="fix the file; `supabase init` writes a valid one to compare with",
            ) from None
        api = _table(data, "api", path)
        db = _table(data, "db", path)
        seed = _table(db, "seed", path, "db.seed")
        migrations = _table(db, "migrations", path, "db.migrations")
        return cls(
            project_id=_typed(data, "project_id", str, path, None),
            api_schemas=tuple(_typed(api, "schemas", list, path, list(DEFAULT_API_SCHEMAS), "api.schemas")),
            db_port=_typed(db, "port", int, path, 54322, "db.port"),
            major_version=_typed(db, "major_version", int, path, 15, "db.major_version"),
            seed_enabled=_typed(seed, "enabled", bool, path, True, "db.seed.enabled"),
            seed_sql_paths=tuple(
                _typed(seed, "sql_paths", list, path, ["./seed.sql"], "db.seed.sql_paths")
            ),
            schema_paths=tuple(
                _typed(migrations, "schema_paths", list, path, [], "db.migrations.schema_paths")
            ),
            raw=data,
        )


def _table(data: dict[str, Any], key: str, path: Path, name: str | None = None) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ProjectError(f"{path}: [{name or key}] must be a table, not {type(value).__name__}")
    return value


def _typed(data: dict[str, Any], key: str, kind: type, path: Path, default: Any, name: str | None = None) -> Any:
    value = data.get(key, default)
    if value is None and default is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ProjectError(
            f"{path}: {name or key} must be {kind.__name__}, not {type(value).__name__} ({value!r})"
        )
    return value


def find_root(start: str | Path = ".") -> Path:
    """The project directory as the Supabase CLI finds it: the nearest of ``start`` and its
    ancestors holding ``supabase/config.toml``; ``start`` itself when none does."""
    start = Path(start)
    for directory in (start.resolve(), *start.resolve().parents):
        if (directory / "supabase" / "config.toml").is_file():
            return start if directory == start.resolve() else directory
    return start


@dataclass(frozen=True)
class Project:
    """A Supabase project: the directory holding ``supabase/`` and its parsed configuration.

    ``tool`` is ``supamigrate.toml`` in typed sections (``tool.platform``, ``tool.lint``,
    ``tool.advisors``), checked when the project loads.
    """

    root: Path
    config: Config
    # A Project made by hand gets every section's defaults.
    tool: ToolConfig = field(default_factory=lambda: ToolConfig(Path(TOOL_CONFIG)), compare=False, repr=False)

    @classmethod
    def load(cls, root: str | Path = ".") -> Project:
        """Load the project at ``root``; it must contain ``supabase/``."""
        root = Path(root).resolve()
        supabase = root / "supabase"
        if not supabase.is_dir():
            raise ProjectError(
                f"no supabase/ directory in {root}",
                hint="run from the project root (or below it, when it has supabase/config.toml), pass"
                " --project-dir, or create one with `supabase init`",
            )
        return cls(root=root, config=Config.from_toml(supabase / "config.toml"), tool=ToolConfig.load(root))

    @property
    def supabase_dir(self) -> Path:
        return self.root / "supabase"

    @property
    def migrations_dir(self) -> Path:
        return self.supabase_dir / "migrations"

    @property
    def tests_dir(self) -> Path:
        return self.supabase_dir / "tests"

    @property
    def schemas_dir(self) -> Path:
        """``supabase/schemas``: the declared schemas when ``[db.migrations] schema_paths`` is unset."""
        return self.supabase_dir / "schemas"

    def schema_files(self) -> tuple[Path, ...]:
        """The declared schema files in the order the Supabase CLI applies them (``supabase db diff``).

        With ``[db.migrations] schema_paths``: each glob (relative to ``supabase/``, no ``**``) in
        config order, its matches sorted, duplicates dropped. Without: every ``*.sql`` file under
        ``supabase/schemas``, at any depth, sorted by path. Empty: the project declares no schema.
        """
        if self.config.schema_paths:
            seen: dict[Path, None] = {}
            for pattern in self.config.schema_paths:
                full = pattern if Path(pattern).is_absolute() else str(self.supabase_dir / pattern)
                for match in sorted(glob.glob(full, include_hidden=True)):
                    if Path(match).is_file():
                        seen.setdefault(Path(match).resolve(), None)
            return tuple(seen)
        if not self.schemas_dir.is_dir():
            return ()
        found = [p for p in self.schemas_dir.rglob("*.sql") if p.is_file()]
        # As the CLI (Go's sort.Strings on the walked paths): by the whole path, byte by byte, so
        # the order is the same on every filesystem (schemas/a.sql before schemas/a/b.sql).
        return tuple(p.resolve() for p in sorted(found, key=lambda p: p.as_posix().encode()))

    def schema_warnings(self) -> tuple[str, ...]:
        """Each ``[db.migrations] schema_paths`` pattern that matches no file, as the CLI says it."""
        out = []
        for pattern in self.config.schema_paths:
            full = pattern if Path(pattern).is_absolute() else str(self.supabase_dir / pattern)
            if not any(Path(m).is_file() for m in glob.glob(full, include_hidden=True)):
                out.append(
                    f"no files matched pattern: {pattern} ([db.migrations] schema_paths in supabase/config.toml)"
                )
        return tuple(out)

    def seed_warnings(self) -> tuple[str, ...]:
        """What the seed files of ``[db.seed] sql_paths`` leave out, one sentence each: a pattern
        that matches no file, and a ``supabase/seed.sql`` that ``sql_paths`` do not name (it is not
        run). The CLI's default pattern matching nothing is a project without a seed: no warning."""
        if not self.config.seed_enabled:
            return ()
        out = []
        for pattern in self.config.seed_sql_paths:
            if pattern in _DEFAULT_SEED:
                continue
            if not any(Path(m).is_file() for m in glob.glob(str(self.supabase_dir / pattern))):
                out.append(f"no seed file matches {pattern!r} of [db.seed] sql_paths in supabase/config.toml")
        default = (self.supabase_dir / "seed.sql").resolve()
        if default.is_file() and default not in self.seed_files():
            out.append("supabase/seed.sql is not run: [db.seed] sql_paths in supabase/config.toml does not name it")
        return tuple(out)

    def seed_files(self) -> tuple[Path, ...]:
        """Seed files in config order, each glob sorted, duplicates dropped (as the Supabase CLI)."""
        if not self.config.seed_enabled:
            return ()
        seen: dict[Path, None] = {}
        for pattern in self.config.seed_sql_paths:
            full = str(self.supabase_dir / pattern)
            for match in sorted(glob.glob(full)):
                p = Path(match).resolve()
                if p.is_file():
                    seen.setdefault(p, None)
        return tuple(seen)
