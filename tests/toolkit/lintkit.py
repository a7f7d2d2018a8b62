"""Small Supabase projects written into a temporary directory, for the linter's tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from supamigrate.lint import Finding, lint
from supamigrate.lint.findings import file_of
from supamigrate.project import Project

REPO = Path(__file__).resolve().parents[2]
CONFIG = 'project_id = "lint-test"\n\n[api]\nschemas = ["public", "graphql_public"]\n\n[db]\nmajor_version = 15\n'


def make_project(
    root: Path,
    migrations: list[str] | dict[str, str],
    *,
    seed: str | None = None,
    tests: dict[str, str] | None = None,
    config: str = CONFIG,
    sqlfluff_config: bool = True,
) -> Project:
    """A project under ``root``: migrations (a list is named 20240101000001_m1.sql, ...), an
    optional seed.sql and supabase/tests files, config.toml, and this repository's .sqlfluff."""
    supabase = root / "supabase"
    (supabase / "migrations").mkdir(parents=True, exist_ok=True)
    (supabase / "config.toml").write_text(config, encoding="utf-8")
    named = (
        migrations
        if isinstance(migrations, dict)
        else {f"2024010100000{i}_m{i}.sql": sql for i, sql in enumerate(migrations, 1)}
    )
    for name, sql in named.items():
        (supabase / "migrations" / name).write_text(sql, encoding="utf-8")
    if seed is not None:
        (supabase / "seed.sql").write_text(seed, encoding="utf-8")
    for name, sql in (tests or {}).items():
        (supabase / "tests").mkdir(exist_ok=True)
        (supabase / "tests" / name).write_text(sql, encoding="utf-8")
    if sqlfluff_config:
        shutil.copy(REPO / ".sqlfluff", root / ".sqlfluff")
    return Project.load(root)


def rule_findings(project: Project, rule: str) -> list[Finding]:
    """Our rules' findings of one rule (sqlfluff not run, suppressions applied)."""
    return [f for f in lint(project, sqlfluff=False).findings if f.code == rule]


def places(findings: list[Finding]) -> list[tuple[str, int | None, int | None]]:
    return [(file_of(f).path.name, file_of(f).line, file_of(f).column) for f in findings]


def at(sql: str, needle: str, nth: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the ``nth`` occurrence of ``needle`` in ``sql``."""
    index = -1
    for _ in range(nth):
        index = sql.index(needle, index + 1)
    line = sql.count("\n", 0, index) + 1
    return line, index - (sql.rfind("\n", 0, index) + 1) + 1
