"""The release workflow: checked by the workflow linters, and it builds, checks and (once enabled)
publishes what `python -m build` makes, on a version tag only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

import supamigrate

from .test_lint_integration import workflow_linters

REPO = Path(__file__).resolve().parents[2]
RELEASE = REPO / ".github" / "workflows" / "release.yml"


def test_the_release_workflow_passes_the_workflow_linters() -> None:
    for result in workflow_linters(RELEASE):
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_version_tag_builds_checks_and_publishes_by_trusted_publishing_only_when_enabled() -> None:
    workflow: dict[Any, Any] = yaml.safe_load(RELEASE.read_text())
    assert workflow[True] == {"push": {"tags": ["v*"]}}  # YAML 1.1 reads the key `on` as True
    assert workflow["permissions"] == {"contents": "read"}
    build, publish = workflow["jobs"]["build"], workflow["jobs"]["publish"]
    runs = "\n".join(step.get("run", "") for step in build["steps"])
    assert "python -m build" in runs and "twine check --strict dist/*" in runs
    assert "supamigrate --version" in runs
    assert publish["needs"] == "build" and publish["if"] == "vars.PUBLISH_TO_PYPI == 'true'"
    assert publish["permissions"] == {"id-token": "write"} and publish["environment"] == "pypi"
    assert [s["uses"].split("@")[0] for s in publish["steps"]][-1] == "pypa/gh-action-pypi-publish"
    assert not [s for s in publish["steps"] if "password" in s.get("with", {})]  # no stored token


def test_the_tag_check_reads_the_version_as_it_is_written() -> None:
    # The workflow's sed expression, applied here to the file it reads.
    text = (REPO / "src" / "supamigrate" / "__init__.py").read_text()
    found = [m.group(1) for m in re.finditer(r'^__version__ = "(.*)"$', text, re.MULTILINE)]
    assert found == [supamigrate.__version__]


def test_the_changelog_has_an_unreleased_section_and_the_current_version() -> None:
    text = (REPO / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[(.+?)\]", text, re.MULTILINE)
    assert headings[0] == "Unreleased" and supamigrate.__version__ in headings
