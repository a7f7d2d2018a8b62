"""The migrator: databases at a migration version, built from templates per prefix, and upgraded."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from supamigrate.build import migrations_up_to
from supamigrate.errors import ProjectError
from supamigrate.migrations import MigrationSet

from .conftest import ProjectFactory, query

THREE = {
    "20250101000000_teams.sql": "create table public.teams (id bigint primary key, name text not null);\n",
    "20250102000000_members.sql": "create table public.members (id bigint primary key, team_id bigint);\n",
    "20250103000000_member_names.sql": "alter table public.members add column name text;\n",
}


def test_a_build_up_to_a_version_stops_after_that_migration(
    make_project: ProjectFactory, built: Callable[..., str]
) -> None:
    project = make_project(THREE, seed="insert into public.teams values (1, 'core');\n")
    conninfo = built(project, up_to="20250102000000_members.sql")
    assert query(conninfo, "select version from supabase_migrations.schema_migrations order by 1") == [
        ("20250101000000",),
        ("20250102000000",),
    ]
    assert query(conninfo, "select name from public.teams") == [("core",)]  # the seed follows it


def test_a_version_the_project_lacks_is_refused_with_the_versions_it_has(make_project: ProjectFactory) -> None:
    mset = MigrationSet.discover(make_project(THREE).migrations_dir)
    assert migrations_up_to(mset, "20250102000000_members").versions == ("20250101000000", "20250102000000")
    with pytest.raises(ProjectError) as caught:
        migrations_up_to(mset, "20250104000000")
    assert caught.value.render() == (
        "no migration 20250104000000 in migrations/ (versions: 20250101000000, 20250102000000, 20250103000000)\n"
        "hint: name a migration by its version (the digits before the first _) or its file name"
    )
