"""``supamigrate init``: what an existing Supabase project needs to run supamigrate locally and in CI.

``init(project)`` writes ``supamigrate.toml`` (every setting commented out at its default, made
from ``toolconfig`` and ``settings`` so it cannot drift from them), a ``.sqlfluff`` suited to
Supabase migrations, a GitHub workflow, a pre-commit configuration and a starter
``tests/test_database.py``. It never overwrites a file: one that exists is left alone and named in
the result. The templates are package data (``templates/``); nothing here knows the command line.
"""

from __future__ import annotations

import json
import re
from dataclasses import MISSING, dataclass, fields
from importlib.resources import files
from pathlib import Path

from . import __version__
from .project import Project
from .settings import SETTINGS, Setting
from .toolconfig import _EXPECTED, _SECTIONS, TOOL_CONFIG

# What init writes, relative to the project root, in the order it reports them.
WORKFLOW = ".github/workflows/supamigrate.yml"
PRE_COMMIT = ".pre-commit-config.yaml"
SQLFLUFF = ".sqlfluff"
STARTER_TESTS = "tests/test_database.py"
FILES = (TOOL_CONFIG, SQLFLUFF, WORKFLOW, PRE_COMMIT, STARTER_TESTS)


@dataclass(frozen=True)
class InitResult:
    """What ``init`` did: the files it wrote and the ones that existed and were left alone."""

    root: Path
    written: tuple[Path, ...]
    kept: tuple[Path, ...]


def template(name: str) -> str:
    """The text of the bundled template ``templates/<name>``."""
    return files(__package__ or "supamigrate").joinpath("templates", name).read_text(encoding="utf-8")


def _filled(name: str, project: Project) -> str:
    return template(name).replace("@MAJOR@", str(project.config.major_version)).replace("@VERSION@", __version__)


def sqlfluff_config() -> str:
    """A ``.sqlfluff`` for Supabase SQL: the lint layer's bundled defaults where it has them, with
    their rules listed as ``warnings``.

    With no ``.sqlfluff`` a sqlfluff finding is a warning; with a project's own it keeps sqlfluff's
    verdict, an error unless ``warnings =`` names the rule. So the file lists its rules there, and
    ``check`` judges the project as it did before ``init``; deleting the line makes them errors.
    """
    from .lint.defaults import sqlfluff_defaults  # the settings lint applies without a .sqlfluff

    text = sqlfluff_defaults()
    return _rules_as_warnings(text)


def _rules_as_warnings(text: str) -> str:
    """``text`` with a ``warnings =`` line naming the rules of its ``rules =`` line (if it has none)."""
    lines = text.splitlines()
    if any(re.match(r"\s*warnings\s*=", line) for line in lines):
        return text
    for i, line in enumerate(lines):
        found = re.match(r"\s*rules\s*=\s*(.+?)\s*$", line)
        if found:
            lines[i + 1 : i + 1] = [
                "# supamigrate init: these rules' findings are warnings, as they were before this file",
                "# existed; delete the line to make them fail `supamigrate check`.",
                f"warnings = {found.group(1)}",
            ]
            break
    return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))  # a TOML basic string is a JSON string for these values


def _setting_sample(s: Setting) -> str | None:
    value = s.default if s.default is not None else s.example
    return None if value is None else _toml(value)


def tool_config() -> str:
    """``supamigrate.toml`` with every section and key commented out at its default, each explained."""
    lines = [
        "# supamigrate's own settings for this project, written by `supamigrate init`.",
        "# supabase/config.toml stays the Supabase CLI's. Every key below is commented out at its",
        "# default: uncomment one to change it.",
    ]
    for name, kind in _SECTIONS.items():
        lines += ["", f"[{name}]"]
        doc = (kind.__doc__ or "").strip().replace("``", "`")
        lines += [f"# {line.strip()}" for line in doc.splitlines()]
        for f in fields(kind):
            expected = _EXPECTED[name][f.name]
            # A table (a default_factory) has no sample default: its example stands in.
            sample = _toml(f.default) if f.default not in (None, MISSING) else _example(expected)
            lines.append(f"# {f.name}: {expected}")
            if sample is not None:
                lines.append(f"# {f.name} = {sample}")
    lines += ["", "[settings]", "# The settings of the README's table (environment variables and pytest options win);",
              "# paths are relative to this file."]
    for s in SETTINGS:
        if s.name == "project_dir":  # this file's own directory
            continue
        lines.append(f"# {s.name}: {s.help} (default: {s.default_text.replace('`', '')})")
        sample = _setting_sample(s)
        if sample is not None:
            lines.append(f"# {s.name} = {sample}")
    return "\n".join(lines) + "\n"


def _example(expected: str) -> str | None:
    """The example an expected-value text gives (``... e.g. "20240101000000"``), if any."""
    return expected.split("e.g. ", 1)[1].strip() if "e.g. " in expected else None


def contents(project: Project) -> dict[str, str]:
    """Each file ``init`` writes (relative path) and its text."""
    return {
        TOOL_CONFIG: tool_config(),
        SQLFLUFF: sqlfluff_config(),
        WORKFLOW: _filled("supamigrate.yml.tmpl", project),
        PRE_COMMIT: _filled("pre-commit-config.yaml.tmpl", project),
        STARTER_TESTS: _filled("test_database.py.tmpl", project),
    }


def init(project: Project) -> InitResult:
    """Write what the project lacks of ``FILES``; never overwrite one (it is reported as kept)."""
    written: list[Path] = []
    kept: list[Path] = []
    for relative, text in contents(project).items():
        path = project.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with path.open("x", encoding="utf-8") as out:  # "x": fails if it exists, even in a race
                out.write(text)
        except FileExistsError:
            kept.append(path)
            continue
        written.append(path)
    return InitResult(project.root, tuple(written), tuple(kept))
