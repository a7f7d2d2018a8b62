"""`supamigrate init` on a Supabase project that never saw supamigrate: what it writes, that it
never overwrites, and that `supamigrate check` and `pytest` pass right after it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

import supamigrate
from supamigrate import init as init_module
from supamigrate.cli import run
from supamigrate.project import Project
from supamigrate.settings import BY_NAME, SETTINGS, resolve
from supamigrate.toolconfig import ToolConfig

from .test_lint_integration import tool, workflow_linters

NOTES = Path(__file__).parent / "fixtures" / "adopt" / "notes"


def copy_of_notes(tmp_path: Path) -> Path:
    root = tmp_path / "notes"
    shutil.copytree(NOTES, root)
    return root


def env_without_project_dir() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "SUPAMIGRATE_PROJECT_DIR"}


def test_init_then_check_and_pytest_pass_and_a_second_init_touches_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = copy_of_notes(tmp_path)
    assert run(["init", "--project-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert [line.split()[1] for line in out.splitlines() if line.startswith("wrote")] == list(init_module.FILES)
    for relative in init_module.FILES:
        assert (root / relative).is_file(), relative

    script = Path(sys.executable).with_name("supamigrate")
    check = subprocess.run([str(script), "check"], cwd=root, env=env_without_project_dir(),
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    tests = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q"], cwd=root,
                           env=env_without_project_dir(), capture_output=True, text=True)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    # The starter tests and the project's pgTAP file (3 assertions).
    # (a warning when the suite runs on another major than the project's config.toml names)
    assert re.search(r"\b4 passed(, 1 warning)?, 3 subtests passed\b", tests.stdout), tests.stdout

    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (root / f for f in init_module.FILES)}
    assert run(["init", "--project-dir", str(root)]) == 0
    again = capsys.readouterr().out
    assert [line.split()[2] for line in again.splitlines() if line.startswith("left alone")] == list(init_module.FILES)
    assert "wrote" not in again
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in before} == before


def test_init_leaves_a_file_that_exists_alone_and_writes_the_rest(tmp_path: Path) -> None:
    root = copy_of_notes(tmp_path)
    mine = "repos: []  # the project's own\n"
    (root / ".pre-commit-config.yaml").write_text(mine)
    result = init_module.init(Project.load(root))
    assert result.kept == (root / ".pre-commit-config.yaml",)
    assert len(result.written) == len(init_module.FILES) - 1
    assert (root / ".pre-commit-config.yaml").read_text() == mine


def test_init_needs_a_supabase_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["init", "--project-dir", str(tmp_path)]) == 1
    assert "no supabase/ directory" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def uncommented(text: str) -> dict[str, Any]:
    """The file with every `# key = value` line uncommented, parsed."""
    lines = [re.sub(r"^# (\w+ = )", r"\1", line) for line in text.splitlines()]
    return tomllib.loads("\n".join(lines))


def test_the_commented_defaults_are_every_setting_and_valid_when_uncommented(tmp_path: Path) -> None:
    text = init_module.tool_config()
    assert tomllib.loads(text) == {
        "platform": {}, "lint": {}, "advisors": {}, "migrations": {}, "smoke": {}, "settings": {},
    }
    data = uncommented(text)
    config = ToolConfig.from_mapping(data, tmp_path / "supamigrate.toml")
    # Every section key is there at its default; every setting but project_dir is in [settings].
    assert config.platform == type(config.platform)() and config.advisors == type(config.advisors)()
    assert config.migrations == type(config.migrations)()
    assert set(data["settings"]) == {s.name for s in SETTINGS} - {"project_dir"}
    (tmp_path / "supabase").mkdir()
    (tmp_path / "supamigrate.toml").write_text("\n".join(
        re.sub(r"^# (\w+ = )", r"\1", line) for line in text.splitlines()
    ))
    settings = resolve(defaults={"project_dir": tmp_path})
    for name in ("seed", "cache", "cache_max_entries", "cache_max_mb", "fail_on"):
        assert getattr(settings, BY_NAME[name].field) == BY_NAME[name].default, name


def test_the_workflow_passes_the_workflow_linters_and_installs_what_the_project_needs(tmp_path: Path) -> None:
    root = copy_of_notes(tmp_path)
    (root / "supabase" / "config.toml").write_text('project_id = "notes"\n[db]\nmajor_version = 17\n')
    init_module.init(Project.load(root))
    workflow_path = root / init_module.WORKFLOW
    for result in workflow_linters(workflow_path):
        assert result.returncode == 0, result.stdout + result.stderr
    workflow = yaml.safe_load(workflow_path.read_text())
    (job,) = workflow["jobs"].values()
    runs = "\n".join(step.get("run", "") for step in job["steps"])
    assert "postgresql-17 postgresql-17-pgtap" in runs and "docker" not in runs.lower()
    assert f'pip install "supamigrate=={supamigrate.__version__}"' in runs
    assert "supamigrate check" in runs and "python -m pytest" in runs


def test_the_pre_commit_config_is_valid_and_runs_the_linter(tmp_path: Path) -> None:
    root = copy_of_notes(tmp_path)
    init_module.init(Project.load(root))
    config = root / init_module.PRE_COMMIT
    validated = tool("pre-commit", "validate-config", str(config))
    assert validated.returncode == 0, validated.stdout + validated.stderr
    (hook,) = yaml.safe_load(config.read_text())["repos"][0]["hooks"]
    assert hook["entry"] == "supamigrate lint" and hook["files"] == r"^supabase/.*\.sql$"


def test_the_sqlfluff_config_keeps_its_rules_warnings_as_they_were_without_it() -> None:
    import configparser

    parser = configparser.ConfigParser()
    parser.read_string(init_module.sqlfluff_config())
    section = parser["sqlfluff"]
    assert section["dialect"] == "postgres"
    rules = [r.strip() for r in section["rules"].split(",")]
    assert rules and [r.strip() for r in section["warnings"].split(",")] == rules
    assert not [r for r in rules if r.startswith(("LT", "CP"))]  # no layout or capitalisation rule
    assert section["large_file_skip_byte_limit"] == "0"
    # A config that lists warnings of its own keeps them.
    assert init_module._rules_as_warnings("[sqlfluff]\nrules = AM01\nwarnings = \n") == (
        "[sqlfluff]\nrules = AM01\nwarnings = \n"
    )
