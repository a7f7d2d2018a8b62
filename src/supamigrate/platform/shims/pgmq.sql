-- Stand-in for pgmq 1.5 (Supabase Queues), in PL/pgSQL as pgmq itself is: pgmq.meta, a q_<name>
-- table and an a_<name> archive per queue, and the send / read / pop / archive / delete / set_vt /
-- purge / metrics API with pgmq's visibility-timeout semantics, message headers and conditional reads. Partitioned queues need
-- pg_partman and are refused. The pgmq_public API the dashboard exposes is the project's own SQL
-- (`supabase db pull` dumps it); it runs on this pgmq as on the real one.
CREATE SCHEMA IF NOT EXISTS pgmq;

CREATE TABLE pgmq.meta (
  queue_name varchar UNIQUE NOT NULL,
  is_partitioned boolean NOT NULL,
  is_unlogged boolean NOT NULL,
  created_at timestamp with time zone NOT NULL DEFAULT now()
);

CREATE TYPE pgmq.message_record AS (
  msg_id bigint,
  read_ct integer,
  enqueued_at timestamp with time zone,
  vt timestamp with time zone,
  message jsonb,
  headers jsonb
);

CREATE TYPE pgmq.queue_record AS (
  queue_name varchar,
  is_partitioned boolean,
  is_unlogged boolean,
  created_at timestamp with time zone
);

CREATE TYPE pgmq.metrics_result AS (
  queue_name text,
  queue_length bigint,
  newest_msg_age_sec integer,
  oldest_msg_age_sec integer,
  total_messages bigint,
  scrape_time timestamp with time zone,
  queue_visible_length bigint
);

CREATE FUNCTION pgmq.validate_queue_name(queue_name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF length(queue_name) >= 48 THEN
    RAISE EXCEPTION 'queue name is too long, maximum length is 48 characters';
  END IF;
END;
$$;

CREATE FUNCTION pgmq.format_table_name(queue_name text, prefix text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF queue_name ~ '\$|;|--|''' THEN
    RAISE EXCEPTION 'queue name contains invalid characters: $, ;, --, or \''';
  END IF;
  RETURN lower(prefix || '_' || queue_name);
END;
$$;

CREATE FUNCTION pgmq._create(queue_name text, unlogged boolean) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  qtable text := pgmq.format_table_name(queue_name, 'q');
  atable text := pgmq.format_table_name(queue_name, 'a');
BEGIN
  PERFORM pgmq.validate_queue_name(queue_name);
  EXECUTE format(
    'CREATE %s TABLE IF NOT EXISTS pgmq.%I (
       msg_id bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
       read_ct integer DEFAULT 0 NOT NULL,
       enqueued_at timestamp with time zone DEFAULT now() NOT NULL,
       vt timestamp with time zone NOT NULL,
       message jsonb,
       headers jsonb)', CASE WHEN unlogged THEN 'UNLOGGED' ELSE '' END, qtable);
  EXECUTE format(
    'CREATE TABLE IF NOT EXISTS pgmq.%I (
       msg_id bigint PRIMARY KEY,
       read_ct integer DEFAULT 0 NOT NULL,
       enqueued_at timestamp with time zone DEFAULT now() NOT NULL,
       archived_at timestamp with time zone DEFAULT now() NOT NULL,
       vt timestamp with time zone NOT NULL,
       message jsonb,
       headers jsonb)', atable);
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON pgmq.%I (vt ASC)', qtable || '_vt_idx', qtable);
  EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON pgmq.%I (archived_at)', 'archived_at_idx_' || queue_name, atable);
  EXECUTE 'INSERT INTO pgmq.meta (queue_name, is_partitioned, is_unlogged) VALUES ($1, false, $2)
           ON CONFLICT (queue_name) DO NOTHING' USING queue_name, unlogged;
END;
$$;

CREATE FUNCTION pgmq."create"(queue_name text) RETURNS void LANGUAGE sql AS $$
  SELECT pgmq._create(queue_name, false);
$$;

CREATE FUNCTION pgmq.create_non_partitioned(queue_name text) RETURNS void LANGUAGE sql AS $$
  SELECT pgmq._create(queue_name, false);
$$;

CREATE FUNCTION pgmq.create_unlogged(queue_name text) RETURNS void LANGUAGE sql AS $$
  SELECT pgmq._create(queue_name, true);
$$;

CREATE FUNCTION pgmq.create_partitioned(
  queue_name text, partition_interval text DEFAULT '10000', retention_interval text DEFAULT '100000'
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'pgmq.create_partitioned needs pg_partman, which the pgmq shim does not have'
    USING ERRCODE = 'feature_not_supported', HINT = 'create the queue with pgmq.create() in tests';
END;
$$;

CREATE FUNCTION pgmq.drop_queue(queue_name text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('DROP TABLE IF EXISTS pgmq.%I', pgmq.format_table_name(queue_name, 'q'));
  EXECUTE format('DROP TABLE IF EXISTS pgmq.%I', pgmq.format_table_name(queue_name, 'a'));
  EXECUTE 'DELETE FROM pgmq.meta WHERE queue_name = $1' USING queue_name;
  RETURN true;
END;
$$;

-- send and send_batch, with or without headers, with a delay in seconds or a time to appear at.
CREATE FUNCTION pgmq._send(queue_name text, msgs jsonb[], headers jsonb[], vt timestamp with time zone)
RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'INSERT INTO pgmq.%I (vt, message, headers)
     SELECT $3, m.message, m.headers FROM unnest($1, $2) WITH ORDINALITY AS m(message, headers, i)
     ORDER BY m.i RETURNING msg_id',
    pgmq.format_table_name(queue_name, 'q')) USING msgs, coalesce(headers, '{}'::jsonb[]), vt;
END;
$$;

DO $sends$
DECLARE
  shape text[];
BEGIN
  -- (arguments, message and header arrays, visibility time) for each overload pgmq has.
  FOREACH shape SLICE 1 IN ARRAY ARRAY[
    ['msg jsonb', 'ARRAY[msg]', 'NULL', 'clock_timestamp()'],
    ['msg jsonb, headers jsonb', 'ARRAY[msg]', 'ARRAY[headers]', 'clock_timestamp()'],
    ['msg jsonb, delay integer', 'ARRAY[msg]', 'NULL', 'clock_timestamp() + make_interval(secs => delay)'],
    ['msg jsonb, delay timestamp with time zone', 'ARRAY[msg]', 'NULL', 'delay'],
    ['msg jsonb, headers jsonb, delay integer', 'ARRAY[msg]', 'ARRAY[headers]', 'clock_timestamp() + make_interval(secs => delay)'],
    ['msg jsonb, headers jsonb, delay timestamp with time zone', 'ARRAY[msg]', 'ARRAY[headers]', 'delay']
  ] LOOP
    EXECUTE format(
      'CREATE FUNCTION pgmq.send(queue_name text, %s) RETURNS SETOF bigint LANGUAGE sql AS %L',
      shape[1], format('SELECT * FROM pgmq._send(queue_name, %s, %s, %s)', shape[2], shape[3], shape[4]));
    EXECUTE format(
      'CREATE FUNCTION pgmq.send_batch(queue_name text, %s) RETURNS SETOF bigint LANGUAGE sql AS %L',
      replace(replace(shape[1], 'msg jsonb', 'msgs jsonb[]'), 'headers jsonb', 'headers jsonb[]'),
      format('SELECT * FROM pgmq._send(queue_name, %s, %s, %s)',
             'msgs', CASE WHEN shape[3] = 'NULL' THEN 'NULL' ELSE 'headers' END, shape[4]));
  END LOOP;
END
$sends$;

-- The oldest visible messages, hidden for vt seconds from now and counted as read.
CREATE FUNCTION pgmq.read(queue_name text, vt integer, qty integer, conditional jsonb DEFAULT '{}')
RETURNS SETOF pgmq.message_record LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'WITH cte AS (SELECT msg_id FROM pgmq.%1$I WHERE vt <= clock_timestamp() AND message @> $2
                  ORDER BY msg_id ASC LIMIT $1 FOR UPDATE SKIP LOCKED)
     UPDATE pgmq.%1$I m SET vt = clock_timestamp() + %2$L, read_ct = read_ct + 1
     FROM cte WHERE m.msg_id = cte.msg_id
     RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers',
    pgmq.format_table_name(queue_name, 'q'), make_interval(secs => vt)) USING qty, coalesce(conditional, '{}');
END;
$$;

CREATE FUNCTION pgmq.read_with_poll(
  queue_name text, vt integer, qty integer, max_poll_seconds integer DEFAULT 5, poll_interval_ms integer DEFAULT 100,
  conditional jsonb DEFAULT '{}'
) RETURNS SETOF pgmq.message_record LANGUAGE plpgsql AS $$
DECLARE
  stop_at timestamp with time zone := clock_timestamp() + make_interval(secs => max_poll_seconds);
  found_any boolean;
  message pgmq.message_record;
BEGIN
  LOOP
    found_any := false;
    FOR message IN SELECT * FROM pgmq.read(queue_name, vt, qty, conditional) LOOP
      found_any := true;
      RETURN NEXT message;
    END LOOP;
    EXIT WHEN found_any OR clock_timestamp() >= stop_at;
    PERFORM pg_sleep(poll_interval_ms / 1000.0);
  END LOOP;
END;
$$;

CREATE FUNCTION pgmq.pop(queue_name text) RETURNS SETOF pgmq.message_record LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'WITH cte AS (SELECT msg_id FROM pgmq.%1$I WHERE vt <= clock_timestamp()
                  ORDER BY msg_id ASC LIMIT 1 FOR UPDATE SKIP LOCKED)
     DELETE FROM pgmq.%1$I m USING cte WHERE m.msg_id = cte.msg_id
     RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers',
    pgmq.format_table_name(queue_name, 'q'));
END;
$$;

CREATE FUNCTION pgmq.archive(queue_name text, msg_ids bigint[]) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'WITH archived AS (DELETE FROM pgmq.%I WHERE msg_id = ANY($1)
                       RETURNING msg_id, vt, read_ct, enqueued_at, message, headers)
     INSERT INTO pgmq.%I (msg_id, vt, read_ct, enqueued_at, message, headers)
     SELECT msg_id, vt, read_ct, enqueued_at, message, headers FROM archived RETURNING msg_id',
    pgmq.format_table_name(queue_name, 'q'), pgmq.format_table_name(queue_name, 'a')) USING msg_ids;
END;
$$;

CREATE FUNCTION pgmq.archive(queue_name text, msg_id bigint) RETURNS boolean LANGUAGE sql AS $$
  SELECT EXISTS (SELECT FROM pgmq.archive(queue_name, ARRAY[msg_id]));
$$;

CREATE FUNCTION pgmq.delete(queue_name text, msg_ids bigint[]) RETURNS SETOF bigint LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format('DELETE FROM pgmq.%I WHERE msg_id = ANY($1) RETURNING msg_id',
                              pgmq.format_table_name(queue_name, 'q')) USING msg_ids;
END;
$$;

CREATE FUNCTION pgmq.delete(queue_name text, msg_id bigint) RETURNS boolean LANGUAGE sql AS $$
  SELECT EXISTS (SELECT FROM pgmq.delete(queue_name, ARRAY[msg_id]));
$$;

CREATE FUNCTION pgmq.purge_queue(queue_name text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  deleted bigint;
BEGIN
  EXECUTE format('WITH d AS (DELETE FROM pgmq.%I RETURNING 1) SELECT count(*) FROM d',
                 pgmq.format_table_name(queue_name, 'q')) INTO deleted;
  RETURN deleted;
END;
$$;

CREATE FUNCTION pgmq.set_vt(queue_name text, msg_id bigint, vt integer) RETURNS SETOF pgmq.message_record
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'UPDATE pgmq.%I SET vt = clock_timestamp() + %L WHERE msg_id = $1
     RETURNING msg_id, read_ct, enqueued_at, vt, message, headers',
    pgmq.format_table_name(queue_name, 'q'), make_interval(secs => vt)) USING msg_id;
END;
$$;

CREATE FUNCTION pgmq.detach_archive(queue_name text) RETURNS void LANGUAGE sql AS $$ SELECT $$;

CREATE FUNCTION pgmq.list_queues() RETURNS SETOF pgmq.queue_record LANGUAGE sql AS $$
  SELECT queue_name, is_partitioned, is_unlogged, created_at FROM pgmq.meta ORDER BY queue_name;
$$;

CREATE FUNCTION pgmq.metrics(queue_name text) RETURNS pgmq.metrics_result LANGUAGE plpgsql AS $$
DECLARE
  result pgmq.metrics_result;
BEGIN
  EXECUTE format(
    'SELECT %L::text, count(*), extract(epoch FROM now() - max(enqueued_at))::int,
            extract(epoch FROM now() - min(enqueued_at))::int,
            (SELECT coalesce(max(msg_id), 0) FROM pgmq.%I), now(),
            count(*) FILTER (WHERE vt <= now()) FROM pgmq.%I',
    queue_name, pgmq.format_table_name(queue_name, 'q'), pgmq.format_table_name(queue_name, 'q'))
  INTO result;
  RETURN result;
END;
$$;

CREATE FUNCTION pgmq.metrics_all() RETURNS SETOF pgmq.metrics_result LANGUAGE sql AS $$
  SELECT (pgmq.metrics(m.queue_name)).* FROM pgmq.meta m ORDER BY m.queue_name;
$$;

-- As on the platform, postgres manages queues: creating one makes tables in pgmq that it owns.
GRANT ALL ON SCHEMA pgmq TO postgres WITH GRANT OPTION;
GRANT ALL ON pgmq.meta TO postgres WITH GRANT OPTION;
