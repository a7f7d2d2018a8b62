"""The migrator: databases at a migration version, built from templates per prefix, and upgraded."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from supamigrate.build import ServerChoice, migrations_up_to
from supamigrate.cache import Cache
from supamigrate.database import Server
from supamigrate.errors import MigrationError, ProjectError, SupamigrateError
from supamigrate.migrations import MigrationSet
from supamigrate.migrator import VERSION_TEMPLATE, Migrator, VersionTemplates

from .conftest import PG_BIN, ProjectFactory, query

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


# -- templates per prefix ---------------------------------------------------------------------------


def test_versions_are_built_from_the_nearest_template_below_them(
    make_project: ProjectFactory, supamigrate_server: Server
) -> None:
    project = make_project(THREE)
    with VersionTemplates(supamigrate_server, project) as templates, Migrator(templates) as migrator:
        migrator.at("20250101000000")
        migrator.at("20250103000000")
        migrator.at("20250102000000_members.sql")
        migrator.at("20250103000000")  # made already: a clone, nothing applied
        assert [(b.version, b.start, b.applied) for b in templates.builds] == [
            ("20250101000000", None, 1),
            ("20250103000000", "20250101000000", 2),
            ("20250102000000", "20250101000000", 1),
        ]
        columns = migrator.database.conn.execute(
            "select column_name from information_schema.columns where table_name = 'members' order by 1"
        ).fetchall()
        assert columns == [("id",), ("name",), ("team_id",)]
        made = set(templates._made)
        assert len(made) == 3 and made <= _databases(supamigrate_server)
    assert not made & _databases(supamigrate_server)  # not kept: dropped at close, with the clones


def test_kept_templates_come_back_from_the_cache_in_the_next_run(
    make_project: ProjectFactory, shared_tmp: Path
) -> None:
    project = make_project(THREE)
    choice = ServerChoice(pg_bin=PG_BIN, cache=Cache(shared_tmp / "cache"))
    with Migrator.start(project, server=choice) as migrator:
        migrator.at("20250102000000")
        assert [b.version for b in migrator.templates.builds] == ["20250102000000"]
    with Migrator.start(project, server=choice) as migrator:
        conn = migrator.at("20250102000000")
        assert migrator.templates.builds == []
        assert conn.execute("select count(*) from public.members").fetchone() == (0,)
        migrator.at("20250103000000")
        assert [(b.version, b.start, b.applied) for b in migrator.templates.builds] == [
            ("20250103000000", "20250102000000", 1)
        ]


def test_a_kept_cluster_keeps_at_most_max_kept_templates_the_last_used_first(
    make_project: ProjectFactory, supamigrate_server: Server
) -> None:
    project = make_project(THREE)
    templates = VersionTemplates(supamigrate_server, project, keep=True, max_kept=2)
    try:
        with Migrator(templates) as migrator:
            for version in ("20250103000000", "20250101000000", "20250102000000"):
                migrator.at(version)
        templates.close()
        assert [n.split("_")[2] for n in templates._on_server() if n.startswith(VERSION_TEMPLATE)] == [
            "20250101000000",
            "20250102000000",
        ]
    finally:
        templates.keep = False
        templates._made = templates._on_server()
        templates.close()


def test_two_sessions_on_one_server_never_share_or_break_a_template(
    make_project: ProjectFactory, supamigrate_server: Server
) -> None:
    project = make_project(THREE)
    # Not kept (a server reached by URL, xdist workers on it): names of each session's own.
    with VersionTemplates(supamigrate_server, project) as one, VersionTemplates(supamigrate_server, project) as two:
        assert one.template("20250101000000") != two.template("20250101000000")
    # Kept, and both asked at once: the second finds the first's under the same name and uses it.
    first = VersionTemplates(supamigrate_server, project, keep=True)
    second = VersionTemplates(supamigrate_server, project, keep=True)
    try:
        second._existing()  # it looked before the first had made it
        name = first.template("20250102000000")
        assert second.template("20250102000000") == name
        assert second._made == [] and first._made == [name]
        with Migrator(second) as migrator:
            assert migrator.at("20250102000000").execute("select count(*) from public.members").fetchone() == (0,)
    finally:
        first.keep = False
        first.close()
    assert name not in _databases(supamigrate_server)
    assert not {n for n in _databases(supamigrate_server) if n.startswith("supamigrate_building")}


# -- upgrade --------------------------------------------------------------------------------------------


def test_upgrade_applies_the_next_migrations_up_to_a_version_on_the_rows_put_there(
    make_project: ProjectFactory, supamigrate_server: Server
) -> None:
    project = make_project(THREE)
    with VersionTemplates(supamigrate_server, project) as templates, Migrator(templates) as migrator:
        conn = migrator.at("20250101000000")
        conn.execute("insert into public.teams values (1, 'core')")  # left uncommitted: upgrade commits it
        assert [m.version for m in migrator.upgrade(to="20250102000000").applied] == ["20250102000000"]
        assert migrator.database.version == "20250102000000"
        conn.execute("insert into public.members (id, team_id) values (7, 1)")
        assert [m.version for m in migrator.upgrade().applied] == ["20250103000000"]
        assert conn.execute(
            "select t.name, m.id, m.name from public.teams t join public.members m on m.team_id = t.id"
        ).fetchall() == [("core", 7, None)]
        with pytest.raises(ProjectError) as caught:
            migrator.upgrade(to="20250101000000")
        assert caught.value.render() == (
            "cannot upgrade from 20250103000000 to 20250101000000: it is an earlier version\n"
            "hint: the runner only applies migrations forward; call migrator.at(VERSION) for an earlier one"
        )


def test_upgrade_before_at_says_what_to_call(make_project: ProjectFactory, supamigrate_server: Server) -> None:
    with (
        VersionTemplates(supamigrate_server, make_project(THREE)) as templates,
        Migrator(templates) as migrator,
        pytest.raises(SupamigrateError) as caught,
    ):
        migrator.upgrade()
    assert caught.value.render() == "the migrator has no database yet\nhint: call migrator.at(VERSION) before upgrade()"


def test_a_migration_failing_on_the_way_to_a_version_fails_at_with_its_file_and_line(
    make_project: ProjectFactory, supamigrate_server: Server
) -> None:
    broken = {
        **THREE,
        "20250102000000_members.sql": (
            "-- members of a team\n\n"
            "create table public.members (id bigint primary key, team_id bigint references public.nowhere);\n"
        ),
    }
    project = make_project(broken)
    before = _databases(supamigrate_server)
    with (
        VersionTemplates(supamigrate_server, project) as templates,
        Migrator(templates) as migrator,
        pytest.raises(MigrationError) as caught,
    ):
        migrator.at("20250103000000")
    path = project.migrations_dir / "20250102000000_members.sql"
    assert caught.value.render() == f'{path}:3:1: 42P01 relation "public.nowhere" does not exist'
    assert _databases(supamigrate_server) == before  # nothing half-built left behind


def test_a_seed_that_does_not_fit_the_version_fails_with_the_seed_files_line(
    make_project: ProjectFactory, supamigrate_server: Server
) -> None:
    project = make_project(
        THREE,
        seed=(
            "-- a team and its member\n"
            "insert into public.teams values (1, 'core');\n"
            "insert into public.members (id, team_id, name) values (1, 1, 'Ada');\n"
        ),
    )
    with VersionTemplates(supamigrate_server, project) as templates, Migrator(templates) as migrator:
        conn = migrator.at("20250103000000", seed=True)
        assert conn.execute("select name from public.members").fetchall() == [("Ada",)]
        with pytest.raises(MigrationError) as caught:
            migrator.at("20250102000000", seed=True)
    assert caught.value.render() == (
        f'{project.supabase_dir / "seed.sql"}:3:42: 42703 column "name" of relation "members" does not exist'
    )


def _databases(server: Server) -> set[str]:
    return {str(r[0]) for r in query(server.conninfo(), "select datname from pg_database")}
