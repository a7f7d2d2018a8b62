"""The baseline: findings that only an edit of an applied migration could fix are counted in one
info line; new migrations are judged in full; ``--since``, ``[lint] baseline``, ``supamigrate
baseline`` and ``--all``; ``lint`` and ``check`` judge alike. On tests/toolkit/realistic.py's project,
whose three migrations are committed to git (applied) and which a test adds new ones to."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from supamigrate import cli, commands
from supamigrate.lint import lint
from supamigrate.lint.baseline import AUTHORING, UNKNOWN_BASELINE, set_baseline
from supamigrate.lint.findings import file_of
from supamigrate.lint.rules import RULES
from supamigrate.project import Project

from .lintkit import at
from .realistic import CLEAN, MISTAKE, git, write_teamwork

NEW = "20240201000000_research.sql"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.run(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_rules_held_back_are_those_that_judge_how_a_migration_was_written() -> None:
    assert sorted(AUTHORING) == [f"SB{n:03d}" for n in (1, 2, 3, 6, 7, 8, 9, 10, 14, 15, 16, 17, *range(19, 29))]
    assert set(RULES) >= AUTHORING


def test_applied_migrations_findings_are_one_info_line_new_ones_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project = write_teamwork(tmp_path, {NEW: MISTAKE})
    report = lint(project)
    assert [(file_of(f).path.name, f.code, (file_of(f).line, file_of(f).column)) for f in report.findings] == [
        (NEW, "SB003", at(MISTAKE, "public.users")),
        (NEW, "SB001", at(MISTAKE, "REFERENCES public.users")),
    ]
    held = report.held_back
    assert {file_of(f).path.name for f in held} == {"20240101000000_setup.sql", "20240102000000_profiles.sql"}
    assert {f.code for f in held} == {"SB002", "SB003", "SB006", "SB010", "SB014"}
    (note,) = report.notes
    assert note.message == f"{len(held)} findings in 2 applied migrations (committed in HEAD), see --all"
    code, out, _ = run(capsys, "lint", "--project-dir", str(tmp_path))
    assert code == 1
    assert f"supabase/migrations/{NEW}" in out and "SB003" in out and "SB010" not in out
    assert f"info: {note.message}" in out.splitlines()
    assert out.splitlines()[-1] == "2 error(s), 0 warning(s) in 1 of 4 file(s)"


def test_all_judges_every_migration(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_teamwork(tmp_path, {NEW: CLEAN})
    assert run(capsys, "lint", "--project-dir", str(tmp_path))[0] == 0
    code, out, _ = run(capsys, "lint", "--project-dir", str(tmp_path), "--all", "--format", "json")
    data = json.loads(out)
    assert code == 1 and data["held_back"] == 0 and data["notes"] == []
    assert {(Path(f["file"]).name, f["code"]) for f in data["findings"]} >= {
        ("20240101000000_setup.sql", "SB010"),
        ("20240101000000_setup.sql", "SB006"),
        ("20240102000000_profiles.sql", "SB010"),
    }


def test_a_pull_request_in_ci_is_judged_against_its_base_branch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A CI checkout has the pull request's migration committed; GitHub names the base branch, and
    # the fetched origin/<base> is what production has.
    write_teamwork(tmp_path, {})
    git(tmp_path, "update-ref", "refs/remotes/origin/main", "HEAD")
    (tmp_path / "supabase" / "migrations" / NEW).write_text(MISTAKE)
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "research sessions")
    monkeypatch.delenv("GITHUB_BASE_REF", raising=False)
    monkeypatch.delenv("CI_MERGE_REQUEST_DIFF_BASE_SHA", raising=False)
    assert run(capsys, "lint", "--project-dir", str(tmp_path))[0] == 0
    monkeypatch.setenv("GITHUB_BASE_REF", "main")
    code, out, _ = run(capsys, "lint", "--project-dir", str(tmp_path))
    assert code == 1 and "SB003" in out and "(committed in origin/main)" in out
    # A base git does not have (a shallow clone) leaves HEAD in charge, as before.
    monkeypatch.setenv("GITHUB_BASE_REF", "release")
    assert run(capsys, "lint", "--project-dir", str(tmp_path))[0] == 0


def test_since_names_the_base_revision_ci_compares_with(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Committed, the mistake is part of HEAD: locally it counts as applied. CI passes the base of
    # the push, and there it is new.
    write_teamwork(tmp_path, {NEW: MISTAKE})
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "research sessions")
    assert run(capsys, "lint", "--project-dir", str(tmp_path))[0] == 0
    code, out, _ = run(capsys, "lint", "--project-dir", str(tmp_path), "--since", "HEAD~1")
    assert code == 1 and f"{NEW}\n  {':'.join(map(str, at(MISTAKE, 'public.users')))}  SB003" in out
    code, _, err = run(capsys, "lint", "--project-dir", str(tmp_path), "--since", "no-such-branch")
    assert code == 1 and "unknown git revision 'no-such-branch'" in err


def test_set_baseline_keeps_everything_else() -> None:
    text = '# tool settings\n[platform]\nshims = ["pg_net"]  # shimmed\n\n[lint]\n# ours\ndisable = ["SB014"]\n'
    once = set_baseline(text, "20240103000000")
    assert once == text.replace("[lint]\n", '[lint]\nbaseline = "20240103000000"\n')
    twice = set_baseline(once, "20240201000000")
    assert twice == text.replace("[lint]\n", '[lint]\nbaseline = "20240201000000"\n')
    assert tomllib.loads(twice) == {
        "platform": {"shims": ["pg_net"]},
        "lint": {"baseline": "20240201000000", "disable": ["SB014"]},
    }
    assert set_baseline("[advisors]\ndisable = []\n", "1") == '[advisors]\ndisable = []\n\n[lint]\nbaseline = "1"\n'
    assert set_baseline("", "1") == '[lint]\nbaseline = "1"\n'
    # A baseline key in another section is not ours.
    assert tomllib.loads(set_baseline('[other]\nbaseline = "x"\n', "7"))["lint"] == {"baseline": "7"}


def test_the_baseline_command_and_the_toml_baseline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Outside git nothing tells which migrations production has: all are judged, and lint says so.
    project = write_teamwork(tmp_path, repository=False)
    code, out, _ = run(capsys, "lint", "--project-dir", str(tmp_path))
    assert code == 1 and f"info: {UNKNOWN_BASELINE}" in out
    (tmp_path / "supamigrate.toml").write_text('[platform]\nshims = []\n')
    code, out, _ = run(capsys, "baseline", "--project-dir", str(tmp_path))
    assert (code, out) == (0, 'supamigrate.toml: [lint] baseline = "20240103000000"\n')
    assert tomllib.loads((tmp_path / "supamigrate.toml").read_text()) == {
        "platform": {"shims": []},
        "lint": {"baseline": "20240103000000"},
    }
    assert run(capsys, "lint", "--project-dir", str(tmp_path))[0] == 0
    (project.migrations_dir / NEW).write_text(MISTAKE)
    report = lint(Project.load(tmp_path))
    assert [f.code for f in report.findings] == ["SB003", "SB001"]
    assert report.notes[0].message.endswith('applied migrations (up to [lint] baseline = "20240103000000"), see --all')
    code, out, _ = run(capsys, "baseline", "--project-dir", str(tmp_path))
    assert out == 'supamigrate.toml: [lint] baseline = "20240201000000" (was 20240103000000)\n'
    assert lint(Project.load(tmp_path)).findings == []


def test_the_baseline_command_leaves_a_file_it_cannot_edit_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_teamwork(tmp_path, repository=False)
    inline = 'lint = { disable = ["SB014"] }\n'
    (tmp_path / "supamigrate.toml").write_text(inline)
    code, _, err = run(capsys, "baseline", "--project-dir", str(tmp_path))
    assert code == 1 and "could not set [lint] baseline" in err and 'baseline = "20240103000000"' in err
    assert (tmp_path / "supamigrate.toml").read_text() == inline
    empty = tmp_path / "empty"
    (empty / "supabase" / "migrations").mkdir(parents=True)
    (empty / "supabase" / "config.toml").write_text('project_id = "empty"\n')
    code, _, err = run(capsys, "baseline", "--project-dir", str(empty))
    assert code == 1 and "no migrations in" in err and not (empty / "supamigrate.toml").exists()


def test_the_toml_baseline_wins_over_head_and_since_over_both(tmp_path: Path) -> None:
    write_teamwork(tmp_path, {NEW: MISTAKE})
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "research sessions")
    (tmp_path / "supamigrate.toml").write_text('[lint]\nbaseline = "20240103000000"\n')
    project = Project.load(tmp_path)
    assert [f.code for f in lint(project).findings] == ["SB003", "SB001"]
    assert lint(project, since="HEAD").findings == []


def test_check_judges_as_lint_does(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The applied migrations' SB003/SB006/SB014 do not fail check; the new migration's mistake does,
    # naming its file and line. (Without BEGIN/COMMIT: the runner's handling of them is not ours.)
    clean = write_teamwork(tmp_path / "clean", {NEW: CLEAN}, wrapped=False)
    report = commands.check(clean)
    assert report.ok, [f for f in report.findings if f.level == "error"]
    assert [n.code for n in report.notes] == ["baseline"]
    assert run(capsys, "check", "--project-dir", str(tmp_path / "clean"), "--all")[0] == 1
    write_teamwork(tmp_path / "mistake", {NEW: MISTAKE}, wrapped=False)
    code, out, _ = run(capsys, "check", "--project-dir", str(tmp_path / "mistake"))
    line, column = at(MISTAKE, "public.users")
    assert code == 1 and f"[supabase/migrations/{NEW}:{line}:{column}]" in out
    assert "SB010" not in out and "info: " in out
