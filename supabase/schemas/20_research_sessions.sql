-- Declared schema (issue 18): research sessions, their indexes, trigger and policies: a user sees and
-- changes only their own sessions.
-- `supamigrate diff -f NAME` writes the migration from supabase/migrations to this state.

create table public.research_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  title text not null,
  query text not null default '',
  status public.session_status not null default 'in_progress',
  current_stage public.research_stage not null default '1_initial_research',
  error_message text,
  metadata jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  completed_at timestamptz,
  constraint research_sessions_title_length check (char_length(title) between 1 and 500),
  constraint research_sessions_completed_at_status check (
    completed_at is null or status <> 'in_progress'
  )
);

comment on table public.research_sessions is 'A research run started by a user.';

create index idx_research_sessions_user_id on public.research_sessions (user_id);
create index idx_research_sessions_created_at on public.research_sessions (created_at desc);

create trigger update_research_sessions_updated_at
before update on public.research_sessions
for each row execute function public.update_updated_at_column();

alter table public.research_sessions enable row level security;

create policy "Users can view their own research sessions"
on public.research_sessions
for select
to authenticated
using (user_id = (select auth.uid()));

-- WITH CHECK: nobody creates a session for someone else.
create policy "Users can create their own research sessions"
on public.research_sessions
for insert
to authenticated
with check (user_id = (select auth.uid()));

-- WITH CHECK: nobody hands a session over to another user.
create policy "Users can update their own research sessions"
on public.research_sessions
for update
to authenticated
using (user_id = (select auth.uid()))
with check (user_id = (select auth.uid()));

create policy "Users can delete their own research sessions"
on public.research_sessions
for delete
to authenticated
using (user_id = (select auth.uid()));
