"""A pytest plugin that counts pgTAP assertions as the corpus run reports them.

Loaded by ``corpus.py`` with ``-p tap_counts`` (this directory on ``PYTHONPATH``) into the pytest
of the build under test. supamigrate reports each pgTAP file as one test and each TAP assertion as
a subtest; the JUnit XML keeps only the file, so this writes one JSON line per report (file, whether
it is a subtest, outcome, first line of the failure) to the file named by ``CORPUS_TAP_OUT``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


def _first_line(report: pytest.TestReport) -> str:
    text = report.longreprtext if report.failed else ""
    for line in text.splitlines():
        line = line.strip()
        # pytest.fail(pytrace=False) puts the message after "Failed: ".
        if line and not line.startswith("_"):
            return line.removeprefix("Failed: ")
    return ""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Append this report to ``CORPUS_TAP_OUT`` (a no-op when the variable is unset)."""
    out = os.environ.get("CORPUS_TAP_OUT")
    if not out:
        return
    # A subtest report carries the subtest's context; the file's own report does not.
    subtest = getattr(report, "context", None) is not None
    if report.when != "call" and not (report.failed or report.skipped):
        return
    row = {
        "file": report.nodeid.split("::", 1)[0],
        "subtest": subtest,
        "when": report.when,
        "outcome": report.outcome,
        "xfail": hasattr(report, "wasxfail"),
        "message": _first_line(report),
    }
    with Path(out).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")
