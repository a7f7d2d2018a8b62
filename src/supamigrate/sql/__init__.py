"""The SQL layer: files read as PostgreSQL reads them, split as the Supabase CLI splits them, each
statement parsed (once, lazily) by PostgreSQL's own parser, and the schema model built from them.
Nothing here runs SQL."""
