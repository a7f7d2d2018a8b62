-- supamigrate's own implementation of the SQL surface of basejump's supabase_test_helpers
-- (database.dev package "basejump-supabase_test_helpers"): users for tests, acting as them the
-- way PostgREST does, RLS assertions for pgTAP, and a frozen now(). Signatures, parameter names,
-- defaults and return types are the package's, so a project that also pastes the package's SQL
-- (CREATE OR REPLACE FUNCTION ...) replaces these functions without an error.
--
-- Identity and time settings are transaction-local (set_config(..., true)), as in the package:
-- they last until the end of the test's transaction.

CREATE SCHEMA IF NOT EXISTS tests;
-- Functions that take the place of pg_catalog's while the time is frozen. The name is part of
-- the surface: projects add it to the search_path of their own SECURITY DEFINER functions.
CREATE SCHEMA IF NOT EXISTS test_overrides;

GRANT USAGE ON SCHEMA tests, test_overrides TO anon, authenticated, service_role;
-- Helpers a project adds to schema tests stay callable by the API roles, whatever the creating
-- role's own default privileges say (basejump's projects revoke EXECUTE from PUBLIC).
ALTER DEFAULT PRIVILEGES IN SCHEMA tests GRANT EXECUTE ON FUNCTIONS TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA test_overrides GRANT EXECUTE ON FUNCTIONS TO anon, authenticated, service_role;

-- pgTAP's schema (the CLI creates it in extensions), for calls that must not depend on the
-- caller's search_path.
CREATE OR REPLACE FUNCTION tests._pgtap_call(call text, VARIADIC args text[] DEFAULT '{}')
RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
  schema_name name := (SELECT n.nspname FROM pg_catalog.pg_extension e
                       JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pgtap');
  result text;
BEGIN
  -- Without a pgtap extension (pgTAP loaded from its SQL file) the search_path finds it.
  EXECUTE pg_catalog.format('SELECT %s%s', coalesce(pg_catalog.quote_ident(schema_name) || '.', ''), call)
    INTO result USING args;
  RETURN result;
END
$fn$;

CREATE OR REPLACE FUNCTION tests.create_supabase_user(
  identifier text, email text DEFAULT NULL, phone text DEFAULT NULL, metadata jsonb DEFAULT NULL
) RETURNS uuid
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  new_id uuid := gen_random_uuid();
BEGIN
  -- A confirmed email user; the identifier is kept in the user's metadata, where
  -- get_supabase_user finds it again. App metadata stays empty, as the package leaves it.
  INSERT INTO auth.users (
    instance_id, id, aud, role, email, phone, encrypted_password, email_confirmed_at,
    raw_app_meta_data, raw_user_meta_data, created_at, updated_at,
    confirmation_token, recovery_token, email_change_token_new, email_change
  ) VALUES (
    '00000000-0000-0000-0000-000000000000', new_id, 'authenticated', 'authenticated',
    coalesce(create_supabase_user.email, new_id::text || '@test.com'), create_supabase_user.phone, '', now(),
    '{}'::jsonb,
    jsonb_build_object('test_identifier', identifier) || coalesce(metadata, '{}'::jsonb),
    now(), now(), '', '', '', ''
  );
  RETURN new_id;
END
$fn$;

CREATE OR REPLACE FUNCTION tests.get_supabase_user(identifier text) RETURNS json
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
  found json;
BEGIN
  SELECT json_build_object(
           'id', u.id, 'email', u.email, 'phone', u.phone,
           'raw_user_meta_data', u.raw_user_meta_data, 'raw_app_meta_data', u.raw_app_meta_data)
    INTO found
    FROM auth.users u
   WHERE u.raw_user_meta_data ->> 'test_identifier' = get_supabase_user.identifier
   ORDER BY u.created_at
   LIMIT 1;
  IF found IS NULL THEN
    RAISE EXCEPTION 'User with identifier % not found', identifier
      USING HINT = 'create it first: SELECT tests.create_supabase_user(' || quote_literal(identifier) || ')';
  END IF;
  RETURN found;
END
$fn$;

CREATE OR REPLACE FUNCTION tests.get_supabase_uid(identifier text) RETURNS uuid
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT (tests.get_supabase_user(identifier) ->> 'id')::uuid
$fn$;

-- Acting as a caller: the role PostgREST switches to and the claims it sets from the JWT, in
-- both forms auth.uid() reads (request.jwt.claims and the older request.jwt.claim.*), so a claim
-- left from an earlier caller never wins.
CREATE OR REPLACE FUNCTION tests._act_as(role_name text, claims jsonb) RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM set_config('role', role_name, true);
  PERFORM set_config('request.jwt.claims', coalesce(claims::text, ''), true);
  PERFORM set_config('request.jwt.claim.sub', coalesce(claims ->> 'sub', ''), true);
  PERFORM set_config('request.jwt.claim.role', coalesce(claims ->> 'role', ''), true);
  PERFORM set_config('request.jwt.claim.email', coalesce(claims ->> 'email', ''), true);
END
$fn$;

CREATE OR REPLACE FUNCTION tests.authenticate_as(identifier text) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  u json := tests.get_supabase_user(identifier);  -- raises before anything changes
BEGIN
  PERFORM tests._act_as('authenticated', jsonb_build_object(
    'sub', u ->> 'id',
    'role', 'authenticated',
    'aud', 'authenticated',
    'email', u ->> 'email',
    'phone', u ->> 'phone',
    'app_metadata', u -> 'raw_app_meta_data',
    'user_metadata', u -> 'raw_user_meta_data',
    'aal', 'aal1',
    'is_anonymous', false
  ));
END
$fn$;

CREATE OR REPLACE FUNCTION tests.authenticate_as_service_role() RETURNS void
LANGUAGE sql AS $fn$
  SELECT tests._act_as('service_role', '{"role": "service_role"}')
$fn$;

-- Back to role anon with no claims at all (request.jwt.claims is ''): auth.uid() is NULL.
CREATE OR REPLACE FUNCTION tests.clear_authentication() RETURNS void
LANGUAGE sql AS $fn$
  SELECT tests._act_as('anon', NULL)
$fn$;

-- pgTAP assertions. A relation counts as the package counts it: anything with a row type
-- (tables, views, materialized views, foreign tables, composite types).
CREATE OR REPLACE FUNCTION tests.rls_enabled(testing_schema text) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
  without_rls text[] := ARRAY(
    SELECT c.relname::text FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = testing_schema AND c.reltype <> 0 AND NOT c.relrowsecurity
     ORDER BY c.relname);
  result text;
BEGIN
  result := tests._pgtap_call('ok($1[1]::boolean, $1[2])', (cardinality(without_rls) = 0)::text,
    'All tables in the ' || testing_schema || ' schema should have row level security enabled');
  IF cardinality(without_rls) > 0 THEN
    result := result || E'\n' || tests._pgtap_call('diag($1[1])',
      'without row level security: ' || array_to_string(without_rls, ', '));
  END IF;
  RETURN result;
END
$fn$;

CREATE OR REPLACE FUNCTION tests.rls_enabled(testing_schema text, testing_table text) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
  rls boolean := (SELECT c.relrowsecurity FROM pg_catalog.pg_class c
                    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = testing_schema AND c.relname = testing_table AND c.reltype <> 0);
  result text;
BEGIN
  result := tests._pgtap_call('ok($1[1]::boolean, $1[2])', coalesce(rls, false)::text,
    testing_table || ' table in the ' || testing_schema || ' schema should have row level security enabled');
  IF rls IS NULL THEN
    result := result || E'\n' || tests._pgtap_call('diag($1[1])',
      'no table ' || quote_ident(testing_schema) || '.' || quote_ident(testing_table));
  ELSIF NOT rls THEN
    result := result || E'\n' || tests._pgtap_call('diag($1[1])',
      'row level security is disabled (ALTER TABLE ... ENABLE ROW LEVEL SECURITY)');
  END IF;
  RETURN result;
END
$fn$;

-- Frozen time: while tests.frozen_time is set, schema test_overrides comes first in the
-- search_path, and its now() answers the frozen time. Only calls resolved through the search_path
-- see it (not column defaults, which were bound to pg_catalog.now() when the table was created).
CREATE OR REPLACE FUNCTION test_overrides.now() RETURNS timestamp with time zone
LANGUAGE sql STABLE AS $fn$
  SELECT coalesce(nullif(pg_catalog.current_setting('tests.frozen_time', true), '')::timestamptz,
                  pg_catalog.now())
$fn$;

CREATE OR REPLACE FUNCTION tests.freeze_time(frozen_time timestamp with time zone) RETURNS void
LANGUAGE plpgsql AS $fn$
DECLARE
  path text := current_setting('search_path');
BEGIN
  IF path NOT LIKE 'test_overrides,%' THEN
    PERFORM set_config('tests.unfrozen_search_path', path, true);
    -- pg_catalog named last: unnamed, it would be searched first and its now() would win.
    PERFORM set_config('search_path', 'test_overrides, ' || path
      || CASE WHEN path ~ '(^|,)\s*pg_catalog\s*(,|$)' THEN '' ELSE ', pg_catalog' END, true);
  END IF;
  PERFORM set_config('tests.frozen_time', frozen_time::text, true);
END
$fn$;

CREATE OR REPLACE FUNCTION tests.unfreeze_time() RETURNS void
LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM set_config('tests.frozen_time', '', true);
  IF current_setting('search_path') LIKE 'test_overrides,%' THEN
    PERFORM set_config('search_path',
      coalesce(nullif(current_setting('tests.unfrozen_search_path', true), ''),
               regexp_replace(current_setting('search_path'), '^test_overrides,\s*', '')), true);
  END IF;
END
$fn$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA tests, test_overrides TO anon, authenticated, service_role;
