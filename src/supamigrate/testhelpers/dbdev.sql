-- database.dev's client as far as a test run needs it: dbdev.install() of a package supamigrate
-- provides itself succeeds and installs nothing (CREATE EXTENSION of it is answered by
-- supamigrate); any other package fails, naming it, as nothing can be downloaded here.
CREATE SCHEMA IF NOT EXISTS dbdev;
GRANT USAGE ON SCHEMA dbdev TO PUBLIC;

CREATE OR REPLACE FUNCTION dbdev.install(package_name text) RETURNS boolean
LANGUAGE plpgsql AS $fn$
BEGIN
  IF package_name = ANY (@packages@::text[]) THEN
    RETURN true;
  END IF;
  RAISE EXCEPTION 'dbdev package % is not available here', package_name
    USING ERRCODE = '0A000',
          HINT = 'supamigrate provides these database.dev packages itself: '
                 || array_to_string(@packages@::text[], ', ')
                 || '; install the extension on the server or shim it in supamigrate.toml';
END
$fn$;

GRANT EXECUTE ON FUNCTION dbdev.install(text) TO PUBLIC;
