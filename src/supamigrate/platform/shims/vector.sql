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

-- halfvec: pgvector's half-precision vector, written as a vector is ('[1,2,3]'); each element is
-- rounded to the nearest IEEE half-precision value on every store into a halfvec(n).
CREATE TYPE @extschema@.halfvec;
CREATE FUNCTION @extschema@.halfvec_in(cstring) RETURNS @extschema@.halfvec
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'json_in';
CREATE FUNCTION @extschema@.halfvec_out(@extschema@.halfvec) RETURNS cstring
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'json_out';
CREATE FUNCTION @extschema@.halfvec_recv(internal) RETURNS @extschema@.halfvec
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'json_recv';
CREATE FUNCTION @extschema@.halfvec_send(@extschema@.halfvec) RETURNS bytea
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'json_send';
CREATE FUNCTION @extschema@.halfvec_typmod_in(cstring[]) RETURNS integer
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'varchartypmodin';
CREATE TYPE @extschema@.halfvec (
  INPUT = @extschema@.halfvec_in, OUTPUT = @extschema@.halfvec_out,
  RECEIVE = @extschema@.halfvec_recv, SEND = @extschema@.halfvec_send,
  TYPMOD_IN = @extschema@.halfvec_typmod_in, TYPMOD_OUT = @extschema@.vector_typmod_out,
  INTERNALLENGTH = VARIABLE, STORAGE = extended, CATEGORY = 'U'
);

-- The nearest half-precision value (11 significant bits, exponent from -14), or pgvector's error.
CREATE FUNCTION @extschema@._half(x double precision) RETURNS double precision
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = '' AS $$
DECLARE
  step double precision;
BEGIN
  IF x = 0 THEN RETURN 0; END IF;
  step := 2 ^ (greatest(pg_catalog.floor(pg_catalog.log(2::numeric, pg_catalog.abs(x)::numeric))::integer, -14) - 10);
  x := pg_catalog.round(x / step) * step;
  IF pg_catalog.abs(x) > 65504 THEN
    RAISE EXCEPTION '"%" is out of range for type halfvec', x USING ERRCODE = 'numeric_value_out_of_range';
  END IF;
  RETURN x;
END
$$;

CREATE FUNCTION @extschema@.halfvec_to_float8(v @extschema@.halfvec) RETURNS double precision[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.vector_to_float8(v::text::@extschema@.vector)
$$;
CREATE FUNCTION @extschema@.halfvec_from_float8(a double precision[], typmod integer DEFAULT -1)
RETURNS @extschema@.halfvec LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT @extschema@.vector_from_float8(
           ARRAY(SELECT @extschema@._half(x) FROM pg_catalog.unnest(a) WITH ORDINALITY AS u(x, i) ORDER BY i),
           typmod)::text::@extschema@.halfvec
$$;
CREATE FUNCTION @extschema@.halfvec(v @extschema@.halfvec, typmod integer, explicit boolean)
RETURNS @extschema@.halfvec LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.halfvec_from_float8(@extschema@.halfvec_to_float8(v), typmod)
$$;
CREATE CAST (@extschema@.halfvec AS @extschema@.halfvec)
  WITH FUNCTION @extschema@.halfvec(@extschema@.halfvec, integer, boolean) AS IMPLICIT;
CREATE FUNCTION @extschema@.halfvec_to_vector(v @extschema@.halfvec, typmod integer, explicit boolean)
RETURNS @extschema@.vector LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.vector_from_float8(@extschema@.halfvec_to_float8(v), typmod)
$$;
CREATE FUNCTION @extschema@.vector_to_halfvec(v @extschema@.vector, typmod integer, explicit boolean)
RETURNS @extschema@.halfvec LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.halfvec_from_float8(@extschema@.vector_to_float8(v), typmod)
$$;
CREATE FUNCTION @extschema@.array_to_halfvec(a double precision[], typmod integer, explicit boolean)
RETURNS @extschema@.halfvec LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.halfvec_from_float8(a, typmod)
$$;
CREATE FUNCTION @extschema@.array_to_halfvec(a real[], typmod integer, explicit boolean)
RETURNS @extschema@.halfvec LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.halfvec_from_float8(a::double precision[], typmod)
$$;
CREATE FUNCTION @extschema@.halfvec_to_float4(v @extschema@.halfvec, typmod integer, explicit boolean)
RETURNS real[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.halfvec_to_float8(v)::real[]
$$;
CREATE CAST (@extschema@.halfvec AS @extschema@.vector)
  WITH FUNCTION @extschema@.halfvec_to_vector(@extschema@.halfvec, integer, boolean) AS ASSIGNMENT;
CREATE CAST (@extschema@.vector AS @extschema@.halfvec)
  WITH FUNCTION @extschema@.vector_to_halfvec(@extschema@.vector, integer, boolean) AS IMPLICIT;
CREATE CAST (double precision[] AS @extschema@.halfvec)
  WITH FUNCTION @extschema@.array_to_halfvec(double precision[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (real[] AS @extschema@.halfvec)
  WITH FUNCTION @extschema@.array_to_halfvec(real[], integer, boolean) AS ASSIGNMENT;
CREATE CAST (@extschema@.halfvec AS real[])
  WITH FUNCTION @extschema@.halfvec_to_float4(@extschema@.halfvec, integer, boolean) AS ASSIGNMENT;

-- sparsevec: pgvector's sparse vector, written '{index:value,...}/dimensions' with 1-based
-- indices in ascending order; zeros are not stored.
CREATE TYPE @extschema@.sparsevec;
CREATE FUNCTION @extschema@.sparsevec_in(cstring) RETURNS @extschema@.sparsevec
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'textin';
CREATE FUNCTION @extschema@.sparsevec_out(@extschema@.sparsevec) RETURNS cstring
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'textout';
CREATE FUNCTION @extschema@.sparsevec_recv(internal) RETURNS @extschema@.sparsevec
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'textrecv';
CREATE FUNCTION @extschema@.sparsevec_send(@extschema@.sparsevec) RETURNS bytea
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'textsend';
CREATE FUNCTION @extschema@.sparsevec_typmod_in(cstring[]) RETURNS integer
  LANGUAGE internal IMMUTABLE STRICT PARALLEL SAFE AS 'varchartypmodin';
CREATE TYPE @extschema@.sparsevec (
  INPUT = @extschema@.sparsevec_in, OUTPUT = @extschema@.sparsevec_out,
  RECEIVE = @extschema@.sparsevec_recv, SEND = @extschema@.sparsevec_send,
  TYPMOD_IN = @extschema@.sparsevec_typmod_in, TYPMOD_OUT = @extschema@.vector_typmod_out,
  INTERNALLENGTH = VARIABLE, STORAGE = extended, CATEGORY = 'U'
);

-- The dense elements of a sparse vector, checked as pgvector checks its input.
CREATE FUNCTION @extschema@.sparsevec_to_float8(v @extschema@.sparsevec) RETURNS double precision[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE SET search_path = '' AS $$
DECLARE
  parts text[] := pg_catalog.regexp_match(v::text, '^\s*\{([^}]*)\}\s*/\s*(\d+)\s*$');
  dims integer;
  result double precision[];
  element text;
  previous integer := 0;
  position integer;
BEGIN
  IF parts IS NULL THEN
    RAISE EXCEPTION 'invalid input syntax for type sparsevec: "%"', v::text USING ERRCODE = 'invalid_text_representation';
  END IF;
  dims := parts[2]::integer;
  IF dims < 1 THEN
    RAISE EXCEPTION 'sparsevec must have at least 1 dimension' USING ERRCODE = 'data_exception';
  END IF;
  result := pg_catalog.array_fill(0::double precision, ARRAY[dims]);
  IF pg_catalog.btrim(parts[1]) <> '' THEN
    FOREACH element IN ARRAY pg_catalog.string_to_array(parts[1], ',') LOOP
      IF element !~ '^\s*\d+\s*:\s*[-+0-9.eE]+\s*$' THEN
        RAISE EXCEPTION 'invalid input syntax for type sparsevec: "%"', v::text USING ERRCODE = 'invalid_text_representation';
      END IF;
      position := pg_catalog.split_part(element, ':', 1)::integer;
      IF position < 1 OR position > dims THEN
        RAISE EXCEPTION 'sparsevec index out of bounds' USING ERRCODE = 'data_exception';
      END IF;
      IF position <= previous THEN
        RAISE EXCEPTION 'sparsevec indices must not contain duplicates and be in ascending order'
          USING ERRCODE = 'data_exception';
      END IF;
      result[position] := pg_catalog.split_part(element, ':', 2)::double precision;
      previous := position;
    END LOOP;
  END IF;
  RETURN result;
END
$$;
CREATE FUNCTION @extschema@.sparsevec_from_float8(a double precision[], typmod integer DEFAULT -1)
RETURNS @extschema@.sparsevec LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = '' AS $$
DECLARE
  n integer := pg_catalog.cardinality(a);
BEGIN
  IF a IS NULL THEN RETURN NULL; END IF;
  IF typmod > 4 AND n <> typmod - 4 THEN
    RAISE EXCEPTION 'expected % dimensions, not %', typmod - 4, n USING ERRCODE = 'data_exception';
  END IF;
  RETURN ('{' || coalesce((SELECT pg_catalog.string_agg(i || ':' || x::real::text, ',' ORDER BY i)
                            FROM pg_catalog.unnest(a) WITH ORDINALITY AS u(x, i) WHERE x <> 0), '')
          || '}/' || n)::text::@extschema@.sparsevec;
END
$$;
CREATE FUNCTION @extschema@.sparsevec(v @extschema@.sparsevec, typmod integer, explicit boolean)
RETURNS @extschema@.sparsevec LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.sparsevec_from_float8(@extschema@.sparsevec_to_float8(v), typmod)
$$;
CREATE CAST (@extschema@.sparsevec AS @extschema@.sparsevec)
  WITH FUNCTION @extschema@.sparsevec(@extschema@.sparsevec, integer, boolean) AS IMPLICIT;
CREATE FUNCTION @extschema@.sparsevec_to_vector(v @extschema@.sparsevec, typmod integer, explicit boolean)
RETURNS @extschema@.vector LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.vector_from_float8(@extschema@.sparsevec_to_float8(v), typmod)
$$;
CREATE FUNCTION @extschema@.vector_to_sparsevec(v @extschema@.vector, typmod integer, explicit boolean)
RETURNS @extschema@.sparsevec LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.sparsevec_from_float8(@extschema@.vector_to_float8(v), typmod)
$$;
CREATE CAST (@extschema@.sparsevec AS @extschema@.vector)
  WITH FUNCTION @extschema@.sparsevec_to_vector(@extschema@.sparsevec, integer, boolean) AS ASSIGNMENT;
CREATE CAST (@extschema@.vector AS @extschema@.sparsevec)
  WITH FUNCTION @extschema@.vector_to_sparsevec(@extschema@.vector, integer, boolean) AS ASSIGNMENT;

-- Distances, norms and comparisons of halfvec and sparsevec, computed on their dense vectors.
DO $kinds$
DECLARE
  kind text;
  s text := '@extschema@';
BEGIN
  FOREACH kind IN ARRAY ARRAY['halfvec', 'sparsevec'] LOOP
    EXECUTE pg_catalog.format($f$
      CREATE FUNCTION %1$s.l2_distance(a %1$s.%2$s, b %1$s.%2$s) RETURNS double precision
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS 'SELECT %1$s.l2_distance(%1$s.vector_from_float8(%1$s.%2$s_to_float8(a)), %1$s.vector_from_float8(%1$s.%2$s_to_float8(b)))';
      CREATE FUNCTION %1$s.inner_product(a %1$s.%2$s, b %1$s.%2$s) RETURNS double precision
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS 'SELECT %1$s.inner_product(%1$s.vector_from_float8(%1$s.%2$s_to_float8(a)), %1$s.vector_from_float8(%1$s.%2$s_to_float8(b)))';
      CREATE FUNCTION %1$s.%2$s_negative_inner_product(a %1$s.%2$s, b %1$s.%2$s) RETURNS double precision
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT -%1$s.inner_product(a, b)';
      CREATE FUNCTION %1$s.cosine_distance(a %1$s.%2$s, b %1$s.%2$s) RETURNS double precision
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS 'SELECT %1$s.cosine_distance(%1$s.vector_from_float8(%1$s.%2$s_to_float8(a)), %1$s.vector_from_float8(%1$s.%2$s_to_float8(b)))';
      CREATE FUNCTION %1$s.l1_distance(a %1$s.%2$s, b %1$s.%2$s) RETURNS double precision
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS 'SELECT %1$s.l1_distance(%1$s.vector_from_float8(%1$s.%2$s_to_float8(a)), %1$s.vector_from_float8(%1$s.%2$s_to_float8(b)))';
      CREATE FUNCTION %1$s.l2_norm(v %1$s.%2$s) RETURNS double precision
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS 'SELECT %1$s.vector_norm(%1$s.vector_from_float8(%1$s.%2$s_to_float8(v)))';
      CREATE FUNCTION %1$s.l2_normalize(v %1$s.%2$s) RETURNS %1$s.%2$s
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS 'SELECT %1$s.%2$s_from_float8(%1$s.vector_to_float8(%1$s.l2_normalize(%1$s.vector_from_float8(%1$s.%2$s_to_float8(v)))))';
      CREATE FUNCTION %1$s.%2$s_eq(a %1$s.%2$s, b %1$s.%2$s) RETURNS boolean
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT %1$s.%2$s_to_float8(a) = %1$s.%2$s_to_float8(b)';
      CREATE FUNCTION %1$s.%2$s_ne(a %1$s.%2$s, b %1$s.%2$s) RETURNS boolean
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT %1$s.%2$s_to_float8(a) <> %1$s.%2$s_to_float8(b)';
      CREATE FUNCTION %1$s.%2$s_hash(v %1$s.%2$s) RETURNS integer
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS 'SELECT pg_catalog.hashtext(%1$s.%2$s_to_float8(v)::text)';
      CREATE OPERATOR %1$s.<-> (LEFTARG = %1$s.%2$s, RIGHTARG = %1$s.%2$s,
        FUNCTION = %1$s.l2_distance, COMMUTATOR = OPERATOR(%1$s.<->));
      CREATE OPERATOR %1$s.<#> (LEFTARG = %1$s.%2$s, RIGHTARG = %1$s.%2$s,
        FUNCTION = %1$s.%2$s_negative_inner_product, COMMUTATOR = OPERATOR(%1$s.<#>));
      CREATE OPERATOR %1$s.<=> (LEFTARG = %1$s.%2$s, RIGHTARG = %1$s.%2$s,
        FUNCTION = %1$s.cosine_distance, COMMUTATOR = OPERATOR(%1$s.<=>));
      CREATE OPERATOR %1$s.<+> (LEFTARG = %1$s.%2$s, RIGHTARG = %1$s.%2$s,
        FUNCTION = %1$s.l1_distance, COMMUTATOR = OPERATOR(%1$s.<+>));
      CREATE OPERATOR %1$s.= (LEFTARG = %1$s.%2$s, RIGHTARG = %1$s.%2$s, FUNCTION = %1$s.%2$s_eq,
        COMMUTATOR = OPERATOR(%1$s.=), NEGATOR = OPERATOR(%1$s.<>), RESTRICT = eqsel, JOIN = eqjoinsel);
      CREATE OPERATOR %1$s.<> (LEFTARG = %1$s.%2$s, RIGHTARG = %1$s.%2$s, FUNCTION = %1$s.%2$s_ne,
        COMMUTATOR = OPERATOR(%1$s.<>), NEGATOR = OPERATOR(%1$s.=), RESTRICT = neqsel, JOIN = neqjoinsel);
    $f$, s, kind);
  END LOOP;
END
$kinds$;

CREATE FUNCTION @extschema@.vector_dims(v @extschema@.halfvec) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT pg_catalog.cardinality(@extschema@.halfvec_to_float8(v))
$$;
CREATE FUNCTION @extschema@.subvector(v @extschema@.halfvec, start integer, count integer) RETURNS @extschema@.halfvec
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.halfvec_from_float8((@extschema@.halfvec_to_float8(v))[start:start + count - 1])
$$;

-- Binary quantization and the bit distances pgvector adds for it.
CREATE FUNCTION @extschema@.binary_quantize(v @extschema@.vector) RETURNS bit
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT pg_catalog.string_agg(CASE WHEN x > 0 THEN '1' ELSE '0' END, '' ORDER BY i)::varbit
  FROM pg_catalog.unnest(@extschema@.vector_to_float8(v)) WITH ORDINALITY AS u(x, i)
$$;
CREATE FUNCTION @extschema@.binary_quantize(v @extschema@.halfvec) RETURNS bit
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.binary_quantize(@extschema@.vector_from_float8(@extschema@.halfvec_to_float8(v)))
$$;
CREATE FUNCTION @extschema@.hamming_distance(a bit, b bit) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT pg_catalog.bit_count(a # b)::double precision
$$;
CREATE FUNCTION @extschema@.jaccard_distance(a bit, b bit) RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT CASE WHEN pg_catalog.bit_count(a | b) = 0 THEN 0
              ELSE 1 - pg_catalog.bit_count(a & b)::double precision / pg_catalog.bit_count(a | b) END
$$;
CREATE FUNCTION @extschema@._bit_hash(v bit) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT pg_catalog.hashtext(v::text) $$;
CREATE OPERATOR @extschema@.<~> (LEFTARG = bit, RIGHTARG = bit,
  FUNCTION = @extschema@.hamming_distance, COMMUTATOR = OPERATOR(@extschema@.<~>));
CREATE OPERATOR @extschema@.<%> (LEFTARG = bit, RIGHTARG = bit,
  FUNCTION = @extschema@.jaccard_distance, COMMUTATOR = OPERATOR(@extschema@.<%>));

DO $more_classes$
DECLARE
  am text;
  ops text;
BEGIN
  FOREACH am IN ARRAY ARRAY['hnsw', 'ivfflat'] LOOP
    FOREACH ops IN ARRAY ARRAY['halfvec_l2_ops', 'halfvec_ip_ops', 'halfvec_cosine_ops', 'halfvec_l1_ops'] LOOP
      EXECUTE pg_catalog.format(
        'CREATE OPERATOR CLASS %I.%I FOR TYPE %I.halfvec USING %I AS'
        ' OPERATOR 1 %s.=, FUNCTION 1 %s.halfvec_hash(%s.halfvec)',
        '@extschema_name@', ops, '@extschema_name@', am, '@extschema@', '@extschema@', '@extschema@');
    END LOOP;
    EXECUTE pg_catalog.format(
      'CREATE OPERATOR CLASS %I.bit_hamming_ops FOR TYPE bit USING %I AS'
      ' OPERATOR 1 pg_catalog.=, FUNCTION 1 %s._bit_hash(bit)', '@extschema_name@', am, '@extschema@');
  END LOOP;
  FOREACH ops IN ARRAY ARRAY['sparsevec_l2_ops', 'sparsevec_ip_ops', 'sparsevec_cosine_ops', 'sparsevec_l1_ops'] LOOP
    EXECUTE pg_catalog.format(
      'CREATE OPERATOR CLASS %I.%I FOR TYPE %I.sparsevec USING hnsw AS'
      ' OPERATOR 1 %s.=, FUNCTION 1 %s.sparsevec_hash(%s.sparsevec)',
      '@extschema_name@', ops, '@extschema_name@', '@extschema@', '@extschema@', '@extschema@');
  END LOOP;
  EXECUTE pg_catalog.format(
    'CREATE OPERATOR CLASS %I.bit_jaccard_ops FOR TYPE bit USING hnsw AS'
    ' OPERATOR 1 pg_catalog.=, FUNCTION 1 %s._bit_hash(bit)', '@extschema_name@', '@extschema@');
END
$more_classes$;
