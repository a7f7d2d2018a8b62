"""The lint run as a whole: sqlfluff through its API, suppression comments, the three output
formats, exit codes, this repository's SQL, and the team's original mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from supamigrate import cli
from supamigrate.errors import ProjectError
from supamigrate.lint import lint
from supamigrate.lint.findings import file_of
from supamigrate.lint.sqlfluff_runner import run_sqlfluff
from supamigrate.project import Project

from .lintkit import REPO, at, make_project, places, rule_findings

CLEAN = """create table public.notes (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  body text not null default ''
);

create index notes_user_id_idx on public.notes (user_id);

alter table public.notes enable row level security;

create policy "Users can read their own notes"
on public.notes for select to authenticated
using (user_id = (select auth.uid()));
"""

# The team's original mistake, as it was written: a users table of its own, made with IF NOT
# EXISTS (so on the shared database it silently kept the table already there), and keys to it.
ORIGINAL_MISTAKE = """-- Users and their research sessions.
create table if not exists public.users (
  id uuid primary key default gen_random_uuid(),
  email text not null unique,
  created_at timestamptz not null default now()
);

alter table public.users enable row level security;

create table if not exists public.research_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references public.users (id) on delete cascade,
  title text not null
);

create index if not exists idx_research_sessions_user_id on public.research_sessions (user_id);

alter table public.research_sessions enable row level security;

create table if not exists public.draft_files (
  id uuid primary key default gen_random_uuid(),
  session_id uuid not null references public.research_sessions (id) on delete cascade,
  author_id uuid references public.users (id) on delete set null,
  content text not null default ''
);
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.run(["lint", *argv])
    return code, capsys.readouterr().out


# -- sqlfluff ------------------------------------------------------------------------------------


def test_a_file_sqlfluff_cannot_parse_is_a_finding_with_its_line(tmp_path: Path) -> None:
    bad = "select 1;\n\ncreate tabel notes (id int);\n"
    project = make_project(tmp_path, [CLEAN, bad])
    found = [f for f in lint(project).findings if file_of(f).path.name == "20240101000002_m2.sql"]
    assert [(f.code, file_of(f).line, f.source) for f in found] == [
        ("PRS", 3, "sqlfluff"),
        ("SB000", 3, "supamigrate"),
    ]


def test_valid_sql_sqlfluff_cannot_parse_is_reported_unless_marked(tmp_path: Path) -> None:
    test_sql = """begin;
select plan(1);
set local request.jwt.claims to '{"sub": "6f1d0c3e-2a4b-4c1e-9f6a-0d6b1e2f3a01"}';
select ok(true, 'runs');
select * from finish();
rollback;
"""
    project = make_project(tmp_path, [CLEAN], tests={"a_test.sql": test_sql})
    report = lint(project)
    assert [(file_of(f).path.name, f.code, file_of(f).line) for f in report.findings] == [("a_test.sql", "PRS", 3)]
    (project.tests_dir / "a_test.sql").write_text(test_sql.replace("01\"}';", "01\"}'; -- noqa: PRS"))
    assert lint(project).findings == []


def test_a_large_file_is_linted_not_skipped(tmp_path: Path) -> None:
    notes = "".join(f"-- {i:04d} a long seed file explains itself at length, line after line ...\n" for i in range(300))
    big = notes + "select  1;\n"  # a double space sqlfluff flags (LT01), past byte 20000
    assert len(big.encode()) > 20_000
    project = make_project(tmp_path, {"20240101000001_m1.sql": CLEAN}, seed=big)
    found = [f for f in lint(project).findings if file_of(f).path.name == "seed.sql"]
    assert [(f.code, file_of(f).line) for f in found] == [("LT01", 301)]


def test_a_file_sqlfluff_skips_for_its_size_is_a_finding(tmp_path: Path) -> None:
    project = make_project(tmp_path, [CLEAN])
    (tmp_path / ".sqlfluff").write_text("[sqlfluff]\ndialect = postgres\nlarge_file_skip_byte_limit = 100\n")
    found = run_sqlfluff([project.migrations_dir / "20240101000001_m1.sql"], root=tmp_path)
    assert [(f.code, file_of(f).line, file_of(f).path.name) for f in found] == [("SKIP", 1, "20240101000001_m1.sql")]


def test_parse_errors_are_reported_even_when_the_config_ignores_them(tmp_path: Path) -> None:
    project = make_project(tmp_path, ["select 1;\ncreate tabel x (a int);\n"], sqlfluff_config=False)
    (tmp_path / ".sqlfluff").write_text("[sqlfluff]\ndialect = postgres\nignore = parsing\n")
    found = run_sqlfluff([project.migrations_dir / "20240101000001_m1.sql"], root=tmp_path)
    assert [(f.code, file_of(f).line) for f in found] == [("PRS", 2)]


def test_a_project_without_sqlfluff_config_gets_postgres_and_raw(tmp_path: Path) -> None:
    project = make_project(tmp_path, ["select '{{ not jinja }}' as x;\n"], sqlfluff_config=False)
    assert [f.code for f in lint(project).findings if f.source == "sqlfluff"] == []


def test_files_are_linted_in_parallel_with_the_same_findings(tmp_path: Path) -> None:
    files = [CLEAN.replace("notes", f"notes{i}") + ("select  1;\n" if i % 2 else "") for i in range(6)]
    project = make_project(tmp_path, files)
    paths = sorted(project.migrations_dir.glob("*.sql"))
    serial = run_sqlfluff(paths, root=tmp_path, jobs=1)
    parallel = run_sqlfluff(paths, root=tmp_path, jobs=2)
    assert sorted(serial, key=lambda f: f.sort_key) == sorted(parallel, key=lambda f: f.sort_key)
    assert [(file_of(f).path.name, f.code) for f in serial] == [(p.name, "LT01") for p in paths[1::2]]


# -- suppression ---------------------------------------------------------------------------------


def test_suppression_comment_on_the_line_above_and_trailing(tmp_path: Path) -> None:
    first = "create table public.notes (id int primary key, body text);\n"
    second = """-- supamigrate: disable=SB008 (the body moved to note_bodies in 20240101000001)
alter table public.notes drop column body;
truncate public.notes; -- supamigrate: disable=SB008
truncate public.notes;
"""
    project = make_project(tmp_path, [first, second])
    assert places(rule_findings(project, "SB008")) == [("20240101000002_m2.sql", 4, 1)]
    assert lint(project, sqlfluff=False).suppressed == 2


def test_suppression_names_rules_and_file_wide_suppression(tmp_path: Path) -> None:
    sql = """-- supamigrate: disable-file=SB014
create table public.a (owner uuid references auth.users (id)); -- supamigrate: disable=SB004
create table public.b (owner uuid references auth.users (id)); -- supamigrate: disable=SB001,all
"""
    project = make_project(tmp_path, [sql])
    found = lint(project, sqlfluff=False).findings
    assert [(f.code, file_of(f).line) for f in found] == [("SB002", 2)]


def test_rules_disabled_in_supamigrate_toml(tmp_path: Path) -> None:
    make_project(tmp_path, ["create table public.a (owner uuid references auth.users (id));\n"])
    (tmp_path / "supamigrate.toml").write_text('[lint]\ndisable = ["SB004", "SB014"]\n')
    assert [f.code for f in lint(Project.load(tmp_path), sqlfluff=False).findings] == ["SB002"]
    (tmp_path / "supamigrate.toml").write_text('[lint]\ndisable = ["SB999"]\n')
    with pytest.raises(ProjectError, match="unknown rules: SB999"):
        lint(Project.load(tmp_path), sqlfluff=False)


# -- the original mistake ------------------------------------------------------------------------


def test_the_original_mistake_is_caught_on_its_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_project(tmp_path, {"20240301000000_users_and_sessions.sql": ORIGINAL_MISTAKE})
    code, out = run(capsys, "--project-dir", str(tmp_path), "--format", "json")
    assert code == 1
    found = {(f["rule"], f["line"], f["column"]) for f in json.loads(out)["findings"]}
    sql = ORIGINAL_MISTAKE
    assert ("SB003", *at(sql, "public.users (")) in found
    assert ("SB003", *at(sql, "public.research_sessions (")) in found
    assert ("SB001", *at(sql, "references public.users")) in found
    assert ("SB001", *at(sql, "references public.users", 2)) in found
    assert {r for r, _, _ in found} == {"SB001", "SB003", "SB004", "SB014"}  # draft_files: no RLS, no indexes


# -- output formats and exit codes ---------------------------------------------------------------


def test_clean_project_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_project(tmp_path, [CLEAN], seed="insert into public.notes (user_id) values (null);\n")
    code, out = run(capsys, "--project-dir", str(tmp_path))
    assert (code, out.strip()) == (0, "2 file(s) clean")


def test_text_output_groups_findings_by_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_project(tmp_path, [CLEAN, "drop table public.notes cascade;\n", "vacuum;\n"])
    code, out = run(capsys, "--project-dir", str(tmp_path))
    lines = out.splitlines()
    assert code == 1
    headers = [line for line in lines if not line.startswith(" ")]
    assert headers[:2] == [
        f"{tmp_path}/supabase/migrations/20240101000002_m2.sql",
        f"{tmp_path}/supabase/migrations/20240101000003_m3.sql",
    ]
    second = lines[lines.index(headers[0]) + 1 : lines.index(headers[1])]
    assert [line.split()[:2] for line in second if not line.startswith("      fix:")] == [
        ["1:1", "SB007"],
        ["1:1", "SB008"],
        ["1:1", "SB022"],  # the drop waits for its lock on an existing table with no lock_timeout
    ]
    assert lines[-1] == "3 error(s), 1 warning(s) in 2 of 3 file(s)"


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = "create table public.a (owner uuid references auth.users (id) on delete cascade);\n"
    make_project(tmp_path, [sql])
    code, out = run(capsys, "--project-dir", str(tmp_path), "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["ok"] is False and data["errors"] == 2
    assert [(f["rule"], f["line"], f["column"], f["source"]) for f in data["findings"]] == [
        ("SB004", *at(sql, "public.a"), "supamigrate"),
        ("SB014", *at(sql, "references"), "supamigrate"),
    ]
    assert data["findings"][0]["fix"].startswith("`alter table <table> enable row level security;`")


def test_github_annotations(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(tmp_path, [CLEAN, "select  1;\ntruncate public.notes;\n"])
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    code, out = run(capsys, "--project-dir", str(tmp_path), "--format", "github")
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith("::error file=supabase/migrations/20240101000002_m2.sql,line=1,col=7,title=LT01::LT01 ")
    assert lines[1].startswith(
        "::error file=supabase/migrations/20240101000002_m2.sql,line=2,col=1,title=SB008::SB008 TRUNCATE on"
        " public.notes destroys the data it holds"
    )
    assert lines[-1] == "supamigrate lint: 2 error(s), 1 warning(s) in 2 file(s)"  # SB022 on the truncate


def test_paths_narrow_the_report_not_the_rules(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_project(tmp_path, ["create table public.notes (id bigint primary key);\n", "drop table public.notes;\n"])
    first = tmp_path / "supabase/migrations/20240101000001_m1.sql"
    second = tmp_path / "supabase/migrations/20240101000002_m2.sql"
    code, out = run(capsys, "--project-dir", str(tmp_path), "--format", "json", str(second))
    # The drop is judged knowing m1 created the table (it holds data); m1's own findings are not shown.
    assert code == 1
    assert [(f["rule"], f["file"].endswith("_m2.sql")) for f in json.loads(out)["findings"]] == [
        ("SB008", True),
        ("SB022", True),
    ]
    code, out = run(capsys, "--project-dir", str(tmp_path), "--format", "json", str(first))
    assert (code, json.loads(out)["findings"]) == (0, [])


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_project(tmp_path, [CLEAN])
    assert cli.run(["lint", "--project-dir", str(tmp_path), str(tmp_path / "missing.sql")]) == 2
    assert "no such file or directory" in capsys.readouterr().err
    assert cli.run(["lint", "--project-dir", str(tmp_path), "--jobs", "0"]) == 2
    with pytest.raises(SystemExit) as exc:
        cli.run(["lint", "--format", "xml"])
    assert exc.value.code == 2


# -- this repository -----------------------------------------------------------------------------


def test_this_repositorys_sql_lints_clean() -> None:
    report = lint(Project.load(REPO))
    assert [(file_of(f).path.name, file_of(f).line, f.code, f.message) for f in report.findings] == []
    assert {p.parent.name for p in report.files} >= {"migrations", "supabase", "database"}


def test_the_sqlfluff_cache_tells_apart_a_config_above_the_project(tmp_path: Path) -> None:
    # The same file twice: once under a .sqlfluff above the project root that checks line length
    # (a monorepo's), once under none (the bundled defaults, which do not). A shared cache must not
    # hand one the other's verdict. (Before the bundled defaults, "none" meant sqlfluff's own.)
    long_line = "select 1 as " + "a" * 90 + ";\n"
    plain = make_project(tmp_path / "plain", {"20240101000001_x.sql": long_line}, sqlfluff_config=False)
    outer = tmp_path / "monorepo"
    outer.mkdir()
    (outer / ".sqlfluff").write_text("[sqlfluff]\ndialect = postgres\nrules = LT05\nmax_line_length = 80\n")
    configured = make_project(outer / "app", {"20240101000001_x.sql": long_line}, sqlfluff_config=False)
    cache = tmp_path / "cache"
    assert "LT05" in {f.code for f in lint(configured, cache_dir=cache).findings}
    assert "LT05" not in {f.code for f in lint(plain, cache_dir=cache).findings}
    assert "LT05" in {f.code for f in lint(configured, cache_dir=cache).findings}  # a hit, still its own


def test_json_where_names_the_file_as_file_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_project(tmp_path, ["create table public.a (id bigint primary key);\n"])
    monkeypatch.chdir(tmp_path)  # paths are shown relative to the working directory
    _, out = run(capsys, "--project-dir", str(tmp_path), "--format", "json")
    (finding,) = json.loads(out)["findings"]
    assert finding["file"] == "supabase/migrations/20240101000001_m1.sql"
    assert finding["where"] == f"{finding['file']}:{finding['line']}:{finding['column']}"
