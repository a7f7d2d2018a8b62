-- The storage schema as Supabase Storage's migrations leave it: buckets and objects owned by
-- supabase_storage_admin, RLS enabled with no policies (a project adds its own on storage.objects),
-- every privilege granted to the API roles (RLS decides), and the path helpers policies call.
SET LOCAL ROLE supabase_storage_admin;

CREATE TYPE storage.buckettype AS ENUM ('STANDARD', 'ANALYTICS', 'VECTOR');

CREATE TABLE storage.buckets (
  id text NOT NULL,
  name text NOT NULL,
  owner uuid,
  created_at timestamp with time zone DEFAULT now(),
  updated_at timestamp with time zone DEFAULT now(),
  public boolean DEFAULT false,
  avif_autodetection boolean DEFAULT false,
  file_size_limit bigint,
  allowed_mime_types text[],
  owner_id text,
  type storage.buckettype NOT NULL DEFAULT 'STANDARD'::storage.buckettype,
  versioning_status text NOT NULL DEFAULT 'DISABLED'::text,
  CONSTRAINT buckets_pkey PRIMARY KEY (id)
);
COMMENT ON COLUMN storage.buckets.owner IS 'Field is deprecated, use owner_id instead';
CREATE UNIQUE INDEX bname ON storage.buckets (name);

CREATE TABLE storage.objects (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  bucket_id text,
  name text,
  owner uuid,
  created_at timestamp with time zone DEFAULT now(),
  updated_at timestamp with time zone DEFAULT now(),
  last_accessed_at timestamp with time zone DEFAULT now(),
  metadata jsonb,
  path_tokens text[] GENERATED ALWAYS AS (string_to_array(name, '/'::text)) STORED,
  version text,
  owner_id text,
  user_metadata jsonb,
  archived_at timestamp with time zone,
  is_delete_marker boolean NOT NULL DEFAULT false,
  is_versioned boolean NOT NULL DEFAULT false,
  CONSTRAINT objects_pkey PRIMARY KEY (id),
  CONSTRAINT "objects_bucketId_fkey" FOREIGN KEY (bucket_id) REFERENCES storage.buckets(id)
);
COMMENT ON COLUMN storage.objects.owner IS 'Field is deprecated, use owner_id instead';
CREATE UNIQUE INDEX bucketid_objname ON storage.objects (bucket_id, name);
CREATE INDEX name_prefix_search ON storage.objects (name text_pattern_ops);
CREATE INDEX idx_objects_bucket_id_name ON storage.objects (bucket_id, name COLLATE "C");

ALTER TABLE storage.buckets ENABLE ROW LEVEL SECURITY;
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;

-- Path helpers, with the platform's results: the folders of 'a/b/c.png' are {a,b}, its file name
-- is 'c.png', and the extension is what follows the file name's last dot ('c.tar.gz' -> 'gz'; a
-- name without a dot is its own extension, as on the platform).
CREATE FUNCTION storage.foldername(name text) RETURNS text[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  segments text[] := string_to_array(name, '/');
BEGIN
  RETURN segments[1:array_length(segments, 1) - 1];
END
$$;

CREATE FUNCTION storage.filename(name text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  segments text[] := string_to_array(name, '/');
BEGIN
  RETURN segments[array_length(segments, 1)];
END
$$;

CREATE FUNCTION storage.extension(name text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  segments text[] := string_to_array(name, '/');
  file text := segments[array_length(segments, 1)];
BEGIN
  RETURN reverse(split_part(reverse(file), '.', 1));
END
$$;

-- The operation Storage runs the request for ('object.get', 'storage.object.upload', ...), which
-- the Storage server sets as the transaction-local setting storage.operation; policies read it to
-- allow one operation and not another. A test sets it with set_config('storage.operation', ...).
CREATE FUNCTION storage.operation() RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN current_setting('storage.operation', true);
END
$$;

-- Whether the current operation is the one named, with or without its 'storage.' prefix; false
-- for an empty name or when no operation is set.
CREATE FUNCTION storage.allow_only_operation(expected_operation text) RETURNS boolean
LANGUAGE sql STABLE AS $$
  WITH current_operation AS (
    SELECT storage.operation() AS raw_operation
  ),
  normalized AS (
    SELECT
      CASE WHEN raw_operation LIKE 'storage.%' THEN substr(raw_operation, 9) ELSE raw_operation END
        AS current_operation,
      CASE WHEN expected_operation LIKE 'storage.%' THEN substr(expected_operation, 9) ELSE expected_operation END
        AS requested_operation
    FROM current_operation
  )
  SELECT CASE
    WHEN requested_operation IS NULL OR requested_operation = '' THEN FALSE
    ELSE COALESCE(current_operation = requested_operation, FALSE)
  END
  FROM normalized;
$$;

-- Whether the current operation is any of those named (NULL and empty names never match).
CREATE FUNCTION storage.allow_any_operation(expected_operations text[]) RETURNS boolean
LANGUAGE sql STABLE AS $$
  WITH current_operation AS (
    SELECT storage.operation() AS raw_operation
  ),
  normalized AS (
    SELECT CASE WHEN raw_operation LIKE 'storage.%' THEN substr(raw_operation, 9) ELSE raw_operation END
      AS current_operation
    FROM current_operation
  )
  SELECT EXISTS (
    SELECT 1
    FROM normalized n
    CROSS JOIN LATERAL unnest(expected_operations) AS expected_operation
    WHERE expected_operation IS NOT NULL
      AND expected_operation <> ''
      AND n.current_operation = CASE
        WHEN expected_operation LIKE 'storage.%' THEN substr(expected_operation, 9)
        ELSE expected_operation
      END
  );
$$;

-- Bytes stored per bucket, from each object's metadata.size.
CREATE FUNCTION storage.get_size_by_bucket() RETURNS TABLE (size bigint, bucket_id text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN QUERY
    SELECT sum((metadata->>'size')::bigint)::bigint AS size, obj.bucket_id
    FROM "storage".objects AS obj
    GROUP BY obj.bucket_id;
END
$$;

-- The listing Storage's list endpoint (POST /object/list/:bucket, supabase-js list()) calls as the
-- signed-in user, so RLS on storage.objects decides what it shows: the entries one level below
-- prefix||search, named relative to prefix; a folder is an entry with a NULL id. Same signature
-- and columns as Storage's; ``levels`` is unused there too (both bounds come from the prefix).
CREATE FUNCTION storage.search(
  prefix text, bucketname text, limits int DEFAULT 100, levels int DEFAULT 1, offsets int DEFAULT 0,
  search text DEFAULT '', sortcolumn text DEFAULT 'name', sortorder text DEFAULT 'asc'
) RETURNS TABLE (
  name text, id uuid, updated_at timestamptz, created_at timestamptz, last_accessed_at timestamptz,
  metadata jsonb
) LANGUAGE plpgsql STABLE SECURITY INVOKER AS $$
DECLARE
  v_prefix text := coalesce(prefix, '') || coalesce(search, '');
  v_start int := coalesce(array_length(string_to_array(coalesce(prefix, ''), '/'), 1), 1);
  v_level int := coalesce(array_length(string_to_array(v_prefix, '/'), 1), 1);
  v_column text := CASE lower(coalesce(sortcolumn, 'name'))
    WHEN 'updated_at' THEN 'updated_at' WHEN 'created_at' THEN 'created_at'
    WHEN 'last_accessed_at' THEN 'last_accessed_at' ELSE 'name' END;
  v_order text := CASE WHEN lower(coalesce(sortorder, 'asc')) = 'asc' THEN 'asc' ELSE 'desc' END;
BEGIN
  RETURN QUERY EXECUTE format(
    $sql$
    SELECT e.name, e.id, e.updated_at, e.created_at, e.last_accessed_at, e.metadata FROM (
      SELECT DISTINCT array_to_string(o.path_tokens[$1:$2], '/') AS name, NULL::uuid AS id,
             NULL::timestamptz AS updated_at, NULL::timestamptz AS created_at,
             NULL::timestamptz AS last_accessed_at, NULL::jsonb AS metadata
      FROM storage.objects o
      WHERE o.bucket_id = $4 AND o.name ILIKE $3 || '%%' AND array_length(o.path_tokens, 1) > $2
      UNION ALL
      SELECT array_to_string(o.path_tokens[$1:$2], '/'), o.id, o.updated_at, o.created_at,
             o.last_accessed_at, o.metadata
      FROM storage.objects o
      WHERE o.bucket_id = $4 AND o.name ILIKE $3 || '%%' AND array_length(o.path_tokens, 1) = $2
    ) e
    ORDER BY %s e.%I %s
    LIMIT $5 OFFSET $6
    $sql$,
    -- Sorted by name, folders and files interleave (lower(name) in byte order, as Storage's);
    -- by a date, folders (which have none) come first.
    CASE WHEN v_column = 'name' THEN '' ELSE '(e.id IS NOT NULL),' END,
    v_column, CASE WHEN v_column = 'name' THEN 'COLLATE "C" ' ELSE '' END || v_order
  ) USING v_start, v_level, v_prefix, bucketname, LEAST(coalesce(limits, 100), 1500), offsets;
END
$$;

CREATE FUNCTION storage.update_updated_at_column() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at = now();
  RETURN NEW;
END
$$;

CREATE TRIGGER update_objects_updated_at BEFORE UPDATE ON storage.objects
  FOR EACH ROW EXECUTE FUNCTION storage.update_updated_at_column();

RESET ROLE;

GRANT ALL ON TABLE storage.buckets, storage.objects TO anon, authenticated, service_role, postgres, dashboard_user;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA storage TO anon, authenticated, service_role, postgres, dashboard_user;
