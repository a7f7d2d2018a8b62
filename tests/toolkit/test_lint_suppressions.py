"""SB028: a suppression comment that suppresses nothing, and what still counts as used."""

from __future__ import annotations

from pathlib import Path

from supamigrate.lint import lint

from .lintkit import at, make_project, places, rule_findings

M1 = "20240101000001_m1.sql"
M2 = "20240101000002_m2.sql"

NOTES = """create table public.notes (id bigint primary key, body text);
alter table public.notes enable row level security;
"""


def test_sb028_suppressions_that_suppress_nothing(tmp_path: Path) -> None:
    second = """set lock_timeout = '5s';
-- supamigrate: disable=SB008 (the body moved to note_bodies)
alter table public.notes add column title text;
alter table public.notes drop column body; -- supamigrate: disable=SB008,SB07
-- supamigrate: disable-file=SB014, LT01
"""
    found = rule_findings(make_project(tmp_path, [NOTES, second]), "SB028")
    assert places(found) == [
        (M2, *at(second, "supamigrate: disable=SB008 (")),
        (M2, *at(second, "supamigrate: disable=SB008,")),
        (M2, *at(second, "supamigrate: disable-file")),
        (M2, *at(second, "supamigrate: disable-file")),
    ]
    assert [f.message for f in found] == [
        "this suppression of SB008 suppresses nothing: there is no SB008 finding on this statement or line",
        "this suppression of SB07 suppresses nothing: SB07 is not one of supamigrate's rules (SB000-SB028)",
        "this suppression of LT01 suppresses nothing: LT01 is not one of supamigrate's rules (SB000-SB028)",
        "this suppression of SB014 suppresses nothing: there is no SB014 finding in this file",
    ]
    assert found[0].level.name == "WARNING"


def test_sb028_not_for_suppressions_that_work_or_rules_the_project_disables(tmp_path: Path) -> None:
    second = """set lock_timeout = '5s';
-- supamigrate: disable=SB008 (the body moved to note_bodies)
alter table public.notes drop column body;
truncate public.notes; -- supamigrate: disable=all
create table public.tags (id bigint primary key, note_id bigint references public.notes on delete cascade);
-- supamigrate: disable-file=SB014,SB004
-- supamigrate: disable=SB028
"""
    project = make_project(tmp_path, [NOTES, second])
    assert rule_findings(project, "SB028") == []
    assert lint(project, sqlfluff=False).suppressed == 4  # SB008 twice, SB014, SB004
    # Disabled project-wide, the rule's suppressions are not judged either way.
    disabled = make_project(tmp_path / "d", [NOTES, "select 1; -- supamigrate: disable=SB028\n"])
    (disabled.root / "supamigrate.toml").write_text('[lint]\ndisable = ["SB028"]\n')
    assert rule_findings(type(disabled).load(disabled.root), "SB028") == []
