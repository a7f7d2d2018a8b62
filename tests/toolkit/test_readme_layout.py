"""The README's layout names every module of the toolkit, and nothing that is gone."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "src" / "supamigrate"


def layout_block() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Layout\n", 1)[1]
    return section.split("```", 2)[1]


def modules_on_disk() -> set[str]:
    """Modules and packages of the package and of its first-level packages (``__init__`` aside)."""
    names: set[str] = set()
    for path in [*PACKAGE.glob("*.py"), *PACKAGE.glob("*/*.py")]:
        if path.name != "__init__.py" or path.parent == PACKAGE:
            names.add(path.name)
    names.update(f"{d.name}/" for d in PACKAGE.iterdir() if d.is_dir() and (d / "__init__.py").exists())
    names.update(f"{d.name}/" for d in PACKAGE.glob("*/*") if d.is_dir() and (d / "__init__.py").exists())
    return names


def test_the_layout_names_every_module() -> None:
    block = layout_block()
    named = set(re.findall(r"\b[a-z_]+\.py\b", block)) | set(re.findall(r"\b[a-z_]+/", block))
    missing = sorted(modules_on_disk() - named)
    assert missing == [], f"README layout does not mention: {missing}"


def test_every_module_the_layout_names_exists() -> None:
    block = layout_block()
    toolkit = block.split("src/supamigrate/", 1)[1].split("\nbench/", 1)[0]
    on_disk = {p.name for p in PACKAGE.rglob("*.py")}
    stale = sorted(set(re.findall(r"\b[a-z_]+\.py\b", toolkit)) - on_disk)
    assert stale == [], f"README layout names modules that are gone: {stale}"
