"""The upgrade checks (``upgrade.py``, ``check --upgrade``, the opt-in pytest item): the migrations
new since the git base, applied on the base's migrations and seed, must give the schema a fresh
build gives, and must not fail on the seed's rows.

On "journal", a small project of our own written like a real one: profiles and entries with RLS,
a seed with a user, a profile and two entries. Its two migrations and seed are committed (what
production has); each test adds new migrations, or edits committed files, on top.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from supamigrate import cli, commands
from supamigrate.build import ServerChoice
from supamigrate.findings import Finding, Level
from supamigrate.project import Project
from supamigrate.upgrade import FIX, check_upgrade, dump_objects, object_name, schema_differences

from .conftest import PG_BIN, SUITE_MAJOR
from .realistic import git

CONFIG = f"""project_id = "journal"

[api]
schemas = ["public", "graphql_public"]

[db]
major_version = {SUITE_MAJOR}

[db.seed]
enabled = true
sql_paths = ["./seed.sql"]
"""

PROFILES = """-- Profiles: one per auth user.
create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  username text unique,
  created_at timestamptz not null default now()
);

alter table public.profiles enable row level security;

create policy "profiles are readable by their owner" on public.profiles
  for select to authenticated using ((select auth.uid()) = id);
"""

ENTRIES = """-- Journal entries, private to their author.
create table public.entries (
  id bigint generated always as identity primary key,
  author_id uuid not null references public.profiles (id) on delete cascade,
  body text not null,
  created_at timestamptz not null default now()
);

alter table public.entries enable row level security;

create policy "authors read their entries" on public.entries
  for select to authenticated using ((select auth.uid()) = author_id);

create index entries_author_id_idx on public.entries (author_id);
"""

ADA = "00000000-0000-0000-0000-00000000000a"
SEED = f"""insert into auth.users (id, aud, role, email) values
  ('{ADA}', 'authenticated', 'authenticated', 'ada@example.com');

insert into public.profiles (id, username) values ('{ADA}', 'ada');

insert into public.entries (author_id, body) values
  ('{ADA}', 'first entry'),
  ('{ADA}', 'second entry');
"""

APPLIED = {"20240301000000_profiles.sql": PROFILES, "20240302000000_entries.sql": ENTRIES}

PG_BIN_ARGS = ["--pg-bin", str(PG_BIN)] if PG_BIN else []
MOOD = "20240401000000_mood.sql"
MOOD_SQL = """-- Entries get a mood; existing ones are neutral.
alter table public.entries add column mood text not null default 'neutral';

create index entries_mood_idx on public.entries (mood);
"""


def write_journal(root: Path, new: dict[str, str] | None = None) -> Project:
    """The project under ``root``, its migrations and seed committed, then ``new`` written uncommitted."""
    supabase = root / "supabase"
    (supabase / "migrations").mkdir(parents=True)
    (supabase / "config.toml").write_text(CONFIG, encoding="utf-8")
    (supabase / "seed.sql").write_text(SEED, encoding="utf-8")
    for name, sql in APPLIED.items():
        (supabase / "migrations" / name).write_text(sql, encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "pushed to production")
    for name, sql in (new or {}).items():
        (supabase / "migrations" / name).write_text(sql, encoding="utf-8")
    return Project.load(root)


def upgrade(project: Project, **kwargs: object) -> tuple[list[Finding], str | None]:
    result = check_upgrade(project, server=ServerChoice(pg_bin=PG_BIN), **kwargs)  # type: ignore[arg-type]
    return result.findings, None if result.error is None else result.error.render()


def said(findings: list[Finding]) -> list[tuple[str, str, str, str]]:
    return [(f.level, f.code, f.where, f.message) for f in findings]


def test_a_new_migration_that_upgrades_like_a_fresh_build_passes(tmp_path: Path) -> None:
    project = write_journal(tmp_path, {MOOD: MOOD_SQL})
    result = check_upgrade(project, server=ServerChoice(pg_bin=PG_BIN))
    assert result.error is None and result.ok
    assert said(result.findings) == [(
        "info", "upgrade", "",
        "upgrade checked: 1 new migration on the base (committed in HEAD) and its seed give the schema"
        " a fresh build gives",
    )]
    assert result.base is not None and [m.filename for m in result.base.new] == [MOOD]
    assert result.base.old == tuple(APPLIED) and result.base.source == "committed in HEAD"


def test_nothing_new_is_a_short_note_and_a_pass(tmp_path: Path) -> None:
    project = write_journal(tmp_path)
    findings, error = upgrade(project)
    assert error is None
    assert said(findings) == [
        ("info", "upgrade", "", "upgrade not checked: no migration is new since the base (committed in HEAD)")
    ]


def test_a_pushed_migration_edited_afterwards_is_named_column_by_column(tmp_path: Path) -> None:
    # Someone added `pinned` to the CREATE TABLE of the pushed migration instead of writing a new
    # one: a fresh build has the column, production never will.
    project = write_journal(tmp_path, {MOOD: MOOD_SQL})
    entries = project.migrations_dir / "20240302000000_entries.sql"
    pinned = "  body text not null,\n  pinned boolean not null default false,\n"
    entries.write_text(ENTRIES.replace("  body text not null,\n", pinned))
    findings, error = upgrade(project)
    assert error is None
    assert said(findings) == [
        ("warning", "upgrade-edited", "supabase/migrations/20240302000000_entries.sql",
         "20240302000000_entries.sql was edited after HEAD, which holds it:"
         " production keeps the statements it ran then"),
        ("error", "upgrade-differs", "public.entries.pinned",
         "column public.entries.pinned: a fresh build has `pinned boolean DEFAULT false NOT NULL`,"
         " the upgrade lacks it"),
    ]
    assert findings[1].hint == FIX


def test_ddl_that_depends_on_the_seeds_rows_differs_from_a_fresh_build(tmp_path: Path) -> None:
    # On an empty table (a fresh build seeds after the last migration) the index is made; on the
    # rows production holds, it is not.
    backfill = "20240401000000_recent_entries.sql"
    sql = """-- Index recent entries, unless there are already entries to backfill first.
do $$
begin
  if not exists (select from public.entries) then
    create index entries_created_at_idx on public.entries (created_at desc);
  end if;
end
$$;
"""
    project = write_journal(tmp_path, {backfill: sql})
    findings, error = upgrade(project)
    assert error is None
    assert said(findings) == [
        ("error", "upgrade-differs", "public.entries_created_at_idx",
         "index public.entries_created_at_idx: a fresh build creates it, the upgrade does not"),
    ]
    assert findings[0].detail == (
        "-- owner: postgres\n"
        "CREATE INDEX entries_created_at_idx ON public.entries USING btree (created_at DESC);"
    )


NOT_NULL = "20240401000000_entry_visibility.sql"
NOT_NULL_SQL = """-- Every entry says who may see it.
alter table public.entries
  add column visibility text not null;
"""


def write_visibility(root: Path) -> Project:
    """The journal with a new NOT NULL column without a default, and the current seed filling it,
    so that a fresh build (seed after the migrations) passes."""
    project = write_journal(root, {NOT_NULL: NOT_NULL_SQL})
    (project.supabase_dir / "seed.sql").write_text(
        SEED.replace("(author_id, body)", "(author_id, body, visibility)")
        .replace("'first entry')", "'first entry', 'private')")
        .replace("'second entry')", "'second entry', 'private')")
    )
    return project


def test_a_not_null_column_without_default_fails_check_upgrade_on_the_seeds_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_visibility(tmp_path)
    plain = commands.check(project, pg_bin=PG_BIN)
    assert plain.error is None and not [f for f in plain.findings if f.code == "apply-failed"]
    checked = commands.check(project, pg_bin=PG_BIN, upgrade=True)
    assert not checked.ok and checked.error is None
    (failed,) = [f for f in checked.findings if f.code == "apply-failed"]
    assert (failed.where, failed.message) == (
        f"supabase/migrations/{NOT_NULL}:2:1",
        '23502 column "visibility" of relation "entries" contains null values',
    )
    code = cli.run(["check", "--upgrade", "--project-dir", str(tmp_path), *PG_BIN_ARGS])
    out = capsys.readouterr().out
    assert code == 1
    assert [
        "apply-failed",
        f'23502 column "visibility" of relation "entries" contains null values [supabase/migrations/{NOT_NULL}:2:1]',
    ] in [line.split(None, 1) for line in out.splitlines()]


def test_check_upgrade_passes_and_notes_nothing_new(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_journal(tmp_path)
    code = cli.run(["check", "--upgrade", "--project-dir", str(tmp_path), *PG_BIN_ARGS])
    out = capsys.readouterr().out
    assert code == 0
    assert "info: upgrade not checked: no migration is new since the base (committed in HEAD)" in out.splitlines()


def test_the_base_is_read_from_the_since_revision_seed_included(tmp_path: Path) -> None:
    # The mood migration was committed after the base; --since names the base, and the seed as
    # that revision has it (no `mood`) is the data the new migrations meet.
    project = write_journal(tmp_path, {MOOD: MOOD_SQL})
    git(tmp_path, "tag", "production")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "mood")
    assert said(upgrade(project)[0])[0][3].startswith("upgrade not checked: no migration is new")
    findings, error = upgrade(project, since="production")
    assert error is None
    assert said(findings)[0][3].startswith("upgrade checked: 1 new migration on the base (committed in production)")


def test_a_seed_git_does_not_hold_is_read_from_disk_and_said(tmp_path: Path) -> None:
    project = write_journal(tmp_path, {MOOD: MOOD_SQL})
    git(tmp_path, "rm", "-q", "--cached", "supabase/seed.sql")
    git(tmp_path, "commit", "-q", "-m", "seed kept local")
    findings, error = upgrade(project)
    assert error is None
    assert said(findings)[0] == (
        "info", "upgrade", "", "the base's data is the current seed (supabase/seed.sql): HEAD does not hold it"
    )
    assert said(findings)[1][3].startswith("upgrade checked: ")


def test_dump_entries_are_named_as_a_report_names_objects() -> None:
    keys = [
        ("TABLE", "public", "entries"),
        ("POLICY", "public", "entries authors read their entries"),
        ("FK CONSTRAINT", "public", "entries entries_author_id_fkey"),
        ("DEFAULT", "public", "entries id"),
        ("FUNCTION", "public", "touch(integer)"),
        ("ACL", "public", "TABLE entries"),
        ("SCHEMA", "-", "app"),
    ]
    assert [object_name(k) for k in keys] == [
        ("table", "public.entries"),
        ("policy", "public.entries: policy authors read their entries"),
        ("fk constraint", "public.entries: fk constraint entries_author_id_fkey"),
        ("default", "public.entries.id"),
        ("function", "public.touch(integer)"),
        ("grants on table", "public.entries"),
        ("schema", "app"),
    ]


def test_only_the_order_of_entries_differing_is_no_difference() -> None:
    one = (
        "--\n-- Name: a; Type: TABLE; Schema: public; Owner: postgres\n--\n\n"
        "CREATE TABLE public.a (\n    x integer\n);\n"
    )
    two = "--\n-- Name: b; Type: INDEX; Schema: public; Owner: postgres\n--\n\nCREATE INDEX b ON public.a (x);\n"
    assert schema_differences(one + two, two + one) == []
    assert list(dump_objects(one + two)) == [("TABLE", "public", "a"), ("INDEX", "public", "b")]
    (changed,) = schema_differences(one.replace("x integer", "x bigint") + two, one + two)
    assert (changed.level, changed.where, changed.message) == (
        Level.ERROR, "public.a.x", "column public.a.x: the upgrade has `x bigint`, a fresh build `x integer`"
    )


def _with_a_test(pytester: pytest.Pytester, ini: str = "") -> None:
    pytester.makeini(f"[pytest]\ntestpaths = tests\naddopts = -p no:cacheprovider\n{ini}")
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_journal.py").write_text("def test_entries_exist():\n    pass\n")


def test_the_pytest_item_is_opt_in_and_passes_on_a_good_upgrade(pytester: pytest.Pytester) -> None:
    write_journal(pytester.path, {MOOD: MOOD_SQL})
    _with_a_test(pytester)
    pytester.runpytest().assert_outcomes(passed=1)
    result = pytester.runpytest("--supamigrate-upgrade=true", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["supabase/migrations::upgrade PASSED*"])
    pytester.runpytest("--supamigrate-upgrade=true", "-k", "entries").assert_outcomes(passed=1, deselected=1)
    pytester.runpytest_subprocess("--supamigrate-upgrade=true", "-n", "2").assert_outcomes(passed=2)


def test_the_pytest_item_fails_with_the_migration_that_fails_on_the_seeds_rows(pytester: pytest.Pytester) -> None:
    write_visibility(pytester.path)
    _with_a_test(pytester, "supamigrate_upgrade = true\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "ERRORS (1)",
        f'  apply-failed  23502 column "visibility" of relation "entries" contains null values'
        f" [[]supabase/migrations/{NOT_NULL}:2:1[]]",
    ])


def test_a_new_migration_older_than_the_base_is_refused_as_db_push_refuses_it(tmp_path: Path) -> None:
    late = "20240301120000_usernames.sql"
    project = write_journal(tmp_path, {late: "create index profiles_username_idx on public.profiles (username);\n"})
    findings, error = upgrade(project)
    assert findings == []
    assert error == (
        "Found local migration files to be inserted before the last migration on remote database: "
        f"{late}\nhint: rename them to a later version, or pass --include-all to apply them anyway"
    )


def test_in_ci_the_base_is_the_pull_requests_base_branch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A CI checkout has the pull request's migration committed; origin/main is what production has.
    project = write_journal(tmp_path, {MOOD: MOOD_SQL})
    git(tmp_path, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "mood")
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    findings, error = upgrade(project)
    assert error is None
    assert said(findings) == [(
        "info", "upgrade", "",
        "upgrade checked: 1 new migration on the base (committed in origin/main) and its seed give the schema"
        " a fresh build gives",
    )]


def test_a_base_that_does_not_build_with_its_seed_is_said_at_the_file(tmp_path: Path) -> None:
    # The seed is not in git, so the base gets the current one, which fills a column only the new
    # migration adds.
    project = write_visibility(tmp_path)
    git(tmp_path, "rm", "-q", "--cached", "supabase/seed.sql")
    git(tmp_path, "commit", "-q", "-m", "seed kept local")
    result = check_upgrade(project, server=ServerChoice(pg_bin=PG_BIN))
    assert result.error is None and not result.ok
    assert said(result.findings) == [
        ("info", "upgrade", "", "the base's data is the current seed (supabase/seed.sql): HEAD does not hold it"),
        ("error", "upgrade-base-failed", "supabase/seed.sql:6:46",
         "the base (committed in HEAD) does not build with its seed:"
         ' 42703 column "visibility" of relation "entries" does not exist'),
    ]
