"""The platform stub against the reference facts read from a real Supabase database.

``reference/supabase-platform.json`` (copied from the oracle, never read from outside the
repository) names every table, constraint, function, role, schema, enum and publication a fresh
Supabase database has. A database holding only the stub (and the CLI's history table, created as
``supabase db push`` creates it) is read back from its catalog and compared fact by fact; any
drift fails with one line per difference.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from supamigrate.build import build_database
from supamigrate.database import Server, connect, drop_database, unique_name
from supamigrate.platform.facts import diff_facts, read_facts
from supamigrate.project import Project

REFERENCE = json.loads((Path(__file__).parent / "reference" / "supabase-platform.json").read_text())

# Facts the stub leaves out on purpose, each with its reason (the README lists them too).
LEFT_OUT = {
    # safeupdate is a platform library; preloading it would make logins fail on a plain server.
    ("roles", "authenticator", "settings", "session_preload_libraries"): "'safeupdate'",
}
# Unique indexes the platform has beyond those the reference lists: GoTrue's token indexes, which
# keep two users from holding the same non-numeric confirmation, recovery or change token.
PLATFORM_EXTRAS = {
    "auth.users": [
        f"UNIQUE INDEX ({column}) WHERE {column}::text !~ '^[0-9 ]*$'::text"
        for column in (
            "confirmation_token",
            "email_change_token_current",
            "email_change_token_new",
            "reauthentication_token",
            "recovery_token",
        )
    ]
}
# Prose in the reference, and the catalog facts each sentence stands for.
DEFAULT_PRIVILEGES_PROSE = (
    "ALL on tables, sequences and functions created by postgres (and by supabase_admin)"
    " granted to postgres, anon, authenticated, service_role"
)
_ALL = {
    "tables": "DELETE,INSERT,REFERENCES,SELECT,TRIGGER,TRUNCATE,UPDATE",
    "sequences": "SELECT,UPDATE,USAGE",
    "functions": "EXECUTE",
}
DEFAULT_PRIVILEGES = {
    creator: {
        kind: [
            f"{grantee}: {privileges}"
            for grantee in sorted(("postgres", "anon", "authenticated", "service_role"))
        ]
        for kind, privileges in _ALL.items()
    }
    for creator in ("postgres", "supabase_admin")
}


def comparable_reference() -> dict[str, Any]:
    """The reference with prose turned into facts and the documented omissions taken out."""
    ref: dict[str, Any] = copy.deepcopy(REFERENCE)
    ref.pop("about")
    assert ref.pop("postgres_major_versions") == [15, 17]  # checked against the server below
    for fn in ref["functions"]:
        fn.pop("reads")  # behaviour, checked by test_platform_functions_behave_as_documented
    for path, value in LEFT_OUT.items():
        node = ref
        for key in path[:-1]:
            node = node[key]
        assert node.pop(path[-1]) == value, f"the reference changed for {path}"
    public = ref["schemas"]["public"]
    assert public["default_privileges"] == DEFAULT_PRIVILEGES_PROSE, "the reference's prose changed"
    public["default_privileges"] = DEFAULT_PRIVILEGES
    assert ref["schemas"]["supabase_migrations"].pop("created_by") == "the Supabase CLI on first push"
    for table, extras in PLATFORM_EXTRAS.items():
        ref["unique"][table] = [*ref["unique"][table], *extras]
    return ref


@pytest.fixture(scope="module")
def stub_only(supamigrate_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database with the stub and an empty migration set applied (as `supabase db push` would)."""
    root = tmp_path_factory.mktemp("empty-project")
    (root / "supabase").mkdir()
    name = unique_name("fidelity")
    build_database(supamigrate_server, name, Project.load(root))
    try:
        yield supamigrate_server.conninfo(name)
    finally:
        drop_database(supamigrate_server, name)


@pytest.fixture
def stub_conn(stub_only: str) -> Iterator[psycopg.Connection]:
    with connect(stub_only) as conn:
        yield conn


def test_the_stub_reproduces_every_reference_fact(stub_conn: psycopg.Connection) -> None:
    reference = comparable_reference()
    live = read_facts(stub_conn, reference)
    drift = diff_facts(reference, live)
    assert not drift, "the stub drifted from the platform reference:\n" + "\n".join(drift)


def test_the_server_is_a_major_version_the_platform_runs(stub_conn: psycopg.Connection) -> None:
    row = stub_conn.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone()
    assert row is not None and row[0] in REFERENCE["postgres_major_versions"]


def test_the_diff_names_each_drift(stub_conn: psycopg.Connection) -> None:
    """A changed column, a missing enum label and an extra membership each give a readable line."""
    reference = comparable_reference()
    live = read_facts(stub_conn, reference)
    live["tables"]["auth.users"][4]["type"] = "text"
    live["enums"]["auth.aal_level"].pop()
    live["role_memberships"].append({"role": "service_role", "member": "anon"})
    assert diff_facts(reference, live) == [
        'tables.auth.users.email.type: reference "character varying(255)", live "text"',
        'role_memberships: not in the reference: {"member": "anon", "role": "service_role"}',
        'enums.auth.aal_level: reference ["aal1", "aal2", "aal3"], live ["aal1", "aal2"]',
    ]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({}, {"uid": None, "role": None, "email": None, "jwt": None}),
        (
            {
                "request.jwt.claims": '{"sub": "6f1d0c3e-2a4b-4c1e-9f6a-0d6b1e2f3a01",'
                ' "role": "authenticated",'
                ' "email": "ada@example.com", "app_metadata": {"plan": "pro"}}'
            },
            {
                "uid": "6f1d0c3e-2a4b-4c1e-9f6a-0d6b1e2f3a01",
                "role": "authenticated",
                "email": "ada@example.com",
                "jwt": {
                    "sub": "6f1d0c3e-2a4b-4c1e-9f6a-0d6b1e2f3a01",
                    "role": "authenticated",
                    "email": "ada@example.com",
                    "app_metadata": {"plan": "pro"},
                },
            },
        ),
        (  # the older per-claim settings win when non-empty
            {
                "request.jwt.claims": '{"sub": "6f1d0c3e-2a4b-4c1e-9f6a-0d6b1e2f3a01", "role": "anon"}',
                "request.jwt.claim.sub": "6f1d0c3e-2a4b-4c1e-9f6a-0d6b1e2f3a02",
                "request.jwt.claim.role": "service_role",
                "request.jwt.claim.email": "grace@example.com",
                "request.jwt.claim": '{"role": "service_role"}',
            },
            {
                "uid": "6f1d0c3e-2a4b-4c1e-9f6a-0d6b1e2f3a02",
                "role": "service_role",
                "email": "grace@example.com",
                "jwt": {"role": "service_role"},
            },
        ),
        (  # empty per-claim settings fall back to the JSON claims
            {
                "request.jwt.claims": '{"sub": "6f1d0c3e-2a4b-4c1e-9f6a-0d6b1e2f3a01", "role": "anon"}',
                "request.jwt.claim.sub": "",
                "request.jwt.claim.role": "",
                "request.jwt.claim": "",
            },
            {
                "uid": "6f1d0c3e-2a4b-4c1e-9f6a-0d6b1e2f3a01",
                "role": "anon",
                "email": None,
                "jwt": {"sub": "6f1d0c3e-2a4b-4c1e-9f6a-0d6b1e2f3a01", "role": "anon"},
            },
        ),
    ],
)
def test_auth_functions_read_the_claims_as_documented(
    stub_conn: psycopg.Connection, settings: dict[str, str], expected: dict[str, Any]
) -> None:
    with stub_conn.transaction(force_rollback=True):
        stub_conn.execute("SET LOCAL ROLE authenticated")
        for name, value in settings.items():
            stub_conn.execute("SELECT set_config(%s, %s, true)", (name, value))
        row = stub_conn.execute("SELECT auth.uid()::text, auth.role(), auth.email(), auth.jwt()").fetchone()
    assert row is not None
    assert dict(zip(("uid", "role", "email", "jwt"), row, strict=True)) == expected


@pytest.mark.parametrize(
    ("name", "folders", "filename", "extension"),
    [
        ("a/b/c.png", ["a", "b"], "c.png", "png"),
        ("c.tar.gz", [], "c.tar.gz", "gz"),
        ("user-1/avatar.jpeg", ["user-1"], "avatar.jpeg", "jpeg"),
        ("docs/README", ["docs"], "README", "README"),
        ("a/b/.env", ["a", "b"], ".env", "env"),
    ],
)
def test_storage_path_helpers_give_the_platform_results(
    stub_conn: psycopg.Connection, name: str, folders: list[str], filename: str, extension: str
) -> None:
    row = stub_conn.execute(
        "SELECT storage.foldername(%s), storage.filename(%s), storage.extension(%s)", (name, name, name)
    ).fetchone()
    assert row == (folders, filename, extension)


def test_objects_path_tokens_are_generated_from_the_name(stub_conn: psycopg.Connection) -> None:
    with stub_conn.transaction(force_rollback=True):
        stub_conn.execute("INSERT INTO storage.buckets (id, name) VALUES ('b', 'b')")
        row = stub_conn.execute(
            "INSERT INTO storage.objects (bucket_id, name) VALUES ('b', 'x/y/z.txt') RETURNING path_tokens"
        ).fetchone()
    assert row == (["x", "y", "z.txt"],)


def test_objects_need_an_existing_bucket(stub_conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.ForeignKeyViolation), stub_conn.transaction(force_rollback=True):
        stub_conn.execute("INSERT INTO storage.objects (bucket_id, name) VALUES ('nope', 'a.txt')")


def test_platform_tables_have_their_owners(stub_conn: psycopg.Connection) -> None:
    rows = stub_conn.execute(
        "SELECT n.nspname, array_agg(DISTINCT pg_get_userbyid(c.relowner)) FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname IN ('auth', 'storage') AND c.relkind IN ('r', 'S') GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert rows == [("auth", ["supabase_auth_admin"]), ("storage", ["supabase_storage_admin"])]
