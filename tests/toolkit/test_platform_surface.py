"""The platform's newer surface, each on a small project of our own: storage operations, Realtime
Authorization, the vault every project has, Database Webhooks, what supautils lets postgres do,
CREATE EXTENSION inside PL/pgSQL, and shims as invisible as the extensions they stand in for."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg import errors

from supamigrate.advisors import run_advisors
from supamigrate.database import Server, connect
from supamigrate.dump import dump_schema
from supamigrate.errors import MigrationError
from supamigrate.platform.extensions import shim_findings
from supamigrate.server import EphemeralServer, find_bindir

from .platform_projects import act_as, built, session, user_claims

ALICE = "a1a1a1a1-0000-4000-8000-000000000001"
BOB = "b2b2b2b2-0000-4000-8000-000000000002"


def project(tmp_path: Path, *migrations: str, toml: str = "", seed: str | None = None) -> Path:
    """A project in ``tmp_path`` with one migration file per text, in order."""
    root = tmp_path / "project"
    folder = root / "supabase" / "migrations"
    folder.mkdir(parents=True)
    for index, text in enumerate(migrations, 1):
        (folder / f"2024010100000{index}_step.sql").write_text(text)
    if toml:
        (root / "supamigrate.toml").write_text(toml)
    if seed is not None:
        (root / "supabase" / "seed.sql").write_text(seed)
    return root


def add_user(conn: psycopg.Connection, user_id: str) -> None:
    conn.execute("insert into auth.users (id, email) values (%s, %s)", (user_id, f"{user_id[:4]}@example.test"))


# -- storage: operation-aware policies ------------------------------------------------------------

AVATARS = """
insert into storage.buckets (id, name) values ('avatars', 'avatars');

-- Anyone signed in may download an avatar; only its owner may upload or replace it.
create policy "avatars are readable" on storage.objects for select to authenticated
  using (bucket_id = 'avatars' and storage.allow_only_operation('object.get'));
create policy "owners list and move their avatars" on storage.objects for select to authenticated
  using (
    bucket_id = 'avatars'
    and owner_id = (select auth.uid()::text)
    and storage.allow_any_operation(array['storage.object.list', 'object.move'])
  );
"""


def test_storage_policies_see_the_operation_storage_sets(supamigrate_server: Server, tmp_path: Path) -> None:
    with built(supamigrate_server, project(tmp_path, AVATARS)) as name, session(supamigrate_server, name) as conn:
        add_user(conn, ALICE)
        add_user(conn, BOB)
        conn.execute(
            "insert into storage.objects (bucket_id, name, owner_id) values ('avatars', %s, %s), ('avatars', %s, %s)",
            (f"{ALICE}/me.png", ALICE, f"{BOB}/me.png", BOB),
        )
        act_as(conn, "authenticated", user_claims(ALICE))

        def visible(operation: str | None) -> int:
            conn.execute("select set_config('storage.operation', %s, true)", (operation or "",))
            row = conn.execute("select count(*) from storage.objects").fetchone()
            return int(row[0]) if row else -1

        downloads = visible("storage.object.get")
        listed = visible("object.list")
        moved = visible("storage.object.move")
        uploads = visible("object.upload")
        nothing = visible(None)
        operation = conn.execute("select storage.operation()").fetchone()
        empty = conn.execute("select storage.allow_only_operation(''), storage.allow_any_operation('{}')").fetchone()
    assert (downloads, listed, moved, uploads, nothing) == (2, 1, 1, 0, 0)
    assert operation == ("",)
    assert empty == (False, False)


# -- Realtime Authorization -----------------------------------------------------------------------

ROOMS = """
create table public.room_messages (
  id bigint generated always as identity primary key,
  room text not null,
  body text not null
);
alter table public.room_messages enable row level security;

create or replace function public.broadcast_room_message() returns trigger
language plpgsql security definer set search_path = '' as $$
begin
  perform realtime.broadcast_changes(
    'room:' || coalesce(new.room, old.room), tg_op, tg_op, tg_table_name, tg_table_schema, new, old
  );
  return null;
end
$$;

create trigger room_messages_broadcast after insert or update or delete on public.room_messages
  for each row execute function public.broadcast_room_message();

-- Private channels: a member of a room may receive its broadcasts and send to it.
create table public.room_members (room text not null, user_id uuid not null references auth.users);
create policy "members receive" on realtime.messages for select to authenticated
  using (exists (
    select from public.room_members m
    where 'room:' || m.room = (select realtime.topic()) and m.user_id = (select auth.uid())
  ));
create policy "members send" on realtime.messages for insert to authenticated
  with check (exists (
    select from public.room_members m
    where 'room:' || m.room = (select realtime.topic()) and m.user_id = (select auth.uid())
  ));
"""


def test_realtime_messages_are_guarded_by_the_projects_policies(supamigrate_server: Server, tmp_path: Path) -> None:
    with built(supamigrate_server, project(tmp_path, ROOMS)) as name, session(supamigrate_server, name) as conn:
        add_user(conn, ALICE)
        conn.execute("insert into public.room_members values ('42', %s)", (ALICE,))
        conn.execute("insert into public.room_messages (room, body) values ('42', 'hi'), ('7', 'psst')")
        conn.execute("select realtime.send('{\"text\": \"direct\"}', 'note', 'room:42')")
        rows = conn.execute(
            "select topic, event, payload->'record'->>'body', payload->>'text', private from realtime.messages"
            " order by inserted_at, topic"
        ).fetchall()
        rls = conn.execute("select relrowsecurity from pg_class where oid = 'realtime.messages'::regclass").fetchone()
        grants = conn.execute(
            "select has_table_privilege('anon', 'realtime.messages', 'select'),"
            " has_table_privilege('authenticated', 'realtime.messages', 'insert'),"
            " has_table_privilege('authenticated', 'realtime.messages', 'delete')"
        ).fetchone()
        act_as(conn, "authenticated", user_claims(ALICE))
        conn.execute("select set_config('realtime.topic', 'room:42', true)")
        own = conn.execute("select count(*) from realtime.messages").fetchone()
        conn.execute(
            "insert into realtime.messages (topic, extension, event, payload) values"
            " ('room:42', 'broadcast', 'typing', '{}')"
        )
        conn.execute("select set_config('realtime.topic', 'room:7', true)")
        other = conn.execute("select count(*) from realtime.messages").fetchone()
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
            conn.execute(
                "insert into realtime.messages (topic, extension, event, payload) values"
                " ('room:7', 'broadcast', 'typing', '{}')"
            )
    assert {(r[0], r[1], r[2]) for r in rows if r[3] is None} == {
        ("room:42", "INSERT", "hi"),
        ("room:7", "INSERT", "psst"),
    }
    assert ("room:42", "note", None, "direct", True) in rows
    assert rls == (True,)
    assert grants == (True, True, False)
    assert (own, other) == ((3,), (0,))


# -- vault, installed in every project ------------------------------------------------------------

VAULT = """
create extension if not exists supabase_vault with schema vault;
create extension supabase_vault;
select vault.create_secret('https://hooks.example.test/orders', 'orders_webhook_url', 'where orders go');
"""


def test_every_project_has_the_vault_without_asking(supamigrate_server: Server, tmp_path: Path) -> None:
    with built(supamigrate_server, project(tmp_path, VAULT)) as name, session(supamigrate_server, name) as conn:
        secret = conn.execute(
            "select decrypted_secret, description from vault.decrypted_secrets where name = 'orders_webhook_url'"
        ).fetchone()
        stored = conn.execute("select secret from vault.secrets where name = 'orders_webhook_url'").fetchone()
        ext = conn.execute(
            "select extnamespace::regnamespace::text from pg_extension where extname = 'supabase_vault'"
        ).fetchone()
        secret_id = conn.execute("select id from vault.secrets").fetchone()
        assert secret_id is not None
        conn.execute("select vault.update_secret(%s, 'https://hooks.example.test/v2')", (secret_id[0],))
        updated = conn.execute("select decrypted_secret from vault.decrypted_secrets").fetchone()
        act_as(conn, "authenticated")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("select * from vault.decrypted_secrets")
    assert secret == ("https://hooks.example.test/orders", "where orders go")
    assert stored is not None and "hooks.example.test" not in stored[0]
    assert ext == ("vault",)
    assert updated == ("https://hooks.example.test/v2",)


# -- Database Webhooks ----------------------------------------------------------------------------

WEBHOOK = """
create table public.orders (id bigint generated always as identity primary key, total_cents int not null);

create trigger "orders_created" after insert on public.orders for each row
  execute function "supabase_functions"."http_request"(
    'https://hooks.example.test/orders', 'POST', '{"Content-type":"application/json"}', '{}', '5000'
  );
"""


def test_a_webhook_trigger_as_db_pull_dumps_it_posts_and_leaves_a_hook_row(
    supamigrate_server: Server, tmp_path: Path
) -> None:
    root = project(
        tmp_path,
        "create extension if not exists pg_net with schema extensions;\n",
        WEBHOOK,
        toml='[platform]\nshims = ["pg_net"]\n',
    )
    with built(supamigrate_server, root) as name, session(supamigrate_server, name) as conn:
        conn.execute("insert into public.orders (total_cents) values (4200)")
        request = conn.execute(
            "select method, url, convert_from(body, 'utf8')::jsonb -> 'record' ->> 'total_cents'"
            " from net.http_request_queue"
        ).fetchone()
        hook = conn.execute(
            "select hook_table_id::regclass::text, hook_name, request_id is not null from supabase_functions.hooks"
        ).fetchone()
        migrations = conn.execute("select count(*) from supabase_functions.migrations").fetchone()
    assert request == ("POST", "https://hooks.example.test/orders", "4200")
    assert hook == ("orders", "orders_created", True)
    assert migrations == (2,)


# -- what supautils lets postgres do --------------------------------------------------------------

PGRST = """
create function public.check_request() returns void language plpgsql as $$
begin
  if current_setting('request.headers', true)::json ->> 'x-blocked' = 'yes' then
    raise sqlstate 'PGRST' using message = '{"code":"blocked","message":"blocked"}';
  end if;
end
$$;
alter role authenticator set pgrst.db_pre_request = 'public.check_request';
alter role authenticator set pgrst.db_schemas = 'public, api';
alter role authenticator set pgrst.db_max_rows = '500';
alter role authenticator set pgrst.server_some_future_setting = 'on';
notify pgrst, 'reload config';

create table public.audit (id bigint generated always as identity primary key, note text);
create table public.notes (id bigint primary key, body text);
create function public.audit_note() returns trigger language plpgsql as $$
begin
  insert into public.audit (note) values (new.body);
  return new;
end
$$;
create trigger notes_audit after insert on public.notes for each row execute function public.audit_note();
"""
# The first lines of a `supabase db dump --data-only` file.
DATA_DUMP = """SET session_replication_role = replica;

--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
INSERT INTO "public"."notes" ("id", "body") VALUES (1, 'restored');

RESET ALL;
"""


def test_postgres_sets_pgrst_settings_and_seeds_from_a_data_dump(supamigrate_server: Server, tmp_path: Path) -> None:
    root = project(tmp_path, PGRST, seed=DATA_DUMP)
    with built(supamigrate_server, root) as name, session(supamigrate_server, name) as conn:
        try:
            settings = conn.execute(
                "select unnest(setconfig) from pg_db_role_setting where setrole = 'authenticator'::regrole order by 1"
            ).fetchall()
            notes = conn.execute("select body from public.notes").fetchall()
            audit = conn.execute("select count(*) from public.audit").fetchone()
        finally:
            # Role settings belong to the whole cluster, which the session's other tests share.
            with connect(supamigrate_server.conninfo(name), autocommit=True) as admin:
                for key in ("db_pre_request", "db_schemas", "db_max_rows", "server_some_future_setting"):
                    admin.execute(f"alter role authenticator reset pgrst.{key}")
    assert ("pgrst.db_pre_request=public.check_request",) in settings
    assert ("pgrst.db_max_rows=500",) in settings
    assert ("pgrst.server_some_future_setting=on",) in settings
    assert notes == [("restored",)]
    assert audit == (0,)  # as a replica, the seed fired no trigger


# -- CREATE EXTENSION inside PL/pgSQL -------------------------------------------------------------

NESTED = """
do $$
begin
  if not exists (select from pg_extension where extname = 'dblink') then
    begin
      create extension dblink with schema extensions;
    exception when duplicate_object then
      null;
    end;
  end if;
  execute 'create extension if not exists pg_net with schema extensions';
end
$$;

create function public.install_extensions() returns void language plpgsql as $$
begin
  create extension if not exists pg_buffercache with schema extensions;
  create extension if not exists pgjwt with schema extensions;
end
$$;
select public.install_extensions();
"""


def test_extensions_created_inside_do_blocks_and_functions(supamigrate_server: Server, tmp_path: Path) -> None:
    root = project(tmp_path, NESTED, toml='[platform]\nshims = ["pg_net", "pgjwt"]\n')
    with built(supamigrate_server, root) as name, session(supamigrate_server, name) as conn:
        extensions = conn.execute(
            "select extname, extnamespace::regnamespace::text from pg_extension"
            " where extname in ('dblink', 'pg_net', 'pg_buffercache', 'pgjwt') order by 1"
        ).fetchall()
        owner = conn.execute(
            "select pg_get_userbyid(proowner) from pg_proc where proname = 'install_extensions'"
        ).fetchone()
        queue = conn.execute("select to_regclass('net.http_request_queue') is not null").fetchone()
    assert extensions == [
        ("dblink", "extensions"),
        ("pg_buffercache", "extensions"),
        ("pg_net", "extensions"),
        ("pgjwt", "extensions"),
    ]
    assert owner == ("postgres",)  # the rest of the file still runs as postgres
    assert queue == (True,)


def test_an_extension_nobody_can_have_inside_a_do_block_names_itself(
    supamigrate_server: Server, tmp_path: Path
) -> None:
    body = (
        "create table public.kept (id int);\n"
        "do $$\nbegin\n  perform 1;\n  create extension if not exists plv8;\nend\n$$;\n"
    )
    with pytest.raises(MigrationError) as failed, built(supamigrate_server, project(tmp_path, body)):
        pass
    error = failed.value
    assert error.path.name == "20240101000001_step.sql"
    assert error.line == 2
    assert '"plv8"' in error.message and "line 4 of the PL/pgSQL body" in error.message
    assert "no shim can be faithful" in error.message
    assert error.hint is not None and "rewrite those functions in plpgsql" in error.hint


# -- shims as invisible as the extensions they stand in for ---------------------------------------

VECTOR_IN_PUBLIC = """
create extension if not exists vector;
create extension if not exists pg_graphql;
create table public.documents (id bigint primary key, embedding vector(3));
create index on public.documents using hnsw (embedding vector_cosine_ops);
"""


def test_a_shim_is_seen_as_the_extension_and_its_internals_are_not(supamigrate_server: Server, tmp_path: Path) -> None:
    root = project(tmp_path, VECTOR_IN_PUBLIC, toml='[platform]\nshims = ["vector", "pg_graphql"]\n')
    bindir = supamigrate_server.bindir if isinstance(supamigrate_server, EphemeralServer) else find_bindir()
    with built(supamigrate_server, root) as name:
        snapshot = dump_schema(bindir, supamigrate_server.conninfo(name))
        with connect(supamigrate_server.conninfo(name)) as conn:
            findings = run_advisors(conn, ("public", "graphql_public"))
            registered = conn.execute(
                "select extname, extnamespace::regnamespace::text from pg_extension"
                " where extname in ('vector', 'pg_graphql') order by 1"
            ).fetchall()
    assert "_vector_accum" not in snapshot and "vector_in" not in snapshot
    assert "supamigrate." not in snapshot and "SCHEMA supamigrate" not in snapshot
    assert "embedding public.vector(3)" in snapshot
    assert not [f for f in findings if "vector" in f.where and f.code == "function_search_path_mutable"]
    assert any(f.code == "extension_in_public" and f.where == "extension vector" for f in findings)
    assert registered == [("pg_graphql", "graphql"), ("vector", "public")]


# -- Supabase Queues ------------------------------------------------------------------------------

QUEUES = """
create schema if not exists "pgmq";
create extension if not exists "pgmq" with schema "pgmq" version '1.4.4';
create schema if not exists "pgmq_public";
grant usage on schema "pgmq_public" to "service_role";

-- The Data API's queue functions, as the dashboard creates them and `supabase db pull` dumps them.
create or replace function pgmq_public.send(queue_name text, message jsonb, sleep_seconds integer default 0)
returns setof bigint language plpgsql set search_path to '' as $function$
begin
  return query select * from pgmq.send(queue_name := queue_name, msg := message, delay := sleep_seconds);
end;
$function$;
create or replace function pgmq_public.read(queue_name text, sleep_seconds integer, n integer)
returns setof pgmq.message_record language plpgsql set search_path to '' as $function$
begin
  return query select * from pgmq.read(queue_name := queue_name, vt := sleep_seconds, qty := n);
end;
$function$;
create or replace function pgmq_public.archive(queue_name text, message_id bigint)
returns boolean language plpgsql set search_path to '' as $function$
begin
  return pgmq.archive(queue_name := queue_name, msg_id := message_id);
end;
$function$;

select pgmq.create('emails');
grant usage on schema pgmq to service_role;
grant all on all tables in schema pgmq to service_role;
"""


def test_queues_keep_messages_invisible_until_their_timeout(supamigrate_server: Server, tmp_path: Path) -> None:
    root = project(tmp_path, QUEUES, toml='[platform]\nshims = ["pgmq"]\n')
    with built(supamigrate_server, root) as name, session(supamigrate_server, name) as conn:
        act_as(conn, "service_role")
        sent = conn.execute(
            "select pgmq_public.send('emails', '{\"to\": \"a@example.test\"}'),"
            " pgmq_public.send('emails', '{\"to\": \"b@example.test\"}')"
        ).fetchone()
        first = conn.execute("select msg_id, read_ct, message->>'to' from pgmq_public.read('emails', 30, 1)").fetchall()
        second = conn.execute("select msg_id from pgmq_public.read('emails', 30, 5)").fetchall()
        again = conn.execute("select msg_id from pgmq_public.read('emails', 30, 5)").fetchall()
        archived = conn.execute("select pgmq_public.archive('emails', %s)", (first[0][0],)).fetchone()
        left = conn.execute("select msg_id from pgmq.q_emails").fetchall()
        kept = conn.execute("select msg_id from pgmq.a_emails").fetchall()
        metrics = conn.execute("select queue_name, queue_length, total_messages from pgmq.metrics('emails')").fetchone()
        conn.execute("reset role")
        queues = conn.execute("select queue_name from pgmq.list_queues()").fetchall()
        # pgmq 1.5, as the platform ships it: headers, and reads that match on the message.
        conn.execute('select pgmq.send(\'emails\', \'{"to": "c@example.test"}\', \'{"trace": "t1"}\', 0)')
        conn.execute('select pgmq.send_batch(\'emails\', array[\'{"to": "d"}\', \'{"to": "e"}\']::jsonb[], 0)')
        matched = conn.execute(
            "select message->>'to', headers->>'trace' from pgmq.read('emails', 30, 5, '{\"to\": \"c@example.test\"}')"
        ).fetchall()
        headers = conn.execute(
            "select exists (select from pg_attribute where attrelid = 'pgmq.message_record'::regclass"
            " and attname = 'headers')"
        ).fetchone()
    assert sent is not None
    assert first == [(sent[0], 1, "a@example.test")]
    assert second == [(sent[1],)]
    assert again == []  # both are hidden for 30 seconds
    assert archived == (True,)
    assert (left, kept) == ([(sent[1],)], [(sent[0],)])
    assert metrics == ("emails", 1, 2)
    assert queues == [("emails",)]
    assert matched == [("c@example.test", "t1")]
    assert headers == (True,)


# -- Wrappers -------------------------------------------------------------------------------------

STRIPE = """
create extension if not exists wrappers with schema extensions;

create foreign data wrapper stripe_wrapper
  handler extensions.stripe_fdw_handler
  validator extensions.stripe_fdw_validator;
-- Projects guard the wrapper as they guard extensions: inside a DO block.
do $$
begin
  if not exists (
    select from information_schema.foreign_data_wrappers where foreign_data_wrapper_name = 'airtable_wrapper'
  ) then
    create foreign data wrapper airtable_wrapper handler extensions.airtable_fdw_handler;
  end if;
end $$;
create server airtable_server foreign data wrapper airtable_wrapper options (api_key 'x');
create server stripe_server foreign data wrapper stripe_wrapper
  options (api_key_id 'b6d1c3a2-0000-4000-8000-000000000001', api_url 'https://api.stripe.com/v1');

create schema stripe;
create foreign table stripe.customers (id text, email text, name text, created timestamp, attrs jsonb)
  server stripe_server options (object 'customers', rowid_column 'id');
"""


def test_foreign_tables_of_wrappers_apply_as_on_the_platform(supamigrate_server: Server, tmp_path: Path) -> None:
    root = project(tmp_path, STRIPE, toml='[platform]\nshims = ["wrappers"]\n')
    bindir = supamigrate_server.bindir if isinstance(supamigrate_server, EphemeralServer) else find_bindir()
    with built(supamigrate_server, root) as name:
        snapshot = dump_schema(bindir, supamigrate_server.conninfo(name))
        with session(supamigrate_server, name) as conn:
            wrapper = conn.execute(
                "select fdwname, has_foreign_data_wrapper_privilege('postgres', oid, 'usage'),"
                " fdwhandler::regproc::text"
                " from pg_foreign_data_wrapper order by 1"
            ).fetchall()
            table = conn.execute(
                "select ftoptions from pg_foreign_table where ftrelid = 'stripe.customers'::regclass"
            ).fetchone()
            ext = conn.execute("select extversion from pg_extension where extname = 'wrappers'").fetchone()
    assert wrapper == [  # extensions is on the search path
        ("airtable_wrapper", True, "airtable_fdw_handler"),
        ("stripe_wrapper", True, "stripe_fdw_handler"),
    ]
    assert table == (["object=customers", "rowid_column=id"],)
    assert ext == ("0.5.0",)
    assert "CREATE FOREIGN TABLE stripe.customers" in snapshot
    assert "fdw_handler" not in snapshot and "wrappers_fdw_stats" not in snapshot


# -- pgsodium -------------------------------------------------------------------------------------

SODIUM = """
create extension if not exists pgsodium;

create table public.api_tokens (
  id bigint generated always as identity primary key,
  token_encrypted bytea not null,
  key_id uuid not null
);

-- Tokens are kept encrypted under a named key, as projects did before the vault.
create function public.store_token(token text) returns bigint
language plpgsql security definer set search_path = '' as $$
declare
  key uuid := (select id from pgsodium.valid_key where name = 'api_tokens');
  stored bigint;
begin
  insert into public.api_tokens (token_encrypted, key_id)
  values (pgsodium.crypto_aead_det_encrypt(convert_to(token, 'utf8'), convert_to('api', 'utf8'), key), key)
  returning id into stored;
  return stored;
end
$$;

create function public.read_token(token_id bigint) returns text
language sql security definer set search_path = '' as $$
  select convert_from(pgsodium.crypto_aead_det_decrypt(t.token_encrypted, convert_to('api', 'utf8'), t.key_id), 'utf8')
  from public.api_tokens t where t.id = token_id
$$;

select pgsodium.create_key(name := 'api_tokens');
"""


def test_pgsodium_keys_encrypt_and_authenticate_as_projects_use_them(
    supamigrate_server: Server, tmp_path: Path
) -> None:
    root = project(tmp_path, SODIUM, toml='[platform]\nshims = ["pgsodium"]\n')
    with built(supamigrate_server, root) as name, session(supamigrate_server, name) as conn:
        token_id = conn.execute("select public.store_token('sk_live_123')").fetchone()
        assert token_id is not None
        back = conn.execute("select public.read_token(%s)", (token_id[0],)).fetchone()
        stored = conn.execute("select token_encrypted from public.api_tokens").fetchone()
        same = conn.execute(
            "select pgsodium.crypto_aead_det_encrypt('x', 'a', k.id) = pgsodium.crypto_aead_det_encrypt('x', 'a', k.id)"
            " from pgsodium.valid_key k"
        ).fetchone()
        sizes = conn.execute(
            "select length(pgsodium.randombytes_buf(24)), length(pgsodium.crypto_secretbox_keygen()),"
            " encode(pgsodium.crypto_auth('message', 'k'), 'hex')"
        ).fetchone()
        key = conn.execute("select pgsodium.crypto_secretbox_keygen()").fetchone()
        assert key is not None
        box = conn.execute(
            "select convert_from(pgsodium.crypto_secretbox_open(pgsodium.crypto_secretbox('hi', 'n', %s), 'n', %s),"
            " 'utf8')",
            (key[0], key[0]),
        ).fetchone()
        with pytest.raises(errors.DataException, match="invalid ciphertext"):
            conn.execute(
                "select pgsodium.crypto_secretbox_open(pgsodium.crypto_secretbox('hi', 'n', %s), 'n', 'wrong')",
                (key[0],),
            )
    assert back == ("sk_live_123",)
    assert stored is not None and b"sk_live_123" not in bytes(stored[0])
    assert same == (True,)
    # libsodium's crypto_auth (HMAC-SHA-512-256) of 'message' under key 'k'.
    assert sizes == (24, 32, hmac.new(b"k", b"message", hashlib.sha512).hexdigest()[:64])
    assert box == ("hi",)


# -- pgvector's halfvec and sparsevec -------------------------------------------------------------

COMPACT = """
create extension if not exists vector with schema extensions;

create table public.chunks (
  id bigint primary key,
  embedding extensions.halfvec(3) not null,
  keywords extensions.sparsevec(5)
);
create index on public.chunks using hnsw (embedding extensions.halfvec_cosine_ops) with (m = 16);
create index on public.chunks using hnsw (keywords extensions.sparsevec_l2_ops);
create index on public.chunks using hnsw ((extensions.binary_quantize(embedding)::bit(3)) extensions.bit_hamming_ops);

insert into public.chunks values
  (1, '[1, 0, 0]', '{1:1,3:2}/5'),
  (2, '[0.1, 1, 0]', '{2:1}/5'),
  (3, '[0.333333, 0.5, 1]', '{}/5');
"""


def test_halfvec_and_sparsevec_store_and_rank_as_pgvector_does(supamigrate_server: Server, tmp_path: Path) -> None:
    root = project(tmp_path, COMPACT, toml='[platform]\nshims = ["vector"]\n')
    with built(supamigrate_server, root) as name, session(supamigrate_server, name) as conn:
        conn.execute("set search_path = public, extensions")
        stored = conn.execute("select embedding::text, keywords::text from public.chunks order by id").fetchall()
        nearest = conn.execute(
            "select id from public.chunks order by embedding <=> '[1, 0.1, 0]'::halfvec limit 2"
        ).fetchall()
        sparse = conn.execute(
            "select id, round((keywords <-> '{1:1}/5')::numeric, 4) from public.chunks order by 2, 1"
        ).fetchall()
        bits = conn.execute("select binary_quantize(embedding)::text from public.chunks order by id").fetchall()
        with pytest.raises(errors.DataException, match="expected 5 dimensions"), conn.transaction():
            conn.execute("insert into public.chunks values (4, '[1,1,1]', '{1:1}/4')")
        with pytest.raises(errors.NumericValueOutOfRange), conn.transaction():
            conn.execute("select '[70000]'::halfvec(1)")
    assert stored == [
        ("[1,0,0]", "{1:1,3:2}/5"),
        ("[0.099975586,1,0]", "{2:1}/5"),
        ("[0.33325195,0.5,1]", "{}/5"),
    ]
    assert nearest == [(1,), (3,)]  # cosine: 0.67 to the third, 0.80 to the second
    assert sparse == [(3, Decimal(1)), (2, Decimal("1.4142")), (1, Decimal(2))]
    assert bits == [("100",), ("110",), ("111",)]


# -- shims by default, and what every platform project starts with --------------------------------

HARDENED = """
-- Supabase's advice for a private Data API: no GraphQL.
drop extension if exists pg_graphql;
create extension if not exists pg_net with schema extensions;
create extension if not exists vector with schema extensions;

-- The head of a recent `supabase db pull`, which grants and revokes on Auth's own tables.
revoke select on table "auth"."schema_migrations" from "postgres";
grant select on table "auth"."schema_migrations" to "postgres" with grant option;
grant delete, insert, select, update on table "auth"."flow_state" to "dashboard_user";
grant select on table "auth"."sso_providers" to "postgres";
"""


@pytest.mark.parametrize("toml", ["", '[platform]\nshims = "auto"\n'])
def test_a_project_without_settings_gets_every_shim_and_is_told(
    supamigrate_server: Server, tmp_path: Path, toml: str
) -> None:
    root = project(tmp_path, HARDENED, toml=toml)
    with built(supamigrate_server, root) as name, connect(supamigrate_server.conninfo(name)) as conn:
        notes = [(f.level.value, f.code, f.where, f.message) for f in shim_findings(conn)]
        graphql = conn.execute("select to_regnamespace('graphql') is null").fetchone()
        versions = conn.execute("select count(*) > 50, min(version) from auth.schema_migrations").fetchone()
    assert notes == [
        (
            "info",
            "shimmed-extension",
            "extension pg_net",
            "pg_net shimmed: requests are recorded in net.http_request_queue, never sent",
        ),
        (
            "info",
            "shimmed-extension",
            "extension vector",
            "vector shimmed: exact scans stand in for hnsw and ivfflat indexes (same results, slower)",
        ),
    ]
    assert graphql == (True,)  # dropped with the extension, as on the platform
    assert versions == (True, "00")


def test_shims_can_be_turned_off(supamigrate_server: Server, tmp_path: Path) -> None:
    root = project(tmp_path, "create extension pg_net;\n", toml="[platform]\nshims = []\n")
    with pytest.raises(MigrationError, match='extension "pg_net" is not available'), built(supamigrate_server, root):
        pass
