"""Declarative schemas (issue 18): schema_paths, `supamigrate diff`, its Supabase post-processing,
the proof by re-diff, lint before writing, and `check`'s drift, on copies of this repository's
project and small projects of our own. Every diff here runs pg-delta on a real server."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from supamigrate.build import ServerChoice
from supamigrate.cli import run
from supamigrate.diff import PGDELTA_PACKAGE, DiffError, DiffResult, declared_set, diff
from supamigrate.diff.postprocess import Fix
from supamigrate.errors import MigrationError
from supamigrate.project import Project
from supamigrate.report import diff_text

from .conftest import CONFIG, PG_BIN, SUITE_MAJOR

REPO = Path(__file__).resolve().parents[2]
MIGRATION_HEADER = (
    "-- Written by `supamigrate diff` from the declared schemas (supabase/schemas) with pg-delta,\n"
    "-- then applied to the migrations' database and diffed again: nothing was left.\n\n"
)
PG_BIN_ARGS = ["--pg-bin", str(PG_BIN)] if PG_BIN else []


def this_project(tmp_path: Path) -> Path:
    """A copy of this repository's project: config, migrations, declared schemas, seed, snapshot."""
    root = tmp_path / "project"
    (root / "supabase").mkdir(parents=True)
    for name in ("seed.sql", "schema.sql"):
        shutil.copy(REPO / "supabase" / name, root / "supabase" / name)
    config = (REPO / "supabase" / "config.toml").read_text()
    config = config.replace("major_version = 15", f"major_version = {SUITE_MAJOR}")
    (root / "supabase" / "config.toml").write_text(config)
    for name in ("migrations", "schemas"):
        shutil.copytree(REPO / "supabase" / name, root / "supabase" / name)
    return root


def invoke(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = run([*argv, *PG_BIN_ARGS])
    out, err = capsys.readouterr()
    return code, out, err


def declare(root: Path, name: str, sql: str) -> None:
    with (root / "supabase" / "schemas" / name).open("a", encoding="utf-8") as f:
        f.write(sql)


ADD_NOTES = """
alter table public.research_sessions add column notes text;

create policy "Anyone can view shared sessions"
on public.research_sessions
for select
to anon
using ((metadata ->> 'shared')::boolean);
"""


# -- schema_paths -----------------------------------------------------------------------------------


def test_schema_paths_are_applied_in_config_order_each_glob_sorted(tmp_path: Path) -> None:
    (tmp_path / "supabase" / "schemas" / "nested").mkdir(parents=True)
    for name in ("b.sql", "a.sql", "c.sql", "nested/z.sql", "notes.txt"):
        (tmp_path / "supabase" / "schemas" / name).write_text("select 1;\n")
    config = CONFIG + '[db.migrations]\nschema_paths = ["./schemas/c.sql", "schemas/*.sql", "schemas/none/*.sql"]\n'
    (tmp_path / "supabase" / "config.toml").write_text(config)
    project = Project.load(tmp_path)
    schemas = tmp_path.resolve() / "supabase" / "schemas"
    # c first (named first), then the glob's sorted matches without c again; no ** in the CLI's globs.
    assert project.schema_files() == (schemas / "c.sql", schemas / "a.sql", schemas / "b.sql")
    assert project.schema_warnings() == (
        "no files matched pattern: schemas/none/*.sql ([db.migrations] schema_paths in supabase/config.toml)",
    )


def test_without_schema_paths_every_sql_file_under_supabase_schemas_by_path(tmp_path: Path) -> None:
    (tmp_path / "supabase" / "schemas" / "a").mkdir(parents=True)
    for name in ("b.sql", "a.sql", "a/z.sql", "a/readme.md"):
        (tmp_path / "supabase" / "schemas" / name).write_text("select 1;\n")
    (tmp_path / "supabase" / "config.toml").write_text(CONFIG)
    schemas = tmp_path.resolve() / "supabase" / "schemas"
    # Byte order of the whole path, as Go's sort.Strings: "a.sql" < "a/z.sql" ('.' < '/').
    assert Project.load(tmp_path).schema_files() == (schemas / "a.sql", schemas / "a/z.sql", schemas / "b.sql")


def test_the_declared_build_applies_the_schema_paths_files_in_their_order(tmp_path: Path) -> None:
    (tmp_path / "supabase" / "declared").mkdir(parents=True)
    for name in ("types.sql", "tables.sql"):
        (tmp_path / "supabase" / "declared" / name).write_text("select 1;\n")
    config = CONFIG + '[db.migrations]\nschema_paths = ["declared/types.sql", "declared/*.sql"]\n'
    (tmp_path / "supabase" / "config.toml").write_text(config)
    mset = declared_set(Project.load(tmp_path))
    assert [(m.version, m.path.name) for m in mset.migrations] == [
        ("00000000000001", "types.sql"), ("00000000000002", "tables.sql"),
    ]


def test_no_declared_schema_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "supabase").mkdir()
    (tmp_path / "supabase" / "config.toml").write_text(CONFIG)
    code, _, err = invoke(capsys, "diff", "--project-dir", str(tmp_path))
    assert code == 1
    assert err == (
        "error: no declared schema: no file matches supabase/schemas/*.sql\n"
        "hint: declare the schema in supabase/schemas/*.sql, or list the files in [db.migrations] schema_paths\n"
    )


def test_make_setup_installs_the_engine_version_we_evaluated() -> None:
    assert f"PGDELTA       := {PGDELTA_PACKAGE}\n" in (REPO / "Makefile").read_text()


def test_a_missing_engine_says_how_to_install_it(tmp_path: Path) -> None:
    root = this_project(tmp_path)
    with pytest.raises(DiffError) as caught:
        diff(Project.load(root), server=ServerChoice(pg_bin=PG_BIN), pgdelta=tmp_path / "no-such-pgdelta")
    assert caught.value.message == f"pgdelta not found at {tmp_path / 'no-such-pgdelta'}"
    assert caught.value.hint is not None and "npm install --prefix .venv/node @supabase/pg-delta@" in caught.value.hint


# -- this project: done when ----------------------------------------------------------------------


def test_this_projects_declared_schema_matches_its_migrations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = invoke(capsys, "diff", "--project-dir", str(this_project(tmp_path)))
    assert (code, out) == (0, "")
    assert err.startswith("No schema changes: supabase/migrations build what supabase/schemas declares (")


def test_diff_f_add_notes_writes_a_migration_that_applies_rediffs_to_nothing_and_passes_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = this_project(tmp_path)
    declare(root, "20_research_sessions.sql", ADD_NOTES)
    code, out, err = invoke(capsys, "diff", "-f", "add_notes", "--project-dir", str(root))
    assert code == 0, err
    assert out == ""
    written = sorted((root / "supabase" / "migrations").glob("*_add_notes.sql"))
    assert len(written) == 1
    assert written[0].read_text() == MIGRATION_HEADER + (
        'ALTER TABLE "public"."research_sessions" ADD COLUMN "notes" text;\n\n'
        'CREATE POLICY "Anyone can view shared sessions" ON "public"."research_sessions" FOR SELECT TO "anon"'
        " USING (((metadata ->> 'shared'::text))::boolean);\n"
    )
    assert "proven: applied to the migrations' database, a second diff is empty" in err
    assert f"Created new migration at supabase/migrations/{written[0].name}" in err
    # The migration applies with the rest and the declared schema and the migrations now agree.
    code, out, err = invoke(capsys, "diff", "--project-dir", str(root))
    assert (code, out) == (0, ""), err
    assert invoke(capsys, "dump", "--project-dir", str(root))[0] == 0
    code, out, err = invoke(capsys, "check", "--project-dir", str(root), "--format", "json")
    assert code == 0, out + err
    assert '"schema-drift"' not in out


def test_drift_fails_check_naming_the_objects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = this_project(tmp_path)
    declare(root, "20_research_sessions.sql", ADD_NOTES)
    code, out, _ = invoke(capsys, "check", "--project-dir", str(root))
    assert code == 1
    lines = out.splitlines()
    drift = [line.strip() for line in lines if line.strip().startswith("schema-drift")]
    assert drift == [
        "schema-drift  supabase/schemas and supabase/migrations disagree: column public.research_sessions.notes:"
        " declared, not built by the migrations",
        "schema-drift  supabase/schemas and supabase/migrations disagree: policy public.research_sessions."
        '"Anyone can view shared sessions": declared, not built by the migrations',
    ]
    assert "hint: run `supamigrate diff -f NAME` to write the migration that makes them agree" in out


# -- what the engine gets wrong for Supabase ------------------------------------------------------

SUPABASE_OBJECTS = """
create extension if not exists pg_trgm with schema extensions;

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  display_name text
);
alter table public.profiles enable row level security;
-- Signed-in users only: anon keeps none of the privileges public's default privileges give it.
revoke all on table public.profiles from anon;
comment on table public.profiles is 'One row per user.';
create index idx_profiles_display_name_trgm on public.profiles using gin (display_name extensions.gin_trgm_ops);

create function public.handle_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.profiles (id) values (new.id);
  return new;
end;
$$;

create trigger on_auth_user_created
after insert on auth.users
for each row execute function public.handle_new_user();

create policy "Users read their avatars"
on storage.objects
for select
to authenticated
using (bucket_id = 'avatars' and owner_id = (select auth.uid())::text);

alter publication supabase_realtime add table public.profiles;
"""


# PostgreSQL 17 added the MAINTAIN privilege on tables: anon holds it there too, so it goes too.
ADDED_IN_17 = "MAINTAIN, " if SUITE_MAJOR >= 17 else ""


def test_supabase_objects_are_diffed_right(tmp_path: Path) -> None:
    root = this_project(tmp_path)
    declare(root, "40_profiles.sql", SUPABASE_OBJECTS)
    result = diff(Project.load(root), server=ServerChoice(pg_bin=PG_BIN))
    assert result.ok and result.residual == []
    assert result.statements == [
        'CREATE EXTENSION "pg_trgm" SCHEMA "extensions"',
        'CREATE TABLE "public"."profiles" ("id" uuid NOT NULL, "display_name" text,'
        ' CONSTRAINT "profiles_pkey" PRIMARY KEY (id))',
        # The engine wrote GRANTs to authenticated and service_role, which public's default
        # privileges give anyway, and no REVOKE: anon would have kept everything.
        f"REVOKE DELETE, INSERT, {ADDED_IN_17}REFERENCES, SELECT, TRIGGER, TRUNCATE, UPDATE"
        ' ON TABLE "public"."profiles" FROM "anon"',
        'ALTER TABLE "public"."profiles" ENABLE ROW LEVEL SECURITY',
        # CREATE, not the engine's CREATE OR REPLACE: a function made by hand is not replaced silently.
        "CREATE FUNCTION public.handle_new_user()\n RETURNS trigger\n LANGUAGE plpgsql\n SECURITY DEFINER\n"
        " SET search_path TO ''\nAS $function$\nbegin\n  insert into public.profiles (id) values (new.id);\n"
        "  return new;\nend;\n$function$",
        'ALTER TABLE "public"."profiles" ADD CONSTRAINT "profiles_id_fkey" FOREIGN KEY (id) REFERENCES auth.users(id)'
        " ON DELETE CASCADE",
        "CREATE INDEX idx_profiles_display_name_trgm ON public.profiles USING gin"
        " (display_name extensions.gin_trgm_ops)",
        "CREATE TRIGGER on_auth_user_created AFTER INSERT ON auth.users FOR EACH ROW EXECUTE FUNCTION"
        " public.handle_new_user()",
        'ALTER PUBLICATION "supabase_realtime" ADD TABLE "public"."profiles"',
        "COMMENT ON TABLE \"public\".\"profiles\" IS 'One row per user.'",
        # The engine leaves platform tables out whole, their users' policies too.
        'CREATE POLICY "Users read their avatars" ON "storage"."objects" FOR SELECT TO "authenticated"'
        " USING (((bucket_id = 'avatars'::text) AND (owner_id = (( SELECT auth.uid() AS uid))::text)))",
    ]
    assert [name.removesuffix(": declared, not built by the migrations") for name in result.objects] == [
        "extension pg_trgm",
        "function public.handle_new_user()",
        "index public.idx_profiles_display_name_trgm",
        "publication table public.profiles",
        "table public.profiles",
        "trigger auth.users.on_auth_user_created",
        'policy storage.objects."Users read their avatars"',
    ]
    assert [f.what for f in result.fixes] == [
        'privileges of new table "public"."profiles": 1 statement(s) of the engine replaced by 1'
        " (what the default privileges of postgres do not already give)",
        'privileges of new function "public"."handle_new_user"(): 1 statement(s) of the engine replaced by 0'
        " (what the default privileges of postgres do not already give)",
        'new function "public"."handle_new_user"() written as CREATE, not CREATE OR REPLACE',
        "dropped the comment extension pg_trgm sets itself",
        'policy "Users read their avatars" on storage.objects added (the engine does not diff platform tables)',
    ]


def test_a_destructive_migration_is_flagged_by_lint_and_not_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = this_project(tmp_path)
    declared = root / "supabase" / "schemas" / "30_draft_files.sql"
    declared.write_text(declared.read_text().replace("  content text not null default '',\n", ""))
    code, _, err = invoke(capsys, "diff", "-f", "drop_content", "--project-dir", str(root))
    assert code == 1
    assert "SB008  DROP COLUMN content on public.draft_files destroys the data it holds" in err
    assert "NOT WRITTEN: lint finds destructive statements (above)" in err
    assert not list((root / "supabase" / "migrations").glob("*_drop_content.sql"))
    code, _, err = invoke(capsys, "diff", "-f", "drop_content", "--allow-destructive", "--project-dir", str(root))
    assert code == 0, err
    [written] = (root / "supabase" / "migrations").glob("*_drop_content.sql")
    assert 'ALTER TABLE "public"."draft_files" DROP COLUMN "content";' in written.read_text()


def test_a_failing_declared_file_is_reported_at_its_line(tmp_path: Path) -> None:
    root = this_project(tmp_path)
    typo = "\n-- a typo\nalter table public.research_session add column notes text;\n"
    declare(root, "20_research_sessions.sql", typo)
    with pytest.raises(MigrationError) as caught:
        diff(Project.load(root), server=ServerChoice(pg_bin=PG_BIN))
    error = caught.value
    lines = (root / "supabase" / "schemas" / "20_research_sessions.sql").read_text().splitlines()
    assert (error.path.name, error.line, error.column) == ("20_research_sessions.sql", len(lines), 1)
    assert (error.sqlstate, error.message) == ("42P01", 'relation "public.research_session" does not exist')


def test_a_failing_declared_file_fails_check_at_its_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = this_project(tmp_path)
    declare(root, "30_draft_files.sql", "\nalter table public.draft_file add column notes text;\n")
    line = len((root / "supabase" / "schemas" / "30_draft_files.sql").read_text().splitlines())
    code, out, _ = invoke(capsys, "check", "--project-dir", str(root))
    assert code == 1
    assert (
        'schema-declared-fails  a declared schema file fails: 42P01 relation "public.draft_file" does not exist'
        f" [supabase/schemas/30_draft_files.sql:{line}:1]"
    ) in out


def test_what_the_second_diff_still_finds_is_said() -> None:
    result = DiffResult(
        statements=["ALTER TABLE public.t ADD COLUMN c text"],
        residual=["column public.t.c: declared, not built by the migrations"],
        residual_sql=['ALTER TABLE "public"."t" ADD COLUMN "c" text'],
        objects=["column public.t.c: declared, not built by the migrations"],
        fixes=[Fix("one fix")],
    )
    assert not result.ok
    assert diff_text(result, Path("/nowhere")) == (
        "supamigrate diff: 1 statement(s) for 1 object(s)\n"
        "  column public.t.c: declared, not built by the migrations\n"
        "put right for Supabase:\n"
        "  one fix\n"
        "FAILED: applied to the migrations' database, the migration leaves these differences, which it could not"
        " express:\n"
        "  column public.t.c: declared, not built by the migrations\n"
        "  a second diff still plans:\n"
        '    ALTER TABLE "public"."t" ADD COLUMN "c" text\n'
        "  write these by hand in a migration (`supamigrate new NAME`)"
    )


def test_an_engine_that_fails_on_a_drift_is_a_warning_not_a_broken_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = this_project(tmp_path)
    declare(root, "20_research_sessions.sql", ADD_NOTES)
    # An engine that fails the way pg-delta does on a catalog it cannot plan (exit 1, its error).
    failing = tmp_path / "pgdelta"
    failing.write_text("#!/bin/sh\necho 'Error: cannot plan CREATE OR REPLACE FUNCTION cron.unschedule' >&2\nexit 1\n")
    failing.chmod(0o755)
    code, out, _ = invoke(capsys, "check", "--project-dir", str(root), "--pgdelta", str(failing))
    drift = [line.strip() for line in out.splitlines() if line.strip().startswith("schema-drift")]
    assert len(drift) == 1 and drift[0].startswith(
        "schema-drift-unchecked  supabase/schemas and supabase/migrations build different schemas, and the engine"
        " could not plan the difference: "
    ), drift
    assert "cron.unschedule" in out
    assert code == 0  # a warning: the rest of check stands
