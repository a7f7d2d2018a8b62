-- Declared schema (issue 18): draft files of a session, their index, trigger and policies: drafts belong
-- to whoever owns their session.
-- `supamigrate diff -f NAME` writes the migration from supabase/migrations to this state.

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

create index idx_draft_files_session_id on public.draft_files (session_id);

create trigger update_draft_files_updated_at
before update on public.draft_files
for each row execute function public.update_updated_at_column();

alter table public.draft_files enable row level security;

-- Drafts belong to whoever owns their session. The sessions subquery is itself filtered by the
-- policies above; `session_id in (...)` lets the planner read the caller's sessions once.
create policy "Users can view drafts of their own sessions"
on public.draft_files
for select
to authenticated
using (
  session_id in (
    select s.id from public.research_sessions as s
    where s.user_id = (select auth.uid())
  )
);

create policy "Users can add drafts to their own sessions"
on public.draft_files
for insert
to authenticated
with check (
  session_id in (
    select s.id from public.research_sessions as s
    where s.user_id = (select auth.uid())
  )
);

-- WITH CHECK: a draft moves only between sessions of the same owner.
create policy "Users can update drafts of their own sessions"
on public.draft_files
for update
to authenticated
using (
  session_id in (
    select s.id from public.research_sessions as s
    where s.user_id = (select auth.uid())
  )
)
with check (
  session_id in (
    select s.id from public.research_sessions as s
    where s.user_id = (select auth.uid())
  )
);

create policy "Users can delete drafts of their own sessions"
on public.draft_files
for delete
to authenticated
using (
  session_id in (
    select s.id from public.research_sessions as s
    where s.user_id = (select auth.uid())
  )
);
