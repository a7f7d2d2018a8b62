-- Stand-in for pg_graphql, which every `supabase db pull` creates: the graphql schema and
-- graphql.resolve, which says GraphQL is not served here rather than answering wrongly.
CREATE SCHEMA IF NOT EXISTS graphql;

CREATE FUNCTION graphql.resolve(
  query text,
  variables jsonb DEFAULT '{}'::jsonb,
  "operationName" text DEFAULT NULL,
  extensions jsonb DEFAULT NULL
) RETURNS jsonb LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  RAISE EXCEPTION 'pg_graphql is a supamigrate stand-in here: GraphQL queries are not served'
    USING ERRCODE = 'feature_not_supported';
END
$$;

GRANT USAGE ON SCHEMA graphql TO postgres, anon, authenticated, service_role;
GRANT EXECUTE ON FUNCTION graphql.resolve(text, jsonb, text, jsonb) TO postgres, anon, authenticated, service_role;
