"""What a failing ``check`` still tells: the lint findings known by then, in text and in JSON on
stdout, the failing statement at its first token (never a comment before it) and the position
PostgreSQL gives inside it, and no wait for a slow sqlfluff pass."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from supamigrate import cli, commands
from supamigrate.lint import lint
from supamigrate.project import Project

from .lintkit import at
from .realistic import countries_sql, write_teamwork

LINTED = "CREATE TABLE IF NOT EXISTS public.plans (id INT PRIMARY KEY, name TEXT);\n" \
         "ALTER TABLE public.plans ENABLE ROW LEVEL SECURITY;\n"
# Two comment lines, then a statement PostgreSQL places an error inside (the missing table).
FAILING = "-- Seed the plans.\n-- They are read by the pricing page.\nINSERT INTO public.plan (name) VALUES ('free');\n"
# No position from PostgreSQL: the statement's first token, past the comment.
NO_POSITION = "SELECT 1;\n\n  -- divide\n  SELECT 1 / 0;\n"


def project_with(root: Path, failing: str) -> Project:
    project = write_teamwork(root, repository=False, wrapped=False)
    (project.migrations_dir / "20240201000000_plans.sql").write_text(LINTED)
    (project.migrations_dir / "20240202000000_seed_plans.sql").write_text(failing)
    return project


def test_a_failing_check_prints_the_lint_findings_and_the_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project_with(tmp_path, FAILING)
    failing = "supabase/migrations/20240202000000_seed_plans.sql"
    line, column = at(FAILING, "public.plan ")
    code = cli.run(["check", "--project-dir", str(tmp_path), "--format", "json"])
    out, err = capsys.readouterr()
    data = json.loads(out)  # a whole JSON document on stdout
    assert code == 1 and data["ok"] is False
    codes = [(f["code"], f["file"]) for f in data["findings"]]
    assert ("SB003", "supabase/migrations/20240201000000_plans.sql") in codes
    assert codes[-1] == ("apply-failed", failing)
    assert (data["findings"][-1]["line"], data["findings"][-1]["column"]) == (line, column)
    assert data["error"]["file"] == failing
    assert (data["error"]["line"], data["error"]["column"], data["error"]["sqlstate"]) == (line, column, "42P01")
    assert 'relation "public.plan" does not exist' in data["error"]["message"]
    assert f"{failing}:{line}:{column}: 42P01" in err
    assert cli.run(["check", "--project-dir", str(tmp_path)]) == 1
    text = capsys.readouterr().out
    assert "SB003" in text and f"apply-failed  42P01 relation \"public.plan\" does not exist [{failing}:3:13]" in text
    assert text.splitlines()[-1].startswith("FAILED")


def test_without_a_position_the_error_is_at_the_statements_first_token(tmp_path: Path) -> None:
    report = commands.check(project_with(tmp_path, NO_POSITION))
    assert report.error is not None and not report.ok
    failed = report.findings[-1]
    line, column = at(NO_POSITION, "SELECT 1 /")
    assert failed.code == "apply-failed" and failed.where.endswith(f"seed_plans.sql:{line}:{column}")
    assert failed.message == "22012 division by zero"


def test_a_failing_check_does_not_wait_for_sqlfluff(tmp_path: Path) -> None:
    # A generated file sqlfluff takes seconds over, and a migration that fails at once: check
    # reports the failure (with our rules' findings) and leaves sqlfluff's slow file unlinted.
    project = project_with(tmp_path, FAILING)
    (project.migrations_dir / "20240103000000_countries.sql").write_text(countries_sql(900))
    started = time.perf_counter()
    report = commands.check(project, lint_cache_dir=tmp_path / "cache")
    failed_in = time.perf_counter() - started
    assert report.error is not None and "SB003" in {f.code for f in report.findings}
    (stopped,) = [n for n in report.notes if n.code == "sqlfluff-stopped"]
    assert "not linted" in stopped.message
    started = time.perf_counter()
    full = lint(project, cache_dir=tmp_path / "cache")
    linted_in = time.perf_counter() - started
    assert full.unlinted == []
    assert failed_in < linted_in, (failed_in, linted_in)
