-- Stand-in for pg_tle (Trusted Language Extensions), which the platform has and database.dev's
-- client builds on, for servers that lack it. pgtle.install_extension() keeps an extension's SQL
-- here; CREATE EXTENSION of that name then runs it (supamigrate's policy reads this table), except
-- for the packages supamigrate provides itself (the database.dev client and the test helpers),
-- which always get supamigrate's own SQL.
CREATE SCHEMA IF NOT EXISTS pgtle;
GRANT USAGE ON SCHEMA pgtle TO PUBLIC;

CREATE TABLE supamigrate.tle_extensions (
  name text NOT NULL,
  version text NOT NULL,
  description text,
  ext text,
  requires text[],
  is_default boolean NOT NULL DEFAULT false,
  PRIMARY KEY (name, version)
);
GRANT SELECT ON supamigrate.tle_extensions TO PUBLIC;

CREATE FUNCTION pgtle.install_extension(
  name text, version text, description text, ext text, requires text[] DEFAULT NULL
) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  IF EXISTS (SELECT FROM supamigrate.tle_extensions t WHERE t.name = install_extension.name) THEN
    RAISE EXCEPTION 'extension "%" already installed', name USING ERRCODE = '42710',
      HINT = 'uninstall it first (pgtle.uninstall_extension), or add a version with pgtle.install_update_path';
  END IF;
  INSERT INTO supamigrate.tle_extensions (name, version, description, ext, requires, is_default)
  VALUES (name, coalesce(version, '0.0.0'), description, ext, requires, true);
  RETURN true;
END
$fn$;

CREATE FUNCTION pgtle.install_extension_version_sql(name text, version text, ext text) RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
  INSERT INTO supamigrate.tle_extensions (name, version, description, ext, requires)
  SELECT t.name, install_extension_version_sql.version, t.description, install_extension_version_sql.ext, t.requires
    FROM supamigrate.tle_extensions t WHERE t.name = install_extension_version_sql.name AND t.is_default
  RETURNING true
$fn$;

CREATE FUNCTION pgtle.set_default_version(name text, version text) RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
  UPDATE supamigrate.tle_extensions t SET is_default = (t.version = set_default_version.version)
   WHERE t.name = set_default_version.name
  RETURNING true
$fn$;

CREATE FUNCTION pgtle.uninstall_extension(extname text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
  DELETE FROM supamigrate.tle_extensions t WHERE t.name = extname;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'Extension % does not exist', extname USING ERRCODE = '42704';
  END IF;
  RETURN true;
END
$fn$;

CREATE FUNCTION pgtle.uninstall_extension_if_exists(extname text) RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
  WITH gone AS (DELETE FROM supamigrate.tle_extensions t WHERE t.name = extname RETURNING 1)
  SELECT EXISTS (SELECT FROM gone)
$fn$;

CREATE FUNCTION pgtle.available_extensions(OUT name text, OUT default_version text, OUT comment text)
RETURNS SETOF record
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT t.name, t.version, t.description FROM supamigrate.tle_extensions t WHERE t.is_default ORDER BY 1
$fn$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA pgtle TO PUBLIC;

-- database.dev's registry, as the http shim answers it (when the project shims http): the
-- packages supamigrate provides, so the client's bootstrap from dbdev's docs runs offline.
DO $answer$
BEGIN
  IF pg_catalog.to_regclass('supamigrate.http_responses') IS NOT NULL THEN
    INSERT INTO supamigrate.http_responses (method, uri, content_type, content)
    VALUES ('GET', 'https://api.database.dev/rest/v1/package_versions?%', 'application/json',
            '[{"version": "0.0.5", "sql": "-- provided by supamigrate"}]');
  END IF;
END
$answer$;
