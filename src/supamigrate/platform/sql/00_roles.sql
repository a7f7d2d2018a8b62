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
    ('supabase_replication_admin', 'NOSUPERUSER INHERIT NOCREATEROLE NOCREATEDB LOGIN REPLICATION NOBYPASSRLS')
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
