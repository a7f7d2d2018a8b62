-- Stand-in for Supabase Wrappers: each wrapper's handler, validator and meta functions and the
-- wrappers_fdw_stats table, so that CREATE FOREIGN DATA WRAPPER / SERVER / FOREIGN TABLE statements
-- apply as on the platform. Nothing is fetched: a handler is PostgreSQL's own postgres_fdw (or
-- file_fdw) handler, so reading a foreign table fails, as it would without the remote service; a
-- validator accepts every option, as the platform's do at CREATE time.
CREATE TABLE @extschema@.wrappers_fdw_stats (
  fdw_name text NOT NULL PRIMARY KEY,
  create_times bigint,
  rows_in bigint,
  rows_out bigint,
  bytes_in bigint,
  bytes_out bigint,
  metadata jsonb,
  created_at timestamp with time zone NOT NULL DEFAULT timezone('utc'::text, now()),
  updated_at timestamp with time zone NOT NULL DEFAULT timezone('utc'::text, now())
);
COMMENT ON TABLE @extschema@.wrappers_fdw_stats IS 'Wrappers Foreign Data Wrapper statistics';

DO $wrappers$
DECLARE
  wrapper text;
  library text;
  made boolean;
BEGIN
  FOREACH wrapper IN ARRAY ARRAY[
    'airtable', 'auth0', 'big_query', 'click_house', 'cognito', 'duckdb', 'firebase', 'hello_world',
    'iceberg', 'logflare', 'mssql', 'redis', 's3', 'stripe', 'wasm'
  ] LOOP
    made := false;
    FOREACH library IN ARRAY ARRAY['postgres_fdw', 'file_fdw'] LOOP
      BEGIN
        EXECUTE format(
          'CREATE FUNCTION @extschema@.%I() RETURNS fdw_handler LANGUAGE c STRICT AS %L, %L',
          wrapper || '_fdw_handler', '$libdir/' || library, library || '_handler');
        made := true;
        EXIT;
      EXCEPTION WHEN undefined_file OR undefined_function THEN
        NULL;  -- that contrib module is not installed; try the next
      END;
    END LOOP;
    IF NOT made THEN
      RAISE EXCEPTION 'the wrappers shim needs contrib''s postgres_fdw or file_fdw library on the server'
        USING ERRCODE = 'feature_not_supported';
    END IF;
    EXECUTE format(
      'CREATE FUNCTION @extschema@.%I(options text[], catalog oid) RETURNS void LANGUAGE plpgsql'
      ' AS $v$ BEGIN END $v$', wrapper || '_fdw_validator');
    EXECUTE format(
      'CREATE FUNCTION @extschema@.%I() RETURNS TABLE (name text, version text, author text, website text)'
      ' LANGUAGE sql AS $m$ SELECT %L::text, %L::text, %L::text, %L::text $m$',
      wrapper || '_fdw_meta', initcap(replace(wrapper, '_', ' ')) || ' Wrapper', '0.5.0', 'Supabase',
      'https://github.com/supabase/wrappers');
  END LOOP;
END
$wrappers$;
