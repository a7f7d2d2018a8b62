-- Stand-in for pg_net (async HTTP): the same schema, tables, types and functions, but nothing is
-- ever sent. Each call queues its request in net.http_request_queue, where a test reads it back;
-- a test can add a row to net._http_response to play the server's answer.
CREATE SCHEMA net;

CREATE DOMAIN net.http_method AS text
  CHECK (VALUE ILIKE 'get' OR VALUE ILIKE 'post' OR VALUE ILIKE 'delete');

CREATE TABLE net.http_request_queue (
  id bigserial NOT NULL,
  method net.http_method NOT NULL,
  url text NOT NULL,
  headers jsonb NOT NULL,
  body bytea,
  timeout_milliseconds integer NOT NULL
);

CREATE TABLE net._http_response (
  id bigint,
  status_code integer,
  content_type text,
  headers jsonb,
  content text,
  timed_out boolean,
  error_msg text,
  created timestamp with time zone NOT NULL DEFAULT now()
);
CREATE INDEX ON net._http_response (created);

CREATE TYPE net.request_status AS ENUM ('PENDING', 'SUCCESS', 'ERROR');
CREATE TYPE net.http_response AS (status_code integer, headers jsonb, body text);
CREATE TYPE net.http_response_result AS (status net.request_status, message text, response net.http_response);

-- Percent-encodes every byte outside RFC 3986's unreserved characters.
CREATE FUNCTION net._urlencode_string(string character varying) RETURNS text
LANGUAGE sql IMMUTABLE STRICT SET search_path = '' AS $$
  SELECT coalesce(string_agg(
    CASE WHEN b BETWEEN 48 AND 57 OR b BETWEEN 65 AND 90 OR b BETWEEN 97 AND 122 OR b IN (45, 46, 95, 126)
         THEN pg_catalog.chr(b)
         ELSE '%' || pg_catalog.upper(pg_catalog.lpad(pg_catalog.to_hex(b), 2, '0')) END,
    '' ORDER BY i), '')
  FROM (
    SELECT i, pg_catalog.get_byte(pg_catalog.convert_to(string, 'UTF8'), i) AS b
    FROM pg_catalog.generate_series(0, pg_catalog.octet_length(pg_catalog.convert_to(string, 'UTF8')) - 1) AS i
  ) AS bytes
$$;

CREATE FUNCTION net._encode_url_with_params(url text, params jsonb) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = '' AS $$
  SELECT CASE WHEN query IS NULL OR query = '' THEN url
              WHEN pg_catalog.strpos(url, '?') > 0 THEN url || '&' || query
              ELSE url || '?' || query END
  FROM (
    SELECT pg_catalog.string_agg(net._urlencode_string(key) || '=' || net._urlencode_string(value), '&') AS query
    FROM pg_catalog.jsonb_each_text(coalesce(params, '{}'::jsonb))
  ) AS q
$$;

CREATE FUNCTION net._enqueue(method text, url text, params jsonb, headers jsonb, body bytea, timeout_milliseconds integer)
RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$
  INSERT INTO net.http_request_queue (method, url, headers, body, timeout_milliseconds)
  VALUES (method, net._encode_url_with_params(url, params), coalesce(headers, '{}'::jsonb), body, timeout_milliseconds)
  RETURNING id
$$;

CREATE FUNCTION net.http_get(
  url text,
  params jsonb DEFAULT '{}'::jsonb,
  headers jsonb DEFAULT '{}'::jsonb,
  timeout_milliseconds integer DEFAULT 5000
) RETURNS bigint LANGUAGE sql STRICT SECURITY DEFINER SET search_path = '' AS $$
  SELECT net._enqueue('GET', url, params, headers, NULL, timeout_milliseconds)
$$;

CREATE FUNCTION net.http_post(
  url text,
  body jsonb DEFAULT '{}'::jsonb,
  params jsonb DEFAULT '{}'::jsonb,
  headers jsonb DEFAULT '{"Content-Type": "application/json"}'::jsonb,
  timeout_milliseconds integer DEFAULT 5000
) RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  content_type text;
BEGIN
  SELECT value INTO content_type FROM pg_catalog.jsonb_each_text(coalesce(headers, '{}'::jsonb))
   WHERE pg_catalog.lower(key) = 'content-type' LIMIT 1;
  IF content_type IS NULL THEN
    headers := coalesce(headers, '{}'::jsonb) || '{"Content-Type": "application/json"}'::jsonb;
  ELSIF content_type <> 'application/json' THEN
    RAISE EXCEPTION 'Content-Type header must be "application/json"';
  END IF;
  IF body IS NULL THEN
    RAISE EXCEPTION 'body must not be null';
  END IF;
  RETURN net._enqueue('POST', url, params, headers, pg_catalog.convert_to(body::text, 'UTF8'), timeout_milliseconds);
END
$$;

CREATE FUNCTION net.http_delete(
  url text,
  params jsonb DEFAULT '{}'::jsonb,
  headers jsonb DEFAULT '{}'::jsonb,
  timeout_milliseconds integer DEFAULT 5000,
  body jsonb DEFAULT NULL
) RETURNS bigint LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$
  SELECT net._enqueue('DELETE', url, params, headers,
                      CASE WHEN body IS NOT NULL THEN pg_catalog.convert_to(body::text, 'UTF8') END,
                      timeout_milliseconds)
$$;

CREATE FUNCTION net._http_collect_response(request_id bigint, async boolean DEFAULT true)
RETURNS net.http_response_result LANGUAGE plpgsql SECURITY DEFINER SET search_path = '' AS $$
DECLARE
  rec net._http_response;
BEGIN
  -- Nothing is ever sent, so waiting (async = false) could only wait forever: answer at once.
  SELECT * INTO rec FROM net._http_response r WHERE r.id = request_id ORDER BY r.created DESC LIMIT 1;
  IF NOT FOUND THEN
    RETURN ROW('ERROR', 'request matching request_id not found', NULL)::net.http_response_result;
  END IF;
  IF rec.error_msg IS NOT NULL OR rec.timed_out THEN
    RETURN ROW('ERROR', coalesce(rec.error_msg, 'Timeout was reached'), NULL)::net.http_response_result;
  END IF;
  RETURN ROW('SUCCESS', 'ok', ROW(rec.status_code, rec.headers, rec.content)::net.http_response)::net.http_response_result;
END
$$;

CREATE FUNCTION net.http_collect_response(request_id bigint, async boolean DEFAULT true)
RETURNS net.http_response_result LANGUAGE sql SECURITY DEFINER SET search_path = '' AS $$
  SELECT net._http_collect_response(request_id, async)
$$;

CREATE FUNCTION net.worker_restart() RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;

-- As on the platform: the API roles may queue requests; only postgres reads and manages the tables.
GRANT USAGE ON SCHEMA net TO postgres, anon, authenticated, service_role;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA net FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA net TO postgres, anon, authenticated, service_role;
GRANT ALL ON ALL TABLES IN SCHEMA net TO postgres WITH GRANT OPTION;
GRANT ALL ON ALL SEQUENCES IN SCHEMA net TO postgres WITH GRANT OPTION;
