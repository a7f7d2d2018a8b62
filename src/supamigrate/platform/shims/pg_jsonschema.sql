-- Stand-in for pg_jsonschema: json_matches_schema, jsonb_matches_schema, jsonschema_is_valid and
-- jsonschema_validation_errors in PL/pgSQL. It checks the JSON Schema keywords apps write (type,
-- enum, const, properties, required, additionalProperties, patternProperties, items, prefixItems,
-- lengths, bounds, pattern, uniqueItems, contains, allOf/anyOf/oneOf/not, if/then/else and local
-- $ref); like the real validator it treats format as an annotation and ignores unknown keywords.
-- Error messages are its own, not pg_jsonschema's.
CREATE FUNCTION @extschema@._jsonschema_errors(root jsonb, schema jsonb, instance jsonb, path text)
RETURNS text[] LANGUAGE plpgsql IMMUTABLE SET search_path = '' AS $$
DECLARE
  errors text[] := '{}';
  kind text := pg_catalog.jsonb_typeof(instance);
  types text[];
  key text;
  value jsonb;
  sub jsonb;
  ref text;
  n integer;
  hits integer;
  num numeric;
  str text;
BEGIN
  IF schema IS NULL OR schema = 'true'::jsonb OR pg_catalog.jsonb_typeof(schema) <> 'object' THEN
    IF schema = 'false'::jsonb THEN
      RETURN ARRAY[pg_catalog.format('%s: no value is allowed here', coalesce(nullif(path, ''), '/'))];
    END IF;
    RETURN errors;
  END IF;
  path := coalesce(nullif(path, ''), '/');

  IF schema ? '$ref' THEN
    ref := schema ->> '$ref';
    IF ref = '#' THEN
      sub := root;
    ELSIF ref LIKE '#/%' THEN
      sub := root #> ARRAY(SELECT pg_catalog.replace(pg_catalog.replace(p, '~1', '/'), '~0', '~')
                           FROM pg_catalog.unnest(pg_catalog.string_to_array(pg_catalog.substr(ref, 3), '/')) p);
    ELSE
      RAISE EXCEPTION 'supamigrate pg_jsonschema stand-in: only local $ref (#/...) is supported, not %', ref
        USING ERRCODE = 'feature_not_supported';
    END IF;
    errors := errors || @extschema@._jsonschema_errors(root, sub, instance, path);
  END IF;

  IF schema ? 'type' THEN
    types := CASE pg_catalog.jsonb_typeof(schema -> 'type')
               WHEN 'array' THEN ARRAY(SELECT pg_catalog.jsonb_array_elements_text(schema -> 'type'))
               ELSE ARRAY[schema ->> 'type'] END;
    IF NOT (kind = ANY(types)
            OR (kind = 'number' AND 'integer' = ANY(types) AND (instance #>> '{}')::numeric % 1 = 0)) THEN
      errors := errors || pg_catalog.format('%s: %s is not of type %s', path, instance, pg_catalog.array_to_string(types, ' or '));
    END IF;
  END IF;

  IF schema ? 'enum' AND NOT EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(schema -> 'enum') e WHERE e = instance) THEN
    errors := errors || pg_catalog.format('%s: %s is not one of %s', path, instance, schema -> 'enum');
  END IF;
  IF schema ? 'const' AND schema -> 'const' <> instance THEN
    errors := errors || pg_catalog.format('%s: %s is not %s', path, instance, schema -> 'const');
  END IF;

  IF kind = 'string' THEN
    str := instance #>> '{}';
    IF (schema ->> 'minLength')::numeric > pg_catalog.char_length(str) THEN
      errors := errors || pg_catalog.format('%s: %s is shorter than %s characters', path, instance, schema ->> 'minLength');
    END IF;
    IF (schema ->> 'maxLength')::numeric < pg_catalog.char_length(str) THEN
      errors := errors || pg_catalog.format('%s: %s is longer than %s characters', path, instance, schema ->> 'maxLength');
    END IF;
    IF schema ? 'pattern' AND str !~ (schema ->> 'pattern') THEN
      errors := errors || pg_catalog.format('%s: %s does not match %s', path, instance, schema -> 'pattern');
    END IF;
  END IF;

  IF kind = 'number' THEN
    num := (instance #>> '{}')::numeric;
    IF num < (schema ->> 'minimum')::numeric
       OR (pg_catalog.jsonb_typeof(schema -> 'exclusiveMinimum') = 'boolean' AND (schema ->> 'exclusiveMinimum')::boolean
           AND num = (schema ->> 'minimum')::numeric) THEN
      errors := errors || pg_catalog.format('%s: %s is less than the minimum of %s', path, instance, schema ->> 'minimum');
    END IF;
    IF num > (schema ->> 'maximum')::numeric
       OR (pg_catalog.jsonb_typeof(schema -> 'exclusiveMaximum') = 'boolean' AND (schema ->> 'exclusiveMaximum')::boolean
           AND num = (schema ->> 'maximum')::numeric) THEN
      errors := errors || pg_catalog.format('%s: %s is greater than the maximum of %s', path, instance, schema ->> 'maximum');
    END IF;
    IF pg_catalog.jsonb_typeof(schema -> 'exclusiveMinimum') = 'number' AND num <= (schema ->> 'exclusiveMinimum')::numeric THEN
      errors := errors || pg_catalog.format('%s: %s is not greater than %s', path, instance, schema ->> 'exclusiveMinimum');
    END IF;
    IF pg_catalog.jsonb_typeof(schema -> 'exclusiveMaximum') = 'number' AND num >= (schema ->> 'exclusiveMaximum')::numeric THEN
      errors := errors || pg_catalog.format('%s: %s is not less than %s', path, instance, schema ->> 'exclusiveMaximum');
    END IF;
    IF schema ? 'multipleOf' AND num % (schema ->> 'multipleOf')::numeric <> 0 THEN
      errors := errors || pg_catalog.format('%s: %s is not a multiple of %s', path, instance, schema ->> 'multipleOf');
    END IF;
  END IF;

  IF kind = 'object' THEN
    FOR key IN SELECT pg_catalog.jsonb_array_elements_text(coalesce(schema -> 'required', '[]')) LOOP
      IF NOT instance ? key THEN
        errors := errors || pg_catalog.format('%s: %s is a required property', path, pg_catalog.to_jsonb(key));
      END IF;
    END LOOP;
    FOR key, value IN SELECT * FROM pg_catalog.jsonb_each(instance) LOOP
      hits := 0;
      IF schema -> 'properties' ? key THEN
        hits := 1;
        errors := errors || @extschema@._jsonschema_errors(root, schema -> 'properties' -> key, value,
                                                          pg_catalog.rtrim(path, '/') || '/' || key);
      END IF;
      FOR ref, sub IN SELECT * FROM pg_catalog.jsonb_each(coalesce(schema -> 'patternProperties', '{}')) LOOP
        IF key ~ ref THEN
          hits := hits + 1;
          errors := errors || @extschema@._jsonschema_errors(root, sub, value, pg_catalog.rtrim(path, '/') || '/' || key);
        END IF;
      END LOOP;
      IF hits = 0 AND schema ? 'additionalProperties' THEN
        IF schema -> 'additionalProperties' = 'false'::jsonb THEN
          errors := errors || pg_catalog.format('%s: additional property %s is not allowed', path, pg_catalog.to_jsonb(key));
        ELSE
          errors := errors || @extschema@._jsonschema_errors(root, schema -> 'additionalProperties', value,
                                                            pg_catalog.rtrim(path, '/') || '/' || key);
        END IF;
      END IF;
      IF schema ? 'propertyNames' THEN
        errors := errors || @extschema@._jsonschema_errors(root, schema -> 'propertyNames', pg_catalog.to_jsonb(key), path);
      END IF;
      IF pg_catalog.jsonb_typeof(coalesce(schema -> 'dependentRequired', schema -> 'dependencies') -> key) = 'array' THEN
        FOR ref IN SELECT pg_catalog.jsonb_array_elements_text(coalesce(schema -> 'dependentRequired', schema -> 'dependencies') -> key) LOOP
          IF NOT instance ? ref THEN
            errors := errors || pg_catalog.format('%s: %s is required when %s is present', path,
                                                  pg_catalog.to_jsonb(ref), pg_catalog.to_jsonb(key));
          END IF;
        END LOOP;
      END IF;
    END LOOP;
    n := (SELECT pg_catalog.count(*) FROM pg_catalog.jsonb_object_keys(instance));
    IF n < (schema ->> 'minProperties')::numeric OR n > (schema ->> 'maxProperties')::numeric THEN
      errors := errors || pg_catalog.format('%s: %s properties is outside the allowed number', path, n);
    END IF;
  END IF;

  IF kind = 'array' THEN
    n := pg_catalog.jsonb_array_length(instance);
    IF n < (schema ->> 'minItems')::numeric THEN
      errors := errors || pg_catalog.format('%s: %s has fewer than %s items', path, instance, schema ->> 'minItems');
    END IF;
    IF n > (schema ->> 'maxItems')::numeric THEN
      errors := errors || pg_catalog.format('%s: %s has more than %s items', path, instance, schema ->> 'maxItems');
    END IF;
    IF (schema ->> 'uniqueItems')::boolean
       AND (SELECT pg_catalog.count(DISTINCT e) FROM pg_catalog.jsonb_array_elements(instance) e) < n THEN
      errors := errors || pg_catalog.format('%s: %s has non-unique elements', path, instance);
    END IF;
    -- Tuple forms: prefixItems (2020-12) or an array under items (draft 7), then the rest.
    sub := coalesce(schema -> 'prefixItems', CASE WHEN pg_catalog.jsonb_typeof(schema -> 'items') = 'array' THEN schema -> 'items' END);
    FOR i IN 0 .. n - 1 LOOP
      IF sub IS NOT NULL AND i < pg_catalog.jsonb_array_length(sub) THEN
        errors := errors || @extschema@._jsonschema_errors(root, sub -> i, instance -> i, pg_catalog.rtrim(path, '/') || '/' || i);
      ELSIF sub IS NOT NULL AND pg_catalog.jsonb_typeof(schema -> 'items') = 'array' THEN
        IF schema ? 'additionalItems' THEN
          errors := errors || @extschema@._jsonschema_errors(root, schema -> 'additionalItems', instance -> i, pg_catalog.rtrim(path, '/') || '/' || i);
        END IF;
      ELSIF schema ? 'items' THEN
        errors := errors || @extschema@._jsonschema_errors(root, schema -> 'items', instance -> i, pg_catalog.rtrim(path, '/') || '/' || i);
      END IF;
    END LOOP;
    IF schema ? 'contains' THEN
      hits := (SELECT pg_catalog.count(*) FROM pg_catalog.jsonb_array_elements(instance) e
                WHERE pg_catalog.cardinality(@extschema@._jsonschema_errors(root, schema -> 'contains', e, path)) = 0);
      IF hits < coalesce((schema ->> 'minContains')::numeric, 1) OR hits > (schema ->> 'maxContains')::numeric THEN
        errors := errors || pg_catalog.format('%s: %s does not contain the items required', path, instance);
      END IF;
    END IF;
  END IF;

  FOR sub IN SELECT pg_catalog.jsonb_array_elements(coalesce(schema -> 'allOf', '[]')) LOOP
    errors := errors || @extschema@._jsonschema_errors(root, sub, instance, path);
  END LOOP;
  IF schema ? 'anyOf' AND NOT EXISTS (
       SELECT FROM pg_catalog.jsonb_array_elements(schema -> 'anyOf') s
        WHERE pg_catalog.cardinality(@extschema@._jsonschema_errors(root, s, instance, path)) = 0) THEN
    errors := errors || pg_catalog.format('%s: %s is not valid under any of the given schemas', path, instance);
  END IF;
  IF schema ? 'oneOf' THEN
    hits := (SELECT pg_catalog.count(*) FROM pg_catalog.jsonb_array_elements(schema -> 'oneOf') s
              WHERE pg_catalog.cardinality(@extschema@._jsonschema_errors(root, s, instance, path)) = 0);
    IF hits <> 1 THEN
      errors := errors || pg_catalog.format('%s: %s is valid under %s of the oneOf schemas, not exactly one', path, instance, hits);
    END IF;
  END IF;
  IF schema ? 'not' AND pg_catalog.cardinality(@extschema@._jsonschema_errors(root, schema -> 'not', instance, path)) = 0 THEN
    errors := errors || pg_catalog.format('%s: %s should not be valid under %s', path, instance, schema -> 'not');
  END IF;
  IF schema ? 'if' THEN
    IF pg_catalog.cardinality(@extschema@._jsonschema_errors(root, schema -> 'if', instance, path)) = 0 THEN
      errors := errors || @extschema@._jsonschema_errors(root, schema -> 'then', instance, path);
    ELSE
      errors := errors || @extschema@._jsonschema_errors(root, schema -> 'else', instance, path);
    END IF;
  END IF;
  RETURN errors;
END
$$;

-- A schema is valid when it is an object or a boolean and its keywords have the right shapes.
CREATE FUNCTION @extschema@._jsonschema_check(schema jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE SET search_path = '' AS $$
DECLARE
  sub jsonb;
BEGIN
  IF pg_catalog.jsonb_typeof(schema) = 'boolean' THEN RETURN true; END IF;
  IF pg_catalog.jsonb_typeof(schema) <> 'object' THEN RETURN false; END IF;
  IF schema ? 'type' AND EXISTS (
       SELECT FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(schema -> 'type') = 'array'
                                                        THEN schema -> 'type' ELSE pg_catalog.jsonb_build_array(schema -> 'type') END) t
        WHERE t NOT IN ('"string"', '"number"', '"integer"', '"boolean"', '"object"', '"array"', '"null"')) THEN
    RETURN false;
  END IF;
  IF schema ? 'required' AND (pg_catalog.jsonb_typeof(schema -> 'required') <> 'array'
     OR EXISTS (SELECT FROM pg_catalog.jsonb_array_elements(schema -> 'required') r WHERE pg_catalog.jsonb_typeof(r) <> 'string')) THEN
    RETURN false;
  END IF;
  IF schema ? 'enum' AND pg_catalog.jsonb_typeof(schema -> 'enum') <> 'array' THEN RETURN false; END IF;
  IF EXISTS (SELECT FROM pg_catalog.jsonb_each(schema) k
              WHERE k.key IN ('minLength', 'maxLength', 'minItems', 'maxItems', 'minProperties', 'maxProperties',
                              'minimum', 'maximum', 'multipleOf')
                AND pg_catalog.jsonb_typeof(k.value) <> 'number') THEN
    RETURN false;
  END IF;
  IF schema ? 'pattern' THEN
    BEGIN
      PERFORM '' ~ (schema ->> 'pattern');
    EXCEPTION WHEN invalid_regular_expression THEN
      RETURN false;
    END;
  END IF;
  FOR sub IN
    SELECT v FROM pg_catalog.jsonb_each(coalesce(schema -> 'properties', '{}')) p(k, v)
    UNION ALL SELECT v FROM pg_catalog.jsonb_each(coalesce(schema -> 'patternProperties', '{}')) p(k, v)
    UNION ALL SELECT e FROM pg_catalog.jsonb_array_elements(
      CASE WHEN pg_catalog.jsonb_typeof(schema -> 'items') = 'array' THEN schema -> 'items' ELSE '[]' END) e
    UNION ALL SELECT schema -> k FROM pg_catalog.unnest(ARRAY['additionalProperties', 'not', 'if', 'then', 'else',
                                                             'contains', 'propertyNames']) k WHERE schema ? k
    UNION ALL SELECT schema -> 'items' WHERE pg_catalog.jsonb_typeof(schema -> 'items') IN ('object', 'boolean')
    UNION ALL SELECT e FROM pg_catalog.unnest(ARRAY['allOf', 'anyOf', 'oneOf', 'prefixItems']) k,
                            pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(schema -> k) = 'array'
                                                                 THEN schema -> k ELSE '[]' END) e
  LOOP
    IF NOT @extschema@._jsonschema_check(sub) THEN RETURN false; END IF;
  END LOOP;
  RETURN true;
END
$$;

CREATE FUNCTION @extschema@.jsonschema_is_valid(schema json) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@._jsonschema_check(schema::jsonb)
$$;

CREATE FUNCTION @extschema@.jsonschema_validation_errors(schema json, instance json) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@._jsonschema_errors(schema::jsonb, schema::jsonb, instance::jsonb, '')
$$;

CREATE FUNCTION @extschema@.jsonb_matches_schema(schema json, instance jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT pg_catalog.cardinality(@extschema@._jsonschema_errors(schema::jsonb, schema::jsonb, instance, '')) = 0
$$;

CREATE FUNCTION @extschema@.json_matches_schema(schema json, instance json) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT @extschema@.jsonb_matches_schema(schema, instance::jsonb)
$$;
