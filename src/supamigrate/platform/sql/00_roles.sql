-- Roles of a Supabase database, with the attributes, settings and memberships the platform gives
-- them. Created only where missing: on a plain server `postgres` is already the bootstrap superuser
-- and stays one. Role settings that need platform libraries (session_preload_libraries=safeupdate)
-- are left out because they would break logins on a plain server.
DO $roles$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT * FROM (VALUES
    ('supabase_admin',             'SUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS'),
    ('postgres',                   'NOSUPERUSER INHERIT CREATEROLE CREATEDB LOGIN REPLICATION BYPASSRLS'),
    ('anon',                       'NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS'),
    ('authenticated',              'NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS'),
    ('service_role',               'NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION BYPASSRLS'),
    ('authenticator',              'NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS'),
    ('dashboard_user',             'NOSUPERUSER INHERIT CREATEROLE CREATEDB NOLOGIN REPLICATION NOBYPASSRLS'),
    ('supabase_auth_admin',        'NOSUPERUSER NOINHERIT CREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS'),
    ('supabase_storage_admin',     'NOSUPERUSER NOINHERIT CREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS'),
    ('supabase_read_only_user',    'NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN NOREPLICATION BYPASSRLS'),
    ('supabase_replication_admin', 'NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN REPLICATION NOBYPASSRLS'),
    ('supabase_realtime_admin',    'NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB NOLOGIN NOREPLICATION NOBYPASSRLS'),
    ('supabase_functions_admin',   'NOSUPERUSER NOINHERIT CREATEROLE NOCREATEDB LOGIN NOREPLICATION NOBYPASSRLS')
  ) AS v(name, attrs)
  LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r.name) THEN
      EXECUTE format('CREATE ROLE %I %s', r.name, r.attrs);
    END IF;
  END LOOP;
END
$roles$;

ALTER ROLE anon SET statement_timeout = '3s';
ALTER ROLE authenticated SET statement_timeout = '8s';
ALTER ROLE authenticator SET statement_timeout = '8s';
ALTER ROLE authenticator SET lock_timeout = '8s';
-- The platform's search paths start with "\$user" (a backslash and all: an escaping slip in its
-- init scripts that every hosted project carries). It names no schema, so only the rest counts.
ALTER ROLE postgres SET search_path = "\$user", public, extensions;
ALTER ROLE supabase_admin SET search_path = "\$user", public, auth, extensions;
ALTER ROLE supabase_auth_admin SET search_path = auth;
ALTER ROLE supabase_auth_admin SET idle_in_transaction_session_timeout = 60000;
ALTER ROLE supabase_storage_admin SET search_path = storage;

GRANT anon, authenticated, service_role TO authenticator;
GRANT anon, authenticated, service_role TO postgres;
GRANT supabase_auth_admin, supabase_storage_admin TO postgres;
GRANT authenticator TO supabase_storage_admin;
GRANT pg_monitor, pg_read_all_data, pg_signal_backend TO postgres;
GRANT pg_read_all_data TO supabase_read_only_user;
GRANT supabase_realtime_admin, supabase_functions_admin TO postgres;
ALTER ROLE supabase_functions_admin SET search_path = supabase_functions;

-- What supautils lets postgres do on the platform that plain PostgreSQL keeps for superusers:
-- SET session_replication_role (the first line of every `supabase db dump --data-only` seed), and
-- the PostgREST settings projects put on authenticator (ALTER ROLE authenticator SET pgrst.*).
DO $params$
DECLARE
  name text;
BEGIN
  FOREACH name IN ARRAY ARRAY[
    'session_replication_role',
    'pgrst.admin_server_port', 'pgrst.db_aggregates_enabled', 'pgrst.db_anon_role', 'pgrst.db_channel',
    'pgrst.db_channel_enabled', 'pgrst.db_config', 'pgrst.db_extra_search_path',
    'pgrst.db_hoisted_tx_settings', 'pgrst.db_max_rows', 'pgrst.db_plan_enabled', 'pgrst.db_pool',
    'pgrst.db_pool_acquisition_timeout', 'pgrst.db_pool_max_idletime', 'pgrst.db_pool_max_lifetime',
    'pgrst.db_pre_config', 'pgrst.db_pre_request', 'pgrst.db_prepared_statements', 'pgrst.db_root_spec',
    'pgrst.db_schemas', 'pgrst.db_timezone_enabled', 'pgrst.db_tx_end', 'pgrst.db_uri',
    'pgrst.db_use_legacy_gucs', 'pgrst.jwt_aud', 'pgrst.jwt_cache_max_lifetime', 'pgrst.jwt_role_claim_key',
    'pgrst.jwt_secret', 'pgrst.jwt_secret_is_base64', 'pgrst.log_level', 'pgrst.openapi_mode',
    'pgrst.openapi_security_active', 'pgrst.openapi_server_proxy_uri', 'pgrst.server_cors_allowed_origins',
    'pgrst.server_host', 'pgrst.server_port', 'pgrst.server_timing_enabled', 'pgrst.server_trace_header'
  ] LOOP
    EXECUTE format('GRANT SET ON PARAMETER %s TO postgres', name);
  END LOOP;
  -- From PostgreSQL 16 on, CREATEROLE reaches only the roles one administers: postgres gets ADMIN
  -- (and nothing else) on the API roles, so that ALTER ROLE authenticator and a roles.sql's
  -- `grant authenticated to app_role` work as with 15's CREATEROLE.
  IF current_setting('server_version_num')::int >= 160000 THEN
    EXECUTE 'GRANT authenticator TO postgres WITH ADMIN TRUE, INHERIT FALSE, SET FALSE';
    -- postgres is already a member of these (as on the platform): only the ADMIN option changes.
    EXECUTE 'GRANT anon, authenticated, service_role TO postgres WITH ADMIN TRUE';
  END IF;
END
$params$;
