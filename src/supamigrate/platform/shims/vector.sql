-- Stand-in for pgvector's `vector` type, written without C: a base type that stores its text
-- ('[1,2,3]') through json's own input and output functions, vector(n) dimensions through
-- varchar's type-modifier functions, and every operator and function in SQL on float8 arrays.
-- The access methods hnsw and ivfflat exist so that CREATE INDEX ... USING hnsw works; they are
-- hash indexes underneath, so nearest-neighbour queries run as exact scans (same results).
CREATE TYPE @extschema@.vector;

CREATE FUNCTION @extschema@.vector_in(cstring) RETURNS @extschema@.vector
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'json_in';
CREATE FUNCTION @extschema@.vector_out(@extschema@.vector) RETURNS cstring
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'json_out';
CREATE FUNCTION @extschema@.vector_recv(internal) RETURNS @extschema@.vector
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'json_recv';
CREATE FUNCTION @extschema@.vector_send(@extschema@.vector) RETURNS bytea
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'json_send';
CREATE FUNCTION @extschema@.vector_typmod_in(cstring[]) RETURNS integer
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'varchartypmodin';
CREATE FUNCTION @extschema@.vector_typmod_out(integer) RETURNS cstring
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'varchartypmodout';

CREATE TYPE @extschema@.vector (
  INPUT = @extschema@.vector_in,
  OUTPUT = @extschema@.vector_out,
  RECEIVE = @extschema@.vector_recv,
  SEND = @extschema@.vector_send,
  TYPMOD_IN = @extschema@.vector_typmod_in,
  TYPMOD_OUT = @extschema@.vector_typmod_out,
  INTERNALLENGTH = VARIABLE,
  STORAGE = extended,
  CATEGORY = 'U'
);

-- The elements of a vector, checked as pgvector checks its input.
CREATE FUNCTION @extschema@.vector_to_float8(v @extschema@.vector) RETURNS double precision[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = '' AS $$
DECLARE
  j json := v::text::json;
  result double precision[];
BEGIN
  IF pg_catalog.json_typeof(j) <> 'array' THEN
    RAISE EXCEPTION 'invalid input syntax for type vector: "%"', v::text
      USING ERRCODE = 'invalid_text_representation', DETAIL = 'Vector contents must start with "[".';
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.json_array_elements(j) e WHERE pg_catalog.json_typeof(e) <> 'number') THEN
    RAISE EXCEPTION 'invalid input syntax for type vector: "%"', v::text USING ERRCODE = 'invalid_text_representation';
  END IF;
  result := ARRAY(SELECT e::double precision FROM pg_catalog.json_array_elements_text(j) e);
  IF pg_catalog.cardinality(result) < 1 THEN
    RAISE EXCEPTION 'vector must have at least 1 dimension' USING ERRCODE = 'data_exception';
  END IF;
  IF pg_catalog.cardinality(result) > 16000 THEN
    RAISE EXCEPTION 'vector cannot have more than 16000 dimensions' USING ERRCODE = 'program_limit_exceeded';
  END IF;
  RETURN result;
END
$$;

CREATE FUNCTION @extschema@.vector_from_float8(a double precision[], typmod integer DEFAULT -1)
RETURNS @extschema@.vector LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = '' AS $$
DECLARE
  n integer := pg_catalog.cardinality(a);
BEGIN
  IF a IS NULL THEN RETURN NULL; END IF;
  IF n < 1 THEN
    RAISE EXCEPTION 'vector must have at least 1 dimension' USING ERRCODE = 'data_exception';
  END IF;
  IF EXISTS (SELECT FROM pg_catalog.unnest(a) x WHERE x IS NULL) THEN
    RAISE EXCEPTION 'array must not contain nulls' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF typmod > 4 AND n <> typmod - 4 THEN
    RAISE EXCEPTION 'expected % dimensions, not %', typmod - 4, n USING ERRCODE = 'data_exception';
  END IF;
  -- Written as pgvector writes it: single-precision values, no spaces.
  RETURN ('[' || pg_catalog.array_to_string(ARRAY(SELECT x::real::text FROM pg_catalog.unnest(a) x), ',') || ']')
         ::text::@extschema@.vector;
END
$$;

-- vector(n): checks the dimensions and normalises the text, on every store into a vector(n).
CREATE FUNCTION @extschema@.vector(v @extschema@.vector, typmod integer, explicit boolean)
RETURNS @extschema@.vector LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.vector_from_float8(@extschema@.vector_to_float8(v), typmod)
$$;
CREATE CAST (@extschema@.vector AS @extschema@.vector)
  WITH FUNCTION @extschema@.vector(@extschema@.vector, integer, boolean) AS IMPLICIT;

CREATE FUNCTION @extschema@.array_to_vector(a double precision[], typmod integer, explicit boolean)
RETURNS @extschema@.vector LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.vector_from_float8(a, typmod)
$$;
CREATE FUNCTION @extschema@.array_to_vector(a real[], typmod integer, explicit boolean)
RETURNS @extschema@.vector LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.vector_from_float8(a::double precision[], typmod)
$$;
CREATE FUNCTION @extschema@.array_to_vector(a integer[], typmod integer, explicit boolean)
RETURNS @extschema@.vector LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.vector_from_float8(a::double precision[], typmod)
$$;
CREATE FUNCTION @extschema@.array_to_vector(a numeric[], typmod integer, explicit boolean)
RETURNS @extschema@.vector LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.vector_from_float8(a::double precision[], typmod)
$$;
CREATE FUNCTION @extschema@.vector_to_float4(v @extschema@.vector, typmod integer, explicit boolean)
RETURNS real[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.vector_to_float8(v)::real[]
$$;
CREATE CAST (double precision[] AS @extschema@.vector)
  WITH FUNCTION @extschema@.array_to_vector(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (real[] AS @extschema@.vector)
  WITH FUNCTION @extschema@.array_to_vector(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (integer[] AS @extschema@.vector)
  WITH FUNCTION @extschema@.array_to_vector(integer[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (numeric[] AS @extschema@.vector)
  WITH FUNCTION @extschema@.array_to_vector(numeric[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (@extschema@.vector AS real[])
  WITH FUNCTION @extschema@.vector_to_float4(@extschema@.vector, integer, boolean) AS IMPLICIT;

-- Both operands of a binary function, with pgvector's error for unequal dimensions.
CREATE FUNCTION @extschema@._vector_pair(a @extschema@.vector, b @extschema@.vector)
RETURNS TABLE(x double precision, y double precision)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = '' AS $$
DECLARE
  xs double precision[] := @extschema@.vector_to_float8(a);
  ys double precision[] := @extschema@.vector_to_float8(b);
BEGIN
  IF pg_catalog.cardinality(xs) <> pg_catalog.cardinality(ys) THEN
    RAISE EXCEPTION 'different vector dimensions % and %', pg_catalog.cardinality(xs), pg_catalog.cardinality(ys)
      USING ERRCODE = 'data_exception';
  END IF;
  RETURN QUERY SELECT u.x, u.y FROM unnest(xs, ys) AS u(x, y);
END
$$;

CREATE FUNCTION @extschema@.l2_distance(a @extschema@.vector, b @extschema@.vector) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT pg_catalog.sqrt(pg_catalog.sum((p.x - p.y) ^ 2)) FROM @extschema@._vector_pair(a, b) p
$$;
CREATE FUNCTION @extschema@.inner_product(a @extschema@.vector, b @extschema@.vector) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT pg_catalog.sum(p.x * p.y) FROM @extschema@._vector_pair(a, b) p
$$;
CREATE FUNCTION @extschema@.vector_negative_inner_product(a @extschema@.vector, b @extschema@.vector)
RETURNS double precision LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT -@extschema@.inner_product(a, b)
$$;
CREATE FUNCTION @extschema@.cosine_distance(a @extschema@.vector, b @extschema@.vector) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN pg_catalog.sum(p.x * p.x) = 0 OR pg_catalog.sum(p.y * p.y) = 0 THEN 'NaN'::double precision
              ELSE 1 - pg_catalog.sum(p.x * p.y) / (pg_catalog.sqrt(pg_catalog.sum(p.x * p.x)) * pg_catalog.sqrt(pg_catalog.sum(p.y * p.y))) END
  FROM @extschema@._vector_pair(a, b) p
$$;
CREATE FUNCTION @extschema@.l1_distance(a @extschema@.vector, b @extschema@.vector) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT pg_catalog.sum(pg_catalog.abs(p.x - p.y)) FROM @extschema@._vector_pair(a, b) p
$$;
CREATE FUNCTION @extschema@.vector_dims(v @extschema@.vector) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT pg_catalog.cardinality(@extschema@.vector_to_float8(v))
$$;
CREATE FUNCTION @extschema@.vector_norm(v @extschema@.vector) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT pg_catalog.sqrt(pg_catalog.sum(x * x)) FROM pg_catalog.unnest(@extschema@.vector_to_float8(v)) x
$$;
CREATE FUNCTION @extschema@.l2_normalize(v @extschema@.vector) RETURNS @extschema@.vector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.vector_from_float8(ARRAY(
    SELECT CASE WHEN n = 0 THEN 0 ELSE x / n END
    FROM pg_catalog.unnest(@extschema@.vector_to_float8(v)) WITH ORDINALITY AS u(x, i),
         (SELECT @extschema@.vector_norm(v) AS n) AS norm ORDER BY i))
$$;
CREATE FUNCTION @extschema@.subvector(v @extschema@.vector, start integer, count integer) RETURNS @extschema@.vector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.vector_from_float8((@extschema@.vector_to_float8(v))[start:start + count - 1])
$$;
CREATE FUNCTION @extschema@.vector_add(a @extschema@.vector, b @extschema@.vector) RETURNS @extschema@.vector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.vector_from_float8(ARRAY(SELECT p.x + p.y FROM @extschema@._vector_pair(a, b) p))
$$;
CREATE FUNCTION @extschema@.vector_sub(a @extschema@.vector, b @extschema@.vector) RETURNS @extschema@.vector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.vector_from_float8(ARRAY(SELECT p.x - p.y FROM @extschema@._vector_pair(a, b) p))
$$;
CREATE FUNCTION @extschema@.vector_mul(a @extschema@.vector, b @extschema@.vector) RETURNS @extschema@.vector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.vector_from_float8(ARRAY(SELECT p.x * p.y FROM @extschema@._vector_pair(a, b) p))
$$;
CREATE FUNCTION @extschema@.vector_concat(a @extschema@.vector, b @extschema@.vector) RETURNS @extschema@.vector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.vector_from_float8(@extschema@.vector_to_float8(a) || @extschema@.vector_to_float8(b))
$$;
CREATE FUNCTION @extschema@.vector_cmp(a @extschema@.vector, b @extschema@.vector) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN xs < ys THEN -1 WHEN xs > ys THEN 1 ELSE 0 END
  FROM (SELECT @extschema@.vector_to_float8(a) AS xs, @extschema@.vector_to_float8(b) AS ys) AS v
$$;
CREATE FUNCTION @extschema@.vector_eq(a @extschema@.vector, b @extschema@.vector) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT @extschema@.vector_cmp(a, b) = 0 $$;
CREATE FUNCTION @extschema@.vector_ne(a @extschema@.vector, b @extschema@.vector) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT @extschema@.vector_cmp(a, b) <> 0 $$;
CREATE FUNCTION @extschema@.vector_lt(a @extschema@.vector, b @extschema@.vector) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT @extschema@.vector_cmp(a, b) < 0 $$;
CREATE FUNCTION @extschema@.vector_le(a @extschema@.vector, b @extschema@.vector) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT @extschema@.vector_cmp(a, b) <= 0 $$;
CREATE FUNCTION @extschema@.vector_gt(a @extschema@.vector, b @extschema@.vector) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT @extschema@.vector_cmp(a, b) > 0 $$;
CREATE FUNCTION @extschema@.vector_ge(a @extschema@.vector, b @extschema@.vector) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT @extschema@.vector_cmp(a, b) >= 0 $$;
CREATE FUNCTION @extschema@.vector_hash(v @extschema@.vector) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT pg_catalog.hashtext(@extschema@.vector_to_float8(v)::text)
$$;

CREATE OPERATOR @extschema@.<-> (LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
  FUNCTION = @extschema@.l2_distance, COMMUTATOR = OPERATOR(@extschema@.<->));
CREATE OPERATOR @extschema@.<#> (LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
  FUNCTION = @extschema@.vector_negative_inner_product, COMMUTATOR = OPERATOR(@extschema@.<#>));
CREATE OPERATOR @extschema@.<=> (LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
  FUNCTION = @extschema@.cosine_distance, COMMUTATOR = OPERATOR(@extschema@.<=>));
CREATE OPERATOR @extschema@.<+> (LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
  FUNCTION = @extschema@.l1_distance, COMMUTATOR = OPERATOR(@extschema@.<+>));
CREATE OPERATOR @extschema@.+ (LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
  FUNCTION = @extschema@.vector_add, COMMUTATOR = OPERATOR(@extschema@.+));
CREATE OPERATOR @extschema@.- (LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
  FUNCTION = @extschema@.vector_sub);
CREATE OPERATOR @extschema@.* (LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
  FUNCTION = @extschema@.vector_mul, COMMUTATOR = OPERATOR(@extschema@.*));
CREATE OPERATOR @extschema@.|| (LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
  FUNCTION = @extschema@.vector_concat);
CREATE OPERATOR @extschema@.= (LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
  FUNCTION = @extschema@.vector_eq, COMMUTATOR = OPERATOR(@extschema@.=), NEGATOR = OPERATOR(@extschema@.<>),
  RESTRICT = eqsel, JOIN = eqjoinsel);
CREATE OPERATOR @extschema@.<> (LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
  FUNCTION = @extschema@.vector_ne, COMMUTATOR = OPERATOR(@extschema@.<>), NEGATOR = OPERATOR(@extschema@.=),
  RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR @extschema@.< (LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
  FUNCTION = @extschema@.vector_lt, COMMUTATOR = OPERATOR(@extschema@.>), NEGATOR = OPERATOR(@extschema@.>=));
CREATE OPERATOR @extschema@.<= (LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
  FUNCTION = @extschema@.vector_le, COMMUTATOR = OPERATOR(@extschema@.>=), NEGATOR = OPERATOR(@extschema@.>));
CREATE OPERATOR @extschema@.> (LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
  FUNCTION = @extschema@.vector_gt, COMMUTATOR = OPERATOR(@extschema@.<), NEGATOR = OPERATOR(@extschema@.<=));
CREATE OPERATOR @extschema@.>= (LEFTARG = @extschema@.vector, RIGHTARG = @extschema@.vector,
  FUNCTION = @extschema@.vector_ge, COMMUTATOR = OPERATOR(@extschema@.<=), NEGATOR = OPERATOR(@extschema@.<));

CREATE FUNCTION @extschema@._vector_accum(state double precision[], v @extschema@.vector)
RETURNS double precision[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN v IS NULL THEN state
              WHEN state IS NULL THEN 1 || @extschema@.vector_to_float8(v)
              ELSE (state[1] + 1) || ARRAY(SELECT s + x FROM unnest(state[2:], @extschema@.vector_to_float8(v)) AS u(s, x))
         END
$$;
CREATE FUNCTION @extschema@._vector_avg(state double precision[]) RETURNS @extschema@.vector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT @extschema@.vector_from_float8(ARRAY(SELECT s / state[1] FROM pg_catalog.unnest(state[2:]) s))
$$;
CREATE FUNCTION @extschema@._vector_sum(state double precision[]) RETURNS @extschema@.vector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT @extschema@.vector_from_float8(state[2:])
$$;
CREATE AGGREGATE @extschema@.avg(@extschema@.vector) (
  SFUNC = @extschema@._vector_accum, STYPE = double precision[], FINALFUNC = @extschema@._vector_avg
);
CREATE AGGREGATE @extschema@.sum(@extschema@.vector) (
  SFUNC = @extschema@._vector_accum, STYPE = double precision[], FINALFUNC = @extschema@._vector_sum
);

CREATE OPERATOR CLASS @extschema@.vector_ops DEFAULT FOR TYPE @extschema@.vector USING btree AS
  OPERATOR 1 @extschema@.<, OPERATOR 2 @extschema@.<=, OPERATOR 3 @extschema@.=,
  OPERATOR 4 @extschema@.>=, OPERATOR 5 @extschema@.>,
  FUNCTION 1 @extschema@.vector_cmp(@extschema@.vector, @extschema@.vector);

CREATE ACCESS METHOD hnsw TYPE INDEX HANDLER pg_catalog.hashhandler;
CREATE ACCESS METHOD ivfflat TYPE INDEX HANDLER pg_catalog.hashhandler;
COMMENT ON ACCESS METHOD hnsw IS 'supamigrate stand-in for pgvector hnsw: a hash index, queries scan exactly';
COMMENT ON ACCESS METHOD ivfflat IS 'supamigrate stand-in for pgvector ivfflat: a hash index, queries scan exactly';

DO $classes$
DECLARE
  am text;
  ops text;
BEGIN
  FOREACH am IN ARRAY ARRAY['hnsw', 'ivfflat'] LOOP
    FOREACH ops IN ARRAY ARRAY['vector_l2_ops', 'vector_ip_ops', 'vector_cosine_ops', 'vector_l1_ops'] LOOP
      EXECUTE pg_catalog.format(
        'CREATE OPERATOR CLASS %I.%I FOR TYPE %I.vector USING %I AS'
        ' OPERATOR 1 %s.=, FUNCTION 1 %s.vector_hash(%s.vector)',
        '@extschema_name@', ops, '@extschema_name@', am, '@extschema@', '@extschema@', '@extschema@');
    END LOOP;
  END LOOP;
END
$classes$;
