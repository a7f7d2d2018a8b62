"""The SQL layer: files read as PostgreSQL reads them, split as the Supabase CLI splits them, and
each statement parsed (once, lazily) by PostgreSQL's own parser. Nothing here runs SQL."""
