-- Row level security: a user sees and changes only their own research sessions and the draft
-- files of those sessions.
--
-- Callers come through the Data API as one of three roles. `authenticated` is every signed-in
-- user, anonymous sign-ins included (they own their research like anyone else); it gets one
-- policy per command. `anon` (no session, just the anon key) gets no policy, so it sees nothing
-- and can change nothing. `service_role` has BYPASSRLS and is not restricted here.
--
-- Table privileges come from the platform's default privileges in `public` (all three roles get
-- them on tables `postgres` creates), so a refused request is refused by these policies, not by a
-- missing grant.
--
-- auth.uid() is wrapped in a scalar subquery so PostgreSQL evaluates it once per statement (an
-- initplan) instead of once per row, as the Supabase advisor recommends.
--
-- Every column the policies filter on is the leading column of an index made by the schema
-- migration: research_sessions.user_id (idx_research_sessions_user_id), research_sessions.id
-- (primary key) and draft_files.session_id (idx_draft_files_session_id).

alter table public.research_sessions enable row level security;
alter table public.draft_files enable row level security;

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
