"""What sql.objects.analyse reads from single statements (the facts preflight works from)."""

from __future__ import annotations

from supamigrate.sql.objects import Creation, Drop, Facts, Name, Reference, analyse


def facts(sql: str) -> Facts:
    result = analyse(sql)
    assert result is not None
    return result


def test_create_table_with_columns_and_a_foreign_key() -> None:
    f = facts(
        "-- profiles\ncreate table if not exists users (id uuid primary key references auth.users (id),"
        " name varchar(20), born timestamptz)"
    )
    assert f.creations == [
        Creation(
            "table",
            Name(None, "users"),
            "if_not_exists",
            columns=(("id", "uuid"), ("name", "varchar(20)"), ("born", "timestamptz")),
        )
    ]
    assert f.references == [Reference(Name("auth", "users"), "foreign key")]
    assert f.start == len("-- profiles\n")


def test_view_references_skip_its_own_name_and_ctes() -> None:
    f = facts("create or replace view public.v as with recent as (select 1) select * from recent, notes")
    assert f.creations == [Creation("view", Name("public", "v"), "or_replace")]
    assert f.references == [Reference(Name(None, "notes"), "CREATE VIEW")]


def test_functions_types_policies_roles_and_search_path() -> None:
    fn = facts("create function api.f(a int, out b text) returns text language sql as $$ select 'x' $$")
    assert fn.creations == [Creation("function", Name("api", "f"), arguments=("integer",))]
    enum = facts("create type mood as enum ('sad', 'ok')")
    assert enum.creations == [Creation("type", Name(None, "mood"), labels=("sad", "ok"))]
    policy = facts("create policy own on notes for select to authenticated using ((select auth.uid()) = me)")
    assert policy.creations == [Creation("policy", Name(None, "own"), on=Name(None, "notes"))]
    assert policy.roles == ["authenticated"]
    assert policy.functions == [Name("auth", "uid")]
    assert facts("set search_path = public, extensions").search_path == ("public", "extensions")
    assert facts("set local search_path to ''").search_path == ()


def test_drops_and_unparsable_text() -> None:
    assert facts("drop table if exists users, public.x").drops == [
        Drop("table", Name(None, "users"), True),
        Drop("table", Name("public", "x"), True),
    ]
    assert analyse("create tabel oops (") is None
