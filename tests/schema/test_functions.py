"""The research schema's PL/pgSQL functions pass plpgsql_check, trigger functions included."""

from __future__ import annotations

import pytest

from supamigrate import plpgsql
from supamigrate.database import Server, connect
from supamigrate.migrations import MigrationSet
from supamigrate.plugin import TestDatabase
from supamigrate.project import Project


@pytest.mark.plpgsql_check
def test_plpgsql_check_finds_nothing(
    supamigrate_server: Server, supamigrate_database: TestDatabase, supamigrate_project: Project
) -> None:
    with connect(supamigrate_server.conninfo(supamigrate_database.name)) as conn:
        report = plpgsql.check_functions(conn, MigrationSet.discover(supamigrate_project.migrations_dir))
    assert "public.update_updated_at_column()" in report.checked
    assert report.problems == []
    assert report.unchecked == []
