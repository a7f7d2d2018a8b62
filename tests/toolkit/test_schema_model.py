"""The shared schema model as the lint reads it: search_path changes, resets, renames, SET SCHEMA.

Preflight reads the same model (see test_preflight.py for the two agreeing on a live target).
"""

from __future__ import annotations

from pathlib import Path

from supamigrate.lint.linter import check_rules, read_context
from supamigrate.sql.objects import DEFAULT_SEARCH_PATH

from .lintkit import make_project


def replayed(tmp_path: Path, migrations: list[str]) -> tuple[list[str], list[str]]:
    """The tables the model holds after the migrations, and the tables SB004 reports."""
    ctx = read_context(make_project(tmp_path, migrations))
    findings = check_rules(ctx)
    no_rls = [f.message.split()[1] for f in findings if f.code == "SB004"]
    return sorted(ctx.state.tables), no_rls


def test_set_schema_and_renames_are_followed(tmp_path: Path) -> None:
    tables, no_rls = replayed(
        tmp_path,
        [
            "create schema app;\ncreate table public.drafts (id bigint primary key);\n"
            "alter table drafts set schema app;\nalter table app.drafts rename to notes;\n"
            "create table public.kept (id bigint primary key);\nalter table kept rename to archive;\n"
            "alter table archive enable row level security;\n",
        ],
    )
    assert tables == ["app.notes", "public.archive"]
    assert no_rls == []


def test_reset_and_set_local_search_path(tmp_path: Path) -> None:
    tables, no_rls = replayed(
        tmp_path,
        [
            "create schema app;\nset local search_path to app;\ncreate table a (id int);\n"
            "reset search_path;\ncreate table b (id int);\n"
            "set search_path = app;\nset search_path to default;\ncreate table c (id int);\n"
            "select set_config('search_path', 'app', false);\nreset all;\ncreate table d (id int);\n",
        ],
    )
    assert tables == ["app.a", "public.b", "public.c", "public.d"]
    assert no_rls == ["public.b", "public.c", "public.d"]


def test_each_file_starts_from_role_postgres_search_path(tmp_path: Path) -> None:
    ctx = read_context(
        make_project(tmp_path, ["create schema app;\nset search_path = app, public;\n", "create table t (id int);\n"])
    )
    check_rules(ctx)
    assert ctx.state.search_path == DEFAULT_SEARCH_PATH
    assert sorted(ctx.state.tables) == ["public.t"]


def test_references_find_the_first_schema_along_the_path_that_has_the_name(tmp_path: Path) -> None:
    tables, no_rls = replayed(
        tmp_path,
        [
            "create schema app;\ncreate table public.items (id int);\ncreate table app.other (id int);\n"
            "set search_path = app, public;\n"
            # items is only in public: the lookup goes past app; new tables still land in app.
            "alter table items enable row level security;\ncreate table extra (id int);\n"
            "insert into items values (1);\n",
        ],
    )
    assert tables == ["app.extra", "app.other", "public.items"]
    assert no_rls == []  # RLS was enabled on public.items through the path
