"""The README's fixture table lists every fixture of the plugin, with its scope, and nothing else."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "src" / "supamigrate" / "plugin.py"


def plugin_fixtures() -> dict[str, str]:
    """Each public fixture of plugin.py and its scope as the table says it ("test" for function)."""
    found: dict[str, str] = {}
    for node in ast.parse(PLUGIN.read_text()).body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
            continue
        for deco in node.decorator_list:
            call = deco if isinstance(deco, ast.Call) else None
            target = call.func if call else deco
            if ast.unparse(target) != "pytest.fixture":
                continue
            scope = "function"
            for kw in call.keywords if call else []:
                if kw.arg == "scope" and isinstance(kw.value, ast.Constant):
                    scope = str(kw.value.value)
            found[node.name] = "test" if scope == "function" else scope
    return found


def readme_fixtures() -> dict[str, str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    table = text.split("| fixture | scope | what it gives |", 1)[1].split("\n\n", 1)[0]
    return dict(re.findall(r"^\| `(\w+)` \| (\w+) \|", table, re.MULTILINE))


def test_the_readme_lists_every_fixture_with_its_scope() -> None:
    fixtures = plugin_fixtures()
    assert {"db", "as_user", "as_anon", "as_service_role", "make_user"} <= set(fixtures)
    assert readme_fixtures() == fixtures
