"""The supamigrate plugin is loaded through its pytest11 entry point; this adds a leak check.

``pytester`` runs pytest on small projects in the toolkit's own tests (the pgTAP items).
"""

from __future__ import annotations

from collections.abc import Generator

import pytest

from supamigrate.server import STARTED_RUN_DIRS, leftovers

pytest_plugins = ["pytester"]


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Generator[None, None, None]:
    """After every fixture has been torn down: no server or run directory of this session may remain."""
    yield
    left = leftovers(STARTED_RUN_DIRS)
    if left:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("supamigrate: left behind by this session:\n  " + "\n  ".join(left), red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
