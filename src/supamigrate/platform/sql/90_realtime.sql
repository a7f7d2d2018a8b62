-- The publication Realtime listens to; projects add their tables to it in migrations.
CREATE PUBLICATION supabase_realtime;
ALTER PUBLICATION supabase_realtime OWNER TO postgres;
