"""``supamigrate advise`` on a live database: every advisor, live-only ones too, read-only.

The database is one of the test's own, cloned from the migrated template; what makes the
advisors speak is committed by a superuser first, as it would be on a database in service.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from supamigrate import cli
from supamigrate.advise import AdviseReport, advise
from supamigrate.advisors.registry import ADVISORS, Context, Hit, advisor
from supamigrate.plugin import TestDatabase
from supamigrate.report import ADVISE

ACCOUNTS = """
create table public.accounts (id bigint primary key, email text, password text);
create table public.notes (id bigint primary key, account_id bigint references public.accounts (id), body text);
create index notes_body on public.notes (body);
alter table public.notes enable row level security;
create policy own on public.notes for select to authenticated using (auth.uid() is not null);
"""


@pytest.fixture
def live(fresh_db: TestDatabase) -> TestDatabase:
    with psycopg.connect(fresh_db.server.conninfo(fresh_db.name), autocommit=True) as admin:
        admin.execute(ACCOUNTS)
    return fresh_db


def codes(found: AdviseReport) -> set[tuple[str, str]]:
    return {(f.code, f.where) for f in found.findings}


def test_advise_runs_every_advisor_live_ones_included(live: TestDatabase) -> None:
    result = advise(live.conninfo)
    assert result.exposed == ("public", "graphql_public")
    assert result.exposed_from == "Supabase's default"
    assert {
        ("rls_disabled_in_public", "public.accounts"),
        ("sensitive_columns_exposed", "public.accounts"),
        ("auth_rls_initplan", "public.notes: policy own"),
        ("unindexed_foreign_keys", "public.notes: foreign key notes_account_id_fkey"),
        ("unused_index", "public.notes: index notes_body"),
        ("pg_graphql_anon_table_exposed", "public.notes"),
        ("pg_graphql_authenticated_table_exposed", "public.accounts"),
    } <= codes(result)
    assert not result.ok  # errors fail at the default fail-on
    text = ADVISE["text"](result)
    assert text.splitlines()[0].startswith("supamigrate advise: ")
    assert "  exposed schemas: public, graphql_public (Supabase's default)" in text
    assert text.splitlines()[-1].startswith("FAILED (") and text.endswith("; nothing was written)")


def test_the_schemas_postgrest_serves_come_from_the_database(live: TestDatabase) -> None:
    with psycopg.connect(live.server.conninfo(live.name), autocommit=True) as admin:
        admin.execute(f'alter role authenticator in database "{live.name}" set pgrst.db_schemas = \'api, public\'')
        try:
            result = advise(live.conninfo, only=["rls_disabled_in_public"])
        finally:
            admin.execute(f'alter role authenticator in database "{live.name}" reset pgrst.db_schemas')
    assert (result.exposed, result.exposed_from) == (("api", "public"), "pgrst.db_schemas of role authenticator")
    assert advise(live.conninfo, schemas=["graphql_public"], only=["rls_disabled_in_public"]).findings == []


@pytest.fixture
def writing_advisor() -> Iterator[str]:
    def writes(ctx: Context) -> Iterator[Hit]:
        """An advisor that tries to write, which a read-only connection must refuse outright."""
        ctx.conn.execute("create table public.advise_wrote_this (id int)")
        yield from ()

    advisor("advise_writes", level="INFO", category="performance", title="writes", hint="-")(writes)
    try:
        yield "advise_writes"
    finally:
        del ADVISORS["advise_writes"]


def test_advise_is_read_only_by_construction(live: TestDatabase, writing_advisor: str) -> None:
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction, match="read-only transaction"):
        advise(live.conninfo, only=[writing_advisor])
    with live.connect() as conn:
        assert conn.execute("select to_regclass('public.advise_wrote_this')").fetchone() == (None,)


def test_advise_from_the_command_line_as_json(
    live: TestDatabase, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "supabase").mkdir()
    (tmp_path / "supabase" / "config.toml").write_text('project_id = "x"\n[api]\nschemas = ["public"]\n')
    (tmp_path / "supamigrate.toml").write_text(
        '[advisors]\ndisable = ["unused_index"]\nignore = ["sensitive_columns_exposed:public.accounts"]\n'
    )
    args = ["advise", "--db-url", live.conninfo, "--project-dir", str(tmp_path), "--format", "json"]
    assert cli.run(args) == cli.EXIT_FAIL
    data = json.loads(capsys.readouterr().out)
    assert (data["ok"], data["exposed_schemas"], data["exposed_from"]) == (
        False,
        ["public"],
        "[api] schemas of supabase/config.toml",
    )
    found = {(f["code"], f["object"]) for f in data["findings"]}
    assert ("rls_disabled_in_public", "public.accounts") in found
    assert ("pg_graphql_anon_table_exposed", "public.accounts") in found
    assert not {c for c, _ in found} & {"unused_index", "sensitive_columns_exposed"}
    # Every code is one of splinter's lint names, the remediation its docs page.
    assert {c for c, _ in found} <= set(ADVISORS)
    assert all(f["extras"]["remediation"].endswith(f"_{f['code']}") for f in data["findings"])
    assert cli.run([*args[:-1], "github", "--only", "table_bloat"]) == cli.EXIT_OK
    assert capsys.readouterr().out == "supamigrate advise: OK (0 finding(s))\n"
