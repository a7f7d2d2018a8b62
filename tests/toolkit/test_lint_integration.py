"""The linter where it runs: the GitHub workflow (checked by real workflow linters), the
pre-commit hook (validated, then run by pre-commit on a scratch repository), and `make lint`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from .lintkit import REPO, make_project

WORKFLOW = REPO / ".github/workflows/ci.yml"
BIN = Path(sys.executable).parent


def tool(
    name: str, *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / name), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=300
    )


def workflow_linters(path: Path) -> list[subprocess.CompletedProcess[str]]:
    """Schema validation (check-jsonschema's vendored GitHub workflow schema) and static analysis
    (zizmor, offline: no GitHub API calls)."""
    return [
        tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)),
        tool("zizmor", "--offline", "--no-progress", str(path)),
    ]


def test_the_workflow_passes_the_workflow_linters() -> None:
    for result in workflow_linters(WORKFLOW):
        assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_linters_reject_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / "ci.yml"
    text = WORKFLOW.read_text()
    broken.write_text(text.replace("runs-on: ubuntu-latest", "runs_on: ubuntu-latest", 1))
    schema, _ = workflow_linters(broken)
    assert schema.returncode != 0 and "runs-on" in schema.stdout + schema.stderr
    injected = tmp_path / "injected.yml"
    injected.write_text(text.replace('"$BEFORE^{commit}"', '"${{ github.event.head_commit.message }}"'))
    _, zizmor = workflow_linters(injected)
    assert zizmor.returncode != 0 and "template-injection" in zizmor.stdout + zizmor.stderr


def test_the_workflow_lints_tests_and_checks_on_apt_postgres_without_docker() -> None:
    workflow: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    assert "push" in workflow[True]  # YAML 1.1 reads the key `on` as True
    runs = {job: "\n".join(step.get("run", "") for step in spec["steps"]) for job, spec in workflow["jobs"].items()}
    assert all(spec["runs-on"] == "ubuntu-latest" for spec in workflow["jobs"].values())
    assert "supamigrate lint --format github" in runs["lint"]
    assert "apt-get install" in runs["test"] and '"postgresql-$major"' in runs["test"]
    assert runs["test"].index("make check") < runs["test"].index("make test")
    for spec in workflow["jobs"].values():
        assert "services" not in spec and "container" not in spec
        assert not any("docker" in (step.get("uses", "") + step.get("run", "")) for step in spec["steps"])


def test_pre_commit_config_and_hook_manifest_are_valid() -> None:
    config = tool("pre-commit", "validate-config", str(REPO / ".pre-commit-config.yaml"))
    manifest = tool("pre-commit", "validate-manifest", str(REPO / ".pre-commit-hooks.yaml"))
    assert (config.returncode, manifest.returncode) == (0, 0), config.stdout + manifest.stdout


def test_pre_commit_runs_the_hook_and_it_fails_on_a_bad_migration(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_project(
        repo,
        {
            "20240101000001_notes.sql": "create table public.notes (id int primary key);\n"
            "alter table public.notes enable row level security;\n"
        },
    )
    shutil.copy(REPO / ".pre-commit-config.yaml", repo)
    (repo / ".venv").symlink_to(BIN.parent)
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "GIT_CONFIG_GLOBAL": "/dev/null"}
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True, env=env)
    (repo / ".gitignore").write_text(".venv\n")
    subprocess.run([*git, "add", "-A"], check=True, env=env)
    clean = tool("pre-commit", "run", "supamigrate-lint", "--all-files", cwd=repo, env=env)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    (repo / "supabase/migrations/20240101000002_drop.sql").write_text("drop table public.notes cascade;\n")
    subprocess.run([*git, "add", "-A"], check=True, env=env)
    bad = tool("pre-commit", "run", "supamigrate-lint", "--all-files", cwd=repo, env=env)
    assert bad.returncode == 1
    assert "1:1  SB007" in bad.stdout and "1:1  SB008" in bad.stdout


def test_make_lint_runs_supamigrate_lint() -> None:
    # Run from `make test` too: a nested make would otherwise report entering and leaving directories.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "lint"], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    assert ".venv/bin/supamigrate lint" in dry.stdout.splitlines()
