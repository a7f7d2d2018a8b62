"""tools/splinter/compare.py on a lint written in splinter's interface (by us: splinter's own SQL is
never committed) and on a database where it and our advisor agree and differ."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import psycopg
import pytest

from supamigrate.plugin import TestDatabase

SCRIPT = Path(__file__).parents[2] / "tools" / "splinter" / "compare.py"

# A lint view as splinter writes them: name, title, level, facing, categories, description,
# detail, remediation, metadata, cache_key. It flags regular tables without a primary key.
LINT = """\
create view lint."0004_no_primary_key" as

select
    'no_primary_key' as name, 'No Primary Key' as title, 'INFO' as level, 'EXTERNAL' as facing,
    array['PERFORMANCE'] as categories, 'tables without a primary key' as description,
    format('Table %s.%s has no primary key', n.nspname, c.relname) as detail, null as remediation,
    jsonb_build_object('schema', n.nspname, 'name', c.relname, 'type', 'table') as metadata,
    format('no_primary_key_%s_%s', n.nspname, c.relname) as cache_key
from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind = 'r' and n.nspname = 'public'
    and not exists (select from pg_catalog.pg_index i where i.indrelid = c.oid and i.indisprimary);
"""


@pytest.fixture(scope="module")
def compare() -> ModuleType:
    spec = importlib.util.spec_from_file_location("splinter_compare", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_script_compares_per_lint_and_object(compare: ModuleType, fresh_db: TestDatabase, tmp_path: Path) -> None:
    (tmp_path / "lints").mkdir()
    (tmp_path / "lints" / "0004_no_primary_key.sql").write_text(LINT)
    with psycopg.connect(fresh_db.server.conninfo(fresh_db.name), autocommit=True) as admin:
        admin.execute(
            "create table public.cmp_log (at timestamptz, line text);"
            # Partitions are left out by our advisor (the parent's key covers them), not by this lint.
            " create table public.cmp_events (at timestamptz not null) partition by range (at);"
            " create table public.cmp_events_2025 partition of public.cmp_events"
            " for values from ('2025-01-01') to ('2026-01-01');"
        )
    lints = compare.splinter_lints(tmp_path)
    assert list(lints) == ["0004_no_primary_key"] and "create view" not in lints["0004_no_primary_key"]
    database = compare.compare("cmp", fresh_db.conninfo, lints, ("public", "graphql_public"), None)
    theirs = database.splinter.objects["no_primary_key"]
    ours = database.ours.objects["no_primary_key"]
    assert {"public.cmp_log", "public.cmp_events_2025"} <= theirs and "public.cmp_events" not in theirs
    assert {"public.cmp_log", "public.cmp_events"} <= ours and "public.cmp_events_2025" not in ours
    text = compare.table([database], ["no_primary_key"])
    assert "- `no_primary_key` on cmp: `public.cmp_events_2025` only splinter" in text
    assert "- `no_primary_key` on cmp: `public.cmp_events` only advise" in text


def test_our_objects_read_as_splinters_metadata_names_them(compare: ModuleType) -> None:
    assert compare.our_key("auth_rls_initplan", "public.notes: policy own") == "public.notes"
    assert compare.our_key("function_search_path_mutable", "public.f(a integer)") == "public.f"
    assert compare.our_key("extension_in_public", "extension pg_trgm") == "pg_trgm"
    assert compare.our_key("unsupported_reg_types", "public.hooks.handler") == "public.hooks"
    assert compare.splinter_key("public_bucket_allows_listing", {"bucket_id": "avatars"}) == "avatars"
    assert compare.splinter_key("rls_disabled_in_public", {"schema": "public", "name": "notes"}) == "public.notes"
