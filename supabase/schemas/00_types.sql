-- Declared schema (issue 18): the enums sessions and drafts use.
-- `supamigrate diff -f NAME` writes the migration from supabase/migrations to this state.

create type public.session_status as enum ('in_progress', 'completed', 'failed');

create type public.research_stage as enum (
  '1_initial_research',
  '2_planning',
  '3_parallel_research',
  '4_writing'
);
