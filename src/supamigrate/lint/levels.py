"""What a sqlfluff finding counts as: sqlfluff judges style, PostgreSQL's parser judges syntax.

``[lint] sqlfluff_level`` in supamigrate.toml decides: ``warning`` makes every sqlfluff finding a
warning; ``error`` keeps sqlfluff's own verdict (an error, or a warning for a rule the project's
``.sqlfluff`` lists in ``warnings =``); ``auto`` (the default) is ``error`` when the project has
a sqlfluff configuration of its own (it chose those rules, and sqlfluff's command line would fail
on them) and ``warning`` with the bundled defaults. Either way a part of a file sqlfluff cannot
parse (``PRS``) is only a warning when PostgreSQL's parser reads the whole file: SB000 is the
syntax error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from ..findings import Finding, Level
from ..project import Project
from .defaults import own_sqlfluff_config

# sqlfluff's codes for a file it could not read through (it has none of its rules' findings there).
UNREADABLE = frozenset({"PRS", "TMP", "LXR"})


def sqlfluff_mode(project: Project, files: Sequence[Path]) -> str:
    """``warning`` or ``error``: what ``[lint] sqlfluff_level`` amounts to for these files."""
    level = project.tool.lint.sqlfluff_level
    if level == "auto":
        return "error" if own_sqlfluff_config(files) else "warning"
    return level


def judged(findings: Sequence[Finding], mode: str, parses: Callable[[Path], bool]) -> list[Finding]:
    """sqlfluff's ``findings`` at the level they count for in ``mode``; ``parses(path)`` tells
    whether PostgreSQL's parser reads that file."""
    out = []
    for f in findings:
        level = f.level if mode == "error" else Level.WARNING
        if f.code in UNREADABLE and f.file is not None and parses(f.file.path):
            level = Level.WARNING
        out.append(f if level == f.level else dataclasses.replace(f, level=level))
    return out
