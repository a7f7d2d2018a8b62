-- Research sessions: one row per research run a user starts, and the draft files it writes.
-- Owned by auth.users directly (never a public.users table): deleting an account deletes its
-- sessions, and deleting a session deletes its drafts.

create type public.session_status as enum ('in_progress', 'completed', 'failed');

create type public.research_stage as enum (
  '1_initial_research',
  '2_planning',
  '3_parallel_research',
  '4_writing'
);

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

create table public.draft_files (
  id uuid primary key default gen_random_uuid(),
  session_id uuid not null references public.research_sessions (id) on delete cascade,
  file_name text not null,
  content text not null default '',
  stage public.research_stage not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint draft_files_session_file_name_key unique (session_id, file_name),
  constraint draft_files_file_name_valid check (
    char_length(file_name) between 1 and 255 and file_name !~ '[/\\]'
  )
);

comment on table public.draft_files is 'A draft file written by a research session at one stage.';

create index idx_research_sessions_user_id on public.research_sessions (user_id);
create index idx_research_sessions_created_at on public.research_sessions (created_at desc);
create index idx_draft_files_session_id on public.draft_files (session_id);

create function public.update_updated_at_column()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at = now();
  return new;
end;
$$;

create trigger update_research_sessions_updated_at
before update on public.research_sessions
for each row execute function public.update_updated_at_column();

create trigger update_draft_files_updated_at
before update on public.draft_files
for each row execute function public.update_updated_at_column();
