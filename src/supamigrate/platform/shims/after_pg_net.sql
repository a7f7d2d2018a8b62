-- What the platform grants once pg_net (real or stand-in) is created (the Supabase CLI's
-- grant_pg_net_access): the API roles and supabase_functions_admin, whose webhook function
-- supabase_functions.http_request calls it, may use net.http_get and net.http_post.
DO $grant_pg_net$
BEGIN
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'supabase_functions_admin') THEN
    GRANT USAGE ON SCHEMA net TO supabase_functions_admin, postgres, anon, authenticated, service_role;
    GRANT EXECUTE ON FUNCTION net.http_get(text, jsonb, jsonb, integer),
      net.http_post(text, jsonb, jsonb, jsonb, integer)
      TO supabase_functions_admin, postgres, anon, authenticated, service_role;
  END IF;
END
$grant_pg_net$;
