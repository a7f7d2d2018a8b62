"""The migrations meet data: rows made at an earlier schema version, then the next migrations run.

``migrator.at(version)`` gives a database of the test's own at that migration; what the test puts
there is what ``migrator.upgrade()`` applies the rest of the migrations to, as the runner does.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from supamigrate.auth import create_user
from supamigrate.database import Server
from supamigrate.errors import MigrationError
from supamigrate.migrator import Migrator, VersionTemplates
from supamigrate.project import Project

SCHEMA = "20251101050000_research_sessions"
RLS = "20251102090000_research_sessions_rls"
ROOT = Path(__file__).resolve().parents[2]


def test_sessions_and_drafts_made_before_row_level_security_survive_it(migrator: Migrator) -> None:
    conn = migrator.at(SCHEMA)
    user = create_user(conn, "ada@example.com")
    row = conn.execute(
        "insert into public.research_sessions (user_id, title) values (%s, 'Tidal energy') returning id",
        (user.id,),
    ).fetchone()
    assert row is not None
    conn.execute(
        "insert into public.draft_files (session_id, file_name, stage) values (%s, 'outline.md', '2_planning')",
        (row[0],),
    )
    assert conn.execute(
        "select relrowsecurity from pg_class where oid = 'public.draft_files'::regclass"
    ).fetchone() == (False,)

    applied = migrator.upgrade()

    assert [m.version for m in applied.applied] == ["20251102090000"]
    assert conn.execute(
        "select s.title, d.file_name from public.research_sessions s join public.draft_files d on d.session_id = s.id"
    ).fetchall() == [("Tidal energy", "outline.md")]
    assert conn.execute(
        "select relrowsecurity from pg_class where oid = 'public.draft_files'::regclass"
    ).fetchone() == (True,)


def test_the_seed_is_there_on_request(migrator: Migrator) -> None:
    conn = migrator.at(RLS, seed=True)
    assert conn.execute("select count(*) from auth.users").fetchone() == (3,)
    assert migrator.at(SCHEMA).execute("select count(*) from auth.users").fetchone() == (0,)


BAD = """-- Every research session belongs to a workspace from now on.
-- (Wrong on purpose: existing sessions have no workspace, so the column cannot be filled.)

alter table public.research_sessions
  add column workspace_id uuid not null;
"""


def test_a_not_null_column_without_a_default_fails_on_a_table_with_rows(
    tmp_path: Path, supamigrate_server: Server
) -> None:
    shutil.copytree(ROOT / "supabase" / "migrations", tmp_path / "supabase" / "migrations")
    shutil.copy(ROOT / "supabase" / "config.toml", tmp_path / "supabase" / "config.toml")
    bad = tmp_path / "supabase" / "migrations" / "20251103100000_research_sessions_workspace.sql"
    bad.write_text(BAD)

    project = Project.load(tmp_path)
    with VersionTemplates(supamigrate_server, project) as templates, Migrator(templates) as migrator:
        conn = migrator.at(RLS)
        user = create_user(conn, "grace@example.com")
        conn.execute("insert into public.research_sessions (user_id, title) values (%s, 'Compilers')", (user.id,))
        with pytest.raises(MigrationError) as caught:
            migrator.upgrade()

        assert caught.value.render() == (
            f'{bad}:4:1: 23502 column "workspace_id" of relation "research_sessions" contains null values'
        )
        # As the runner leaves it: the failing file rolled back, the row still there.
        assert migrator.database.version == "20251102090000"
        assert conn.execute("select count(*) from public.research_sessions").fetchone() == (1,)
