"""Extensions as the platform offers them: real ones from Debian packages, shims, clear refusals."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from psycopg import errors

from supamigrate.build import build_database
from supamigrate.commands import check
from supamigrate.database import Server, connect, create_database, unique_name
from supamigrate.errors import MigrationError, ProjectError
from supamigrate.platform.extensions import SHIMS, server_settings
from supamigrate.project import Project
from supamigrate.server import EphemeralServer, PgInstall, ServerOptions

from .conftest import PG_BIN, server_major
from .platform_projects import PROJECTS, act_as, app_conninfo, built, copy_project, session, user_claims

CUSTOMER = "c3c3c3c3-0000-4000-8000-000000000001"


@pytest.fixture(scope="module")
def shimmed(supamigrate_server: Server) -> Iterator[str]:
    with built(supamigrate_server, "shimmed") as name:
        yield name


def test_every_shim_is_recorded_with_its_schema(supamigrate_server: Server, shimmed: str) -> None:
    with session(supamigrate_server, shimmed) as conn:
        rows = dict(conn.execute("select name, schema from supamigrate.shims").fetchall())
    assert rows == {
        "pg_graphql": "graphql",
        "pg_net": "net",
        "supabase_vault": "vault",
        "pgjwt": "extensions",
        "pg_cron": "cron",
        "pg_jsonschema": "extensions",
        "vector": "extensions",
        "http": "extensions",
        "pgmq": "pgmq",
        "wrappers": "extensions",
        "pgsodium": "pgsodium",
    }
    assert set(rows) == set(SHIMS)


def test_an_order_posts_to_the_webhook_url_kept_in_the_vault(
    supamigrate_server: Server, shimmed: str
) -> None:
    with session(supamigrate_server, shimmed) as conn:
        conn.execute("insert into public.orders (total_cents) values (4200)")
        row = conn.execute(
            "select method, url, headers, convert_from(body, 'utf8')::jsonb from net.http_request_queue"
        ).fetchone()
    assert row is not None
    method, url, headers, body = row
    assert (method, url) == ("POST", "https://hooks.example.test/orders")
    assert headers == {"Content-Type": "application/json", "X-Source": "orders"}
    assert body == {"order_id": 1, "total_cents": 4200}


def test_the_vault_keeps_secrets_encrypted_and_from_the_api_roles(
    supamigrate_server: Server, shimmed: str
) -> None:
    with session(supamigrate_server, shimmed) as conn:
        stored = conn.execute("select secret from vault.secrets where name = 'orders_webhook_url'").fetchone()
        secret_id = conn.execute("select vault.create_secret('s3cr3t', 'api_key')").fetchone()
        assert secret_id is not None
        conn.execute("select vault.update_secret(%s, 'n3w')", (secret_id[0],))
        plain = conn.execute(
            "select decrypted_secret from vault.decrypted_secrets where name = 'api_key'"
        ).fetchone()
        act_as(conn, "authenticated", user_claims(CUSTOMER))
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("select * from vault.decrypted_secrets")
    assert stored is not None and "hooks.example.test" not in stored[0]
    assert plain == ("n3w",)


def test_pg_net_encodes_params_and_answers_collect_response(supamigrate_server: Server, shimmed: str) -> None:
    with session(supamigrate_server, shimmed) as conn:
        act_as(conn, "anon")  # the API roles may queue requests, as on the platform
        request = conn.execute(
            "select net.http_get('https://api.example.test/search', params := '{\"q\": \"a b&c\"}')"
        ).fetchone()
        conn.execute("reset role")
        assert request is not None
        pending = conn.execute(
            "select (net.http_collect_response(%s)).status::text", (request[0],)
        ).fetchone()
        conn.execute(
            "insert into net._http_response (id, status_code, content_type, headers, content)"
            " values (%s, 200, 'application/json', '{}', '{\"ok\": true}')",
            (request[0],),
        )
        done = conn.execute(
            "select r.status::text, (r.response).status_code, (r.response).body"
            " from net.http_collect_response(%s) r",
            (request[0],),
        ).fetchone()
        url = conn.execute("select url from net.http_request_queue where id = %s", (request[0],)).fetchone()
    assert url == ("https://api.example.test/search?q=a%20b%26c",)
    assert pending == ("ERROR",)
    assert done == ("SUCCESS", 200, '{"ok": true}')


def test_pg_net_refuses_a_non_json_post(supamigrate_server: Server, shimmed: str) -> None:
    with (
        session(supamigrate_server, shimmed) as conn,
        pytest.raises(errors.RaiseException, match="Content-Type"),
    ):
        conn.execute(
            "select net.http_post('https://x.test', '{}', headers := '{\"Content-Type\": \"text/plain\"}')"
        )


def test_cron_jobs_are_recorded_and_schedules_checked(supamigrate_server: Server, shimmed: str) -> None:
    with session(supamigrate_server, shimmed) as conn:
        job = conn.execute("select jobname, schedule, username, active from cron.job").fetchone()
        again = conn.execute("select cron.schedule('purge-old-orders', '0 4 * * *', 'select 1')").fetchone()
        jobs = conn.execute("select jobid, schedule from cron.job").fetchall()
        for schedule in ("*/5 * * * *", "0 9 * * mon-fri", "@daily", "30 seconds", "0 0 1,15 jan,jul *"):
            conn.execute("select cron.schedule(%s, 'select 1')", (schedule,))
        with (
            pytest.raises(errors.InvalidParameterValue, match="invalid schedule: 61 \\* \\* \\* \\*"),
            conn.transaction(),
        ):
            conn.execute("select cron.schedule('bad', '61 * * * *', 'select 1')")
        assert conn.execute("select cron.unschedule('purge-old-orders')").fetchone() == (True,)
        with pytest.raises(errors.RaiseException, match="could not find valid entry"), conn.transaction():
            conn.execute("select cron.unschedule('purge-old-orders')")
    assert job == ("purge-old-orders", "0 3 * * *", "postgres", True)
    assert again is not None and jobs == [(again[0], "0 4 * * *")]  # a named job is replaced, not added


def test_jsonschema_checks_guard_the_table(supamigrate_server: Server, shimmed: str) -> None:
    with session(supamigrate_server, shimmed) as conn:
        conn.execute(
            "insert into public.orders (total_cents, shipping) values (1, %s)",
            (json.dumps({"street": "1 Main St", "zip": "75001", "country": "FR"}),),
        )
        for bad in (
            {"street": "1 Main St"},
            {"street": "x", "zip": "7500"},
            {"street": "x", "zip": "75001", "pet": 1},
            {"street": "", "zip": "75001"},
            {"street": "x", "zip": "75001", "country": "ES"},
        ):
            with pytest.raises(errors.CheckViolation), conn.transaction():
                conn.execute(
                    "insert into public.orders (total_cents, shipping) values (1, %s)", (json.dumps(bad),)
                )
        errs = conn.execute(
            "select extensions.jsonschema_validation_errors("
            '\'{"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}\', \'{"n": 0.5}\')'
        ).fetchone()
        valid = conn.execute(
            'select extensions.jsonschema_is_valid(\'{"type": "object"}\'),'
            ' extensions.jsonschema_is_valid(\'{"type": "objekt"}\'),'
            " extensions.json_matches_schema("
            ' \'{"anyOf": [{"type": "string"}, {"type": "null"}]}\', \'null\'),'
            ' extensions.json_matches_schema(\'{"$defs": {"id": {"type": "integer"}},'
            ' "type": "array", "items": {"$ref": "#/$defs/id"}, "uniqueItems": true}\', \'[1, 2, 2]\')'
        ).fetchone()
    assert errs is not None and len(errs[0]) == 2  # not an integer, below the minimum
    assert valid == (True, False, True, False)


def test_vector_search_finds_the_nearest_documents(supamigrate_server: Server, shimmed: str) -> None:
    with session(supamigrate_server, shimmed) as conn:
        conn.execute(
            "insert into public.documents (content, embedding) values ('Kittens', %s)", ([0.95, 0.05, 0.0],)
        )
        nearest = conn.execute(
            "select content from public.documents order by embedding <=> '[1,0,0]' limit 2"
        ).fetchall()
        matches = conn.execute("select content from public.match_documents('[0,0.1,1]', 0.9, 5)").fetchall()
        stored = conn.execute(
            "select embedding::text from public.documents where content = 'Kittens'"
        ).fetchone()
        values = conn.execute(
            "select '[3,4]'::vector <-> '[0,0]', '[1,2]'::vector <#> '[3,4]', vector_dims('[1,2,3]'::vector),"
            " vector_norm('[3,4]'), ('[1,2]'::vector + '[3,4]')::text, avg(embedding)::text"
            " from public.documents where content like 'The cat%%'"
        ).fetchone()
        indexes = conn.execute(
            "select am.amname from pg_index x join pg_class i on i.oid = x.indexrelid"
            " join pg_am am on am.oid = i.relam"
            " where x.indrelid = 'public.documents'::regclass and not x.indisprimary"
        ).fetchall()
        with pytest.raises(errors.DataException, match="expected 3 dimensions, not 2"), conn.transaction():
            conn.execute("insert into public.documents (content, embedding) values ('short', '[1,2]')")
        with (
            pytest.raises(errors.DataException, match="different vector dimensions 3 and 2"),
            conn.transaction(),
        ):
            conn.execute("select embedding <-> '[1,2]' from public.documents")
    assert nearest == [("The cat sat on the mat",), ("Kittens",)]
    assert matches == [("Stock markets fell today",)]
    assert stored == ("[0.95,0.05,0]",)
    assert values == (5.0, -11.0, 3, 5.0, "[4,6]", "[1,0,0]")
    assert sorted(indexes) == [("hnsw",), ("ivfflat",)]


def test_http_calls_are_recorded_and_answered_from_the_mock_table(
    supamigrate_server: Server, shimmed: str
) -> None:
    with session(supamigrate_server, shimmed) as conn:
        conn.execute(
            "insert into supamigrate.http_responses (method, uri, status, content_type, content)"
            " values ('GET', 'https://geo.example.test/search%%', 200, 'application/json',"
            " '{\"lat\": 48.85}')"
        )
        answer = conn.execute("select public.geocode('Paris, France')").fetchone()
        default = conn.execute(
            "select status, content from extensions.http_post('https://x.test', 'hi', 'text/plain')"
        ).fetchone()
        log = conn.execute(
            "select method, uri, content from supamigrate.http_requests order by id"
        ).fetchall()
    assert answer == ({"lat": 48.85},)
    assert default == (200, "")
    assert log == [
        ("GET", "https://geo.example.test/search?q=Paris%2C%20France", None),
        ("POST", "https://x.test", "hi"),
    ]


def test_pgjwt_tokens_are_standard_hs256(supamigrate_server: Server, shimmed: str) -> None:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    payload = '{"sub":"1234567890","name":"John Doe","iat":1516239022}'
    with session(supamigrate_server, shimmed) as conn:
        token = conn.execute("select extensions.sign(%s::json, 'secret')", (payload,)).fetchone()
        checked = conn.execute(
            "select valid, payload ->> 'name' from extensions.verify(%s, 'secret')",
            (token[0] if token else "",),
        ).fetchone()
        wrong = conn.execute(
            "select valid from extensions.verify(%s, 'other')", (token[0] if token else "",)
        ).fetchone()
        link = conn.execute("select public.download_token('a/b.pdf', 'k')").fetchone()
        link_ok = conn.execute(
            "select valid from extensions.verify(%s, 'k')", (link[0] if link else "",)
        ).fetchone()
    header = b'{"alg":"HS256","typ":"JWT"}'
    signing_input = f"{b64(header)}.{b64(payload.encode())}"
    signature = b64(hmac.new(b"secret", signing_input.encode(), hashlib.sha256).digest())
    assert token == (f"{signing_input}.{signature}",)
    assert checked == (True, "John Doe")
    assert wrong == (False,)
    assert link_ok == (True,)


def test_graphql_stand_in_says_it_serves_nothing(supamigrate_server: Server, shimmed: str) -> None:
    with session(supamigrate_server, shimmed) as conn, pytest.raises(errors.FeatureNotSupported):
        act_as(conn, "anon")
        conn.execute("select graphql.resolve('{ __typename }')")


# -- shims dropped and created again, as migrations do ---------------------------------------------


def test_drop_extension_removes_a_shim_and_create_brings_it_back(
    supamigrate_server: Server, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    (root / "supabase" / "migrations").mkdir(parents=True)
    (root / "supamigrate.toml").write_text(
        '[platform]\nshims = ["pgjwt", "vector", "pg_net", "supabase_vault"]\n'
    )
    (root / "supabase" / "migrations" / "1_create.sql").write_text(
        "create extension pgjwt with schema extensions;\n"
        "create extension vector with schema extensions;\n"
        "create extension pg_net with schema extensions;\n"
        "create table public.items (embedding vector(2));\n"
        # The platform has vault from the start; a project that creates it again changes nothing.
        "create extension supabase_vault with schema vault;\n"
    )
    (root / "supabase" / "migrations" / "2_drop.sql").write_text(
        "drop extension if exists pgjwt;\ndrop extension pg_net;\ndrop extension supabase_vault;\n"
        "create extension if not exists pgjwt with schema public;\n"
    )
    with built(supamigrate_server, root) as name, session(supamigrate_server, name) as conn:
        where = conn.execute(
            "select array_agg(distinct pronamespace::regnamespace::text) from pg_proc"
            " where proname = 'url_encode'"
        ).fetchone()
        net = conn.execute(
            "select to_regnamespace('net') is null, to_regclass('net.http_request_queue') is null"
        ).fetchone()
        vault = conn.execute(
            "select to_regnamespace('vault') is null, to_regclass('vault.secrets') is null"
        ).fetchone()
        shims = conn.execute("select name, schema from supamigrate.shims order by name").fetchall()
    assert where == (["public"],)
    assert net == (True, True)
    assert vault == (False, True)  # the schema was the platform's: only the extension's objects went
    assert shims == [("pg_graphql", "graphql"), ("pgjwt", "public"), ("vector", "extensions")]

    (root / "supabase" / "migrations" / "3_drop_vector.sql").write_text("drop extension vector;\n")
    with (
        pytest.raises(MigrationError, match="because other objects depend on it") as failed,
        built(supamigrate_server, root),
    ):
        pass
    assert failed.value.path.name == "3_drop_vector.sql"


def test_creating_a_shim_twice_without_if_not_exists_fails_as_on_the_platform(
    supamigrate_server: Server, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    (root / "supabase" / "migrations").mkdir(parents=True)
    (root / "supamigrate.toml").write_text('[platform]\nshims = ["pg_net"]\n')
    (root / "supabase" / "migrations" / "1_net.sql").write_text(
        "create extension pg_net;\ncreate extension if not exists pg_net;\ncreate extension pg_net;\n"
    )
    with pytest.raises(MigrationError) as failed, built(supamigrate_server, root):
        pass
    assert (failed.value.line, failed.value.sqlstate) == (3, "42710")
    assert 'extension "pg_net" already exists' in failed.value.message


# -- extensions that are missing ------------------------------------------------------------------


def test_a_missing_extension_names_itself_the_file_the_line_and_the_fix(supamigrate_server: Server) -> None:
    with pytest.raises(MigrationError) as failed, built(supamigrate_server, "missing_extension"):
        pass
    error = failed.value
    assert error.path == PROJECTS / "missing_extension/supabase/migrations/20240602000000_webhooks.sql"
    assert (error.line, error.column) == (3, 1)
    assert 'extension "pg_net" is not available' in error.message
    assert error.hint is not None
    assert 'add "pg_net" to `shims` under [platform] in supamigrate.toml' in error.hint


def test_a_missing_extension_with_a_package_names_the_package(
    supamigrate_server: Server, tmp_path: Path
) -> None:
    root = tmp_path / "p"
    (root / "supabase" / "migrations").mkdir(parents=True)
    (root / "supabase" / "migrations" / "1_gis.sql").write_text("select 1;\n\ncreate extension postgis;\n")
    with pytest.raises(MigrationError) as failed, built(supamigrate_server, root):
        pass
    assert failed.value.line == 3
    package = f"postgresql-{server_major(supamigrate_server.conninfo())}-postgis-3"  # for the server's own major
    assert failed.value.hint is not None and f"apt-get install {package}" in failed.value.hint
    assert "no shim for postgis" in failed.value.hint


def test_the_missing_extension_applies_once_shimmed(supamigrate_server: Server, tmp_path: Path) -> None:
    root = copy_project("missing_extension", tmp_path, toml='[platform]\nshims = ["pg_net"]\n')
    with built(supamigrate_server, root) as name, session(supamigrate_server, name) as conn:
        assert conn.execute("select to_regprocedure('public.post_event()') is not null").fetchone() == (True,)


def test_unknown_shim_names_are_a_project_error(supamigrate_server: Server, tmp_path: Path) -> None:
    root = copy_project("profiles", tmp_path, toml='[platform]\nshims = ["pg_net", "timescaledb"]\n')
    with pytest.raises(ProjectError, match="timescaledb") as failed:
        build_database(supamigrate_server, unique_name("x"), Project.load(root))
    assert failed.value.hint is not None and "pg_net" in failed.value.hint


# -- pg_cron: the real extension where the server preloads it, else the shim or an error ---------


@pytest.mark.pg_cron
def test_real_pg_cron_lives_in_the_database_the_server_was_started_for(tmp_path: Path) -> None:
    name = unique_name("cron")
    settings = server_settings({"pg_cron"}, database=name, pkglibdir=PgInstall.find().pkglibdir)
    with EphemeralServer(ServerOptions(extra_settings=settings)) as server:
        build_database(server, name, Project.load(PROJECTS / "pg_cron_real"))
        create_database(server, "clone", template=name)
        with connect(app_conninfo(server, "clone")) as conn:
            real = conn.execute("select extversion from pg_extension where extname = 'pg_cron'").fetchone()
            jobs = conn.execute("select jobname, schedule, command from cron.job").fetchall()
            conn.execute("select cron.schedule('vacuum', '0 4 * * sun', 'vacuum')")
            with pytest.raises(errors.InvalidParameterValue, match="invalid schedule"):
                conn.execute("select cron.schedule('bad', '0 25 * * *', 'select 1')")
        with connect(server.conninfo("clone")) as conn:
            shims = conn.execute("select array_agg(name order by name) from supamigrate.shims").fetchone()
    assert real is not None  # pg_cron itself, not the shim
    assert jobs == [
        (
            "purge-sessions-log",
            "30 3 * * *",
            "delete from public.sessions_log where created_at < now() - interval '30 days'",
        )
    ]
    assert shims == (["pg_graphql", "supabase_vault"],)  # only what every project has is a shim


@pytest.mark.pg_cron
def test_a_seconds_schedule_applies_or_names_the_pg_cron_it_needs(tmp_path: Path) -> None:
    # The platform's pg_cron takes '30 seconds' (pg_cron 1.5+); Debian's 1.4 refuses it. Either the
    # migration applies, or the error says which pg_cron would take it.
    root = copy_project("pg_cron_real", tmp_path)
    (root / "supabase" / "migrations" / "20240601000000_heartbeat.sql").write_text(
        "-- every half minute\nselect cron.schedule('heartbeat', '30 seconds', 'select 1');\n"
    )
    report = check(Project.load(root), pg_bin=PG_BIN)
    failed = [f for f in report.findings if f.code == "apply-failed"]
    if report.build is not None and len(report.build.apply.applied) == 2:
        assert failed == []
    else:
        (finding,) = failed
        assert "22023 invalid schedule: 30 seconds" in finding.message
        assert "pg_cron 1.5 or newer" in (finding.hint or "")
        assert isinstance(report.error, MigrationError) and report.error.line == 2


@pytest.mark.pg_cron
def test_check_starts_its_server_with_pg_cron_for_a_project_that_uses_it() -> None:
    report = check(Project.load(PROJECTS / "pg_cron_real"), pg_bin=PG_BIN)
    assert report.ok, report.findings
    assert report.build is not None and [m.filename for m in report.build.apply.applied] == [
        "20240501000000_cleanup_job.sql"
    ]


@pytest.mark.pg_cron
def test_pg_cron_elsewhere_explains_cron_database_name(supamigrate_server: Server, tmp_path: Path) -> None:
    root = copy_project("pg_cron_real", tmp_path, toml="[platform]\nshims = []\n")
    with pytest.raises(MigrationError) as failed, built(supamigrate_server, root):
        pass
    assert failed.value.line == 9  # the create extension statement
    assert "pg_cron" in failed.value.message
    assert failed.value.hint is not None and "cron.database_name" in failed.value.hint


def test_pg_cron_elsewhere_falls_back_to_its_shim(supamigrate_server: Server, tmp_path: Path) -> None:
    root = copy_project("pg_cron_real", tmp_path, toml='[platform]\nshims = ["pg_cron"]\n')
    with built(supamigrate_server, root) as name, session(supamigrate_server, name) as conn:
        row = conn.execute(
            "select s.name, j.jobname from supamigrate.shims s, cron.job j where s.name = 'pg_cron'"
        ).fetchone()
    assert row == ("pg_cron", "purge-sessions-log")
