-- Stand-in for pg_cron where the real one cannot load: cron.job and cron.job_run_details, and
-- cron.schedule / schedule_in_database / unschedule / alter_job, which check the schedule as
-- pg_cron does and record the job. No job ever runs: a test runs the command itself.
CREATE SCHEMA cron;

CREATE SEQUENCE cron.jobid_seq;
CREATE SEQUENCE cron.runid_seq;

CREATE TABLE cron.job (
  jobid bigint NOT NULL DEFAULT nextval('cron.jobid_seq') PRIMARY KEY,
  schedule text NOT NULL,
  command text NOT NULL,
  nodename text NOT NULL DEFAULT 'localhost',
  nodeport integer NOT NULL DEFAULT current_setting('port')::integer,
  database text NOT NULL DEFAULT current_database(),
  username text NOT NULL DEFAULT current_user,
  active boolean NOT NULL DEFAULT true,
  jobname text,
  CONSTRAINT jobname_username_uniq UNIQUE (jobname, username)
);
ALTER TABLE cron.job ENABLE ROW LEVEL SECURITY;
CREATE POLICY cron_job_policy ON cron.job USING (username = current_user);

CREATE TABLE cron.job_run_details (
  jobid bigint,
  runid bigint NOT NULL DEFAULT nextval('cron.runid_seq') PRIMARY KEY,
  job_pid integer,
  database text,
  username text,
  command text,
  status text,
  return_message text,
  start_time timestamp with time zone,
  end_time timestamp with time zone
);
ALTER TABLE cron.job_run_details ENABLE ROW LEVEL SECURITY;
CREATE POLICY cron_job_run_details_policy ON cron.job_run_details USING (username = current_user);

-- pg_cron's schedule syntax: five fields (minute hour day-of-month month day-of-week, each a list
-- of *, n, n-m, with an optional /step; names for months and week days; $ for the last day of the
-- month), a @keyword, or an interval of 1 to 59 seconds.
CREATE FUNCTION cron._check_schedule(schedule text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = '' AS $$
DECLARE
  fields text[] := pg_catalog.regexp_split_to_array(pg_catalog.btrim(schedule), '\s+');
  lows int[] := ARRAY[0, 0, 1, 1, 0];
  highs int[] := ARRAY[59, 23, 31, 12, 7];
  names text[] := ARRAY['', '', '', 'jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec', 'sun|mon|tue|wed|thu|fri|sat'];
  item text;
  part text;
  m text[];
  ok boolean := true;
BEGIN
  IF pg_catalog.lower(pg_catalog.btrim(schedule)) ~ '^@(yearly|annually|monthly|weekly|daily|hourly|reboot)$' THEN
    RETURN;
  END IF;
  m := pg_catalog.regexp_match(pg_catalog.btrim(schedule), '^(\d+)\s+seconds?$', 'i');
  IF m IS NOT NULL THEN
    IF m[1]::int BETWEEN 1 AND 59 THEN RETURN; END IF;
    ok := false;
  ELSIF pg_catalog.array_length(fields, 1) <> 5 THEN
    ok := false;
  ELSE
    FOR i IN 1..5 LOOP
      FOREACH item IN ARRAY pg_catalog.string_to_array(pg_catalog.lower(fields[i]), ',') LOOP
        m := pg_catalog.regexp_match(item, '^([^/]+)(/(\d+))?$');
        IF m IS NULL OR (m[3] IS NOT NULL AND m[3]::int = 0) THEN ok := false; EXIT; END IF;
        part := m[1];
        IF part = '*' OR (i = 3 AND part = '$') THEN CONTINUE; END IF;
        IF names[i] <> '' AND part ~ ('^(' || names[i] || ')(-(' || names[i] || '))?$') THEN CONTINUE; END IF;
        m := pg_catalog.regexp_match(part, '^(\d+)(-(\d+))?$');
        IF m IS NULL OR m[1]::int NOT BETWEEN lows[i] AND highs[i]
           OR (m[3] IS NOT NULL AND (m[3]::int NOT BETWEEN lows[i] AND highs[i] OR m[3]::int < m[1]::int)) THEN
          ok := false; EXIT;
        END IF;
      END LOOP;
      EXIT WHEN NOT ok;
    END LOOP;
  END IF;
  IF NOT ok THEN
    RAISE EXCEPTION 'invalid schedule: %', schedule USING ERRCODE = 'invalid_parameter_value';
  END IF;
END
$$;

CREATE FUNCTION cron.schedule_in_database(
  job_name text, schedule text, command text, database text,
  username text DEFAULT NULL, active boolean DEFAULT true
) RETURNS bigint LANGUAGE plpgsql SET search_path = '' AS $$
DECLARE
  who text := coalesce(username, current_user);
  id bigint;
BEGIN
  PERFORM cron._check_schedule(schedule);
  IF job_name IS NOT NULL THEN
    UPDATE cron.job j SET schedule = schedule_in_database.schedule, command = schedule_in_database.command,
           database = schedule_in_database.database, active = schedule_in_database.active
     WHERE j.jobname = job_name AND j.username = who
    RETURNING j.jobid INTO id;
    IF FOUND THEN RETURN id; END IF;
  END IF;
  INSERT INTO cron.job (schedule, command, database, username, active, jobname)
  VALUES (schedule, command, database, who, active, job_name)
  RETURNING jobid INTO id;
  RETURN id;
END
$$;

CREATE FUNCTION cron.schedule(schedule text, command text) RETURNS bigint
LANGUAGE sql STRICT SET search_path = '' AS $$
  SELECT cron.schedule_in_database(NULL, schedule, command, pg_catalog.current_database())
$$;

CREATE FUNCTION cron.schedule(job_name text, schedule text, command text) RETURNS bigint
LANGUAGE sql STRICT SET search_path = '' AS $$
  SELECT cron.schedule_in_database(job_name, schedule, command, pg_catalog.current_database())
$$;

CREATE FUNCTION cron.unschedule(job_id bigint) RETURNS boolean LANGUAGE plpgsql STRICT SET search_path = '' AS $$
BEGIN
  DELETE FROM cron.job j WHERE j.jobid = job_id AND j.username = current_user;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'could not find valid entry for job %', job_id;
  END IF;
  RETURN true;
END
$$;

CREATE FUNCTION cron.unschedule(job_name text) RETURNS boolean LANGUAGE plpgsql STRICT SET search_path = '' AS $$
BEGIN
  DELETE FROM cron.job j WHERE j.jobname = job_name AND j.username = current_user;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'could not find valid entry for job ''%''', job_name;
  END IF;
  RETURN true;
END
$$;

CREATE FUNCTION cron.alter_job(
  job_id bigint, schedule text DEFAULT NULL, command text DEFAULT NULL,
  database text DEFAULT NULL, username text DEFAULT NULL, active boolean DEFAULT NULL
) RETURNS void LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF schedule IS NOT NULL THEN PERFORM cron._check_schedule(schedule); END IF;
  UPDATE cron.job j SET schedule = coalesce(alter_job.schedule, j.schedule),
         command = coalesce(alter_job.command, j.command),
         database = coalesce(alter_job.database, j.database),
         username = coalesce(alter_job.username, j.username),
         active = coalesce(alter_job.active, j.active)
   WHERE j.jobid = job_id AND j.username = current_user;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'Job % does not exist or you don''t own it', job_id;
  END IF;
END
$$;

GRANT SELECT ON cron.job, cron.job_run_details TO PUBLIC;
