-- Stand-in for pgsql-http: the same types and functions in the schema the extension is created
-- in, with no network. Every request is recorded in supamigrate.http_requests; the answer is the
-- newest row of supamigrate.http_responses whose method (or NULL) and uri (a LIKE pattern) match,
-- else 200 with an empty body.
CREATE DOMAIN @extschema@.http_method AS text
  CHECK (VALUE ILIKE 'get' OR VALUE ILIKE 'post' OR VALUE ILIKE 'put' OR VALUE ILIKE 'delete'
         OR VALUE ILIKE 'patch' OR VALUE ILIKE 'head');
CREATE DOMAIN @extschema@.content_type AS text CHECK (VALUE ~ '^\S+\/\S+');
CREATE TYPE @extschema@.http_header AS (field character varying, value character varying);
CREATE TYPE @extschema@.http_response AS (
  status integer, content_type character varying, headers @extschema@.http_header[], content character varying
);
CREATE TYPE @extschema@.http_request AS (
  method @extschema@.http_method, uri character varying, headers @extschema@.http_header[],
  content_type character varying, content character varying
);

CREATE TABLE supamigrate.http_requests (
  id bigserial PRIMARY KEY,
  method text NOT NULL,
  uri text NOT NULL,
  headers jsonb NOT NULL DEFAULT '[]',
  content_type text,
  content text,
  created_at timestamp with time zone NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE supamigrate.http_responses (
  id bigserial PRIMARY KEY,
  method text,
  uri text NOT NULL,
  status integer NOT NULL DEFAULT 200,
  content_type text NOT NULL DEFAULT 'text/plain',
  headers jsonb NOT NULL DEFAULT '{}',
  content text NOT NULL DEFAULT ''
);
GRANT ALL ON supamigrate.http_requests, supamigrate.http_responses TO postgres;
GRANT ALL ON ALL SEQUENCES IN SCHEMA supamigrate TO postgres;

CREATE FUNCTION @extschema@.http(request @extschema@.http_request) RETURNS @extschema@.http_response
LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  answer supamigrate.http_responses;
BEGIN
  INSERT INTO supamigrate.http_requests (method, uri, headers, content_type, content)
  VALUES (pg_catalog.upper(request.method), request.uri,
          coalesce(pg_catalog.to_jsonb(request.headers), '[]'::jsonb), request.content_type, request.content);
  SELECT * INTO answer FROM supamigrate.http_responses r
   WHERE (r.method IS NULL OR pg_catalog.upper(r.method) = pg_catalog.upper(request.method))
     AND request.uri LIKE r.uri
   ORDER BY r.id DESC LIMIT 1;
  IF NOT FOUND THEN
    RETURN ROW(200, 'text/plain', ARRAY[]::@extschema@.http_header[], '')::@extschema@.http_response;
  END IF;
  RETURN ROW(answer.status, answer.content_type,
             ARRAY(SELECT ROW(key, value)::@extschema@.http_header FROM pg_catalog.jsonb_each_text(answer.headers)),
             answer.content)::@extschema@.http_response;
END
$$;

CREATE FUNCTION @extschema@.http_header(field character varying, value character varying)
RETURNS @extschema@.http_header LANGUAGE sql IMMUTABLE AS $$ SELECT ROW(field, value)::@extschema@.http_header $$;

CREATE FUNCTION @extschema@.urlencode(string character varying) RETURNS text
LANGUAGE sql IMMUTABLE STRICT SET search_path = '' AS $$
  SELECT coalesce(pg_catalog.string_agg(
    CASE WHEN b BETWEEN 48 AND 57 OR b BETWEEN 65 AND 90 OR b BETWEEN 97 AND 122 OR b IN (45, 46, 95, 126)
         THEN pg_catalog.chr(b)
         ELSE '%' || pg_catalog.upper(pg_catalog.lpad(pg_catalog.to_hex(b), 2, '0')) END,
    '' ORDER BY i), '')
  FROM (
    SELECT i, pg_catalog.get_byte(pg_catalog.convert_to(string, 'UTF8'), i) AS b
    FROM pg_catalog.generate_series(0, pg_catalog.octet_length(pg_catalog.convert_to(string, 'UTF8')) - 1) AS i
  ) AS bytes
$$;

CREATE FUNCTION @extschema@.urlencode(string bytea) RETURNS text
LANGUAGE sql IMMUTABLE STRICT SET search_path = '' AS $$
  SELECT @extschema@.urlencode(pg_catalog.convert_from(string, 'UTF8')::character varying)
$$;

CREATE FUNCTION @extschema@.urlencode(data jsonb) RETURNS text
LANGUAGE sql IMMUTABLE STRICT SET search_path = '' AS $$
  SELECT coalesce(pg_catalog.string_agg(@extschema@.urlencode(key::character varying) || '='
                  || @extschema@.urlencode(value::character varying), '&'), '')
  FROM pg_catalog.jsonb_each_text(data)
$$;

CREATE FUNCTION @extschema@.http_get(uri character varying) RETURNS @extschema@.http_response
LANGUAGE sql AS $$ SELECT @extschema@.http(ROW('GET', uri, NULL, NULL, NULL)::@extschema@.http_request) $$;

CREATE FUNCTION @extschema@.http_get(uri character varying, data jsonb) RETURNS @extschema@.http_response
LANGUAGE sql AS $$
  SELECT @extschema@.http(ROW('GET', uri || '?' || @extschema@.urlencode(data), NULL, NULL, NULL)::@extschema@.http_request)
$$;

CREATE FUNCTION @extschema@.http_post(uri character varying, content character varying, content_type character varying)
RETURNS @extschema@.http_response LANGUAGE sql AS $$
  SELECT @extschema@.http(ROW('POST', uri, NULL, content_type, content)::@extschema@.http_request)
$$;

CREATE FUNCTION @extschema@.http_post(uri character varying, data jsonb) RETURNS @extschema@.http_response
LANGUAGE sql AS $$
  SELECT @extschema@.http(ROW('POST', uri, NULL, 'application/x-www-form-urlencoded',
                              @extschema@.urlencode(data))::@extschema@.http_request)
$$;

CREATE FUNCTION @extschema@.http_put(uri character varying, content character varying, content_type character varying)
RETURNS @extschema@.http_response LANGUAGE sql AS $$
  SELECT @extschema@.http(ROW('PUT', uri, NULL, content_type, content)::@extschema@.http_request)
$$;

CREATE FUNCTION @extschema@.http_patch(uri character varying, content character varying, content_type character varying)
RETURNS @extschema@.http_response LANGUAGE sql AS $$
  SELECT @extschema@.http(ROW('PATCH', uri, NULL, content_type, content)::@extschema@.http_request)
$$;

CREATE FUNCTION @extschema@.http_delete(uri character varying) RETURNS @extschema@.http_response
LANGUAGE sql AS $$ SELECT @extschema@.http(ROW('DELETE', uri, NULL, NULL, NULL)::@extschema@.http_request) $$;

CREATE FUNCTION @extschema@.http_delete(uri character varying, content character varying, content_type character varying)
RETURNS @extschema@.http_response LANGUAGE sql AS $$
  SELECT @extschema@.http(ROW('DELETE', uri, NULL, content_type, content)::@extschema@.http_request)
$$;

CREATE FUNCTION @extschema@.http_head(uri character varying) RETURNS @extschema@.http_response
LANGUAGE sql AS $$ SELECT @extschema@.http(ROW('HEAD', uri, NULL, NULL, NULL)::@extschema@.http_request) $$;

CREATE TABLE supamigrate.http_curlopt (curlopt text PRIMARY KEY, value text);
GRANT ALL ON supamigrate.http_curlopt TO postgres;

CREATE FUNCTION @extschema@.http_set_curlopt(curlopt character varying, value character varying) RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$
  INSERT INTO supamigrate.http_curlopt VALUES (pg_catalog.upper(curlopt), value)
  ON CONFLICT (curlopt) DO UPDATE SET value = EXCLUDED.value;
  SELECT true
$$;

CREATE FUNCTION @extschema@.http_reset_curlopt() RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$
  DELETE FROM supamigrate.http_curlopt;
  SELECT true
$$;

CREATE FUNCTION @extschema@.http_list_curlopt() RETURNS TABLE(curlopt text, value text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = '' AS $$
  SELECT c.curlopt, c.value FROM supamigrate.http_curlopt c ORDER BY 1
$$;
