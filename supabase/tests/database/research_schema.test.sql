-- The research schema's structure: tables, columns, keys, indexes, enums and triggers.
-- Runs with `supabase test db` and, without Docker, as a pytest item (`make test`).
begin;
select plan(41);

-- Tables and columns
select has_table('public', 'research_sessions', 'research_sessions exists');
select has_table('public', 'draft_files', 'draft_files exists');
select columns_are(
  'public', 'research_sessions',
  array[
    'id', 'user_id', 'title', 'query', 'status', 'current_stage', 'error_message', 'metadata',
    'created_at', 'updated_at', 'completed_at'
  ],
  'research_sessions has exactly its columns'
);
select columns_are(
  'public', 'draft_files',
  array['id', 'session_id', 'file_name', 'content', 'stage', 'created_at', 'updated_at'],
  'draft_files has exactly its columns'
);
select col_is_pk('public', 'research_sessions', 'id', 'research_sessions.id is the primary key');
select col_is_pk('public', 'draft_files', 'id', 'draft_files.id is the primary key');
select col_type_is('public', 'research_sessions', 'user_id', 'uuid', 'research_sessions.user_id is a uuid');
select col_not_null('public', 'research_sessions', 'user_id', 'research_sessions.user_id is not null');
select col_not_null('public', 'research_sessions', 'title', 'research_sessions.title is not null');
select col_type_is(
  'public', 'research_sessions', 'status', 'public', 'session_status',
  'research_sessions.status is a session_status'
);
select col_default_is(
  'public', 'research_sessions', 'status', 'in_progress', 'a new session is in progress'
);
select col_type_is(
  'public', 'research_sessions', 'current_stage', 'public', 'research_stage',
  'research_sessions.current_stage is a research_stage'
);
select col_default_is(
  'public', 'research_sessions', 'current_stage', '1_initial_research',
  'a new session starts at the initial research stage'
);
select col_type_is('public', 'research_sessions', 'metadata', 'jsonb', 'research_sessions.metadata is jsonb');
select col_type_is(
  'public', 'research_sessions', 'created_at', 'timestamp with time zone',
  'research_sessions.created_at is a timestamptz'
);
select col_not_null('public', 'draft_files', 'session_id', 'draft_files.session_id is not null');
select col_type_is(
  'public', 'draft_files', 'stage', 'public', 'research_stage', 'draft_files.stage is a research_stage'
);
select col_is_unique(
  'public', 'draft_files', array['session_id', 'file_name'],
  'a session holds at most one draft of a name'
);

-- Enums, labels in order
select enum_has_labels(
  'public', 'session_status', array['in_progress', 'completed', 'failed'],
  'session_status has its labels in order'
);
select enum_has_labels(
  'public', 'research_stage', array['1_initial_research', '2_planning', '3_parallel_research', '4_writing'],
  'research_stage has its labels in order'
);

-- Foreign keys: sessions belong to auth.users (never a public.users table), drafts to sessions
select fk_ok(
  'public', 'research_sessions', 'user_id', 'auth', 'users', 'id',
  'research_sessions.user_id references auth.users(id)'
);
select fk_ok(
  'public', 'draft_files', 'session_id', 'public', 'research_sessions', 'id',
  'draft_files.session_id references research_sessions(id)'
);
select is(
  (select confdeltype::text from pg_constraint
    where conrelid = 'public.research_sessions'::regclass and contype = 'f'),
  'c',
  'research_sessions.user_id is on delete cascade'
);
select is(
  (select confdeltype::text from pg_constraint
    where conrelid = 'public.draft_files'::regclass and contype = 'f'),
  'c',
  'draft_files.session_id is on delete cascade'
);

-- Indexes
select has_index(
  'public', 'research_sessions', 'idx_research_sessions_user_id', array['user_id'],
  'sessions are indexed by user'
);
select has_index(
  'public', 'research_sessions', 'idx_research_sessions_created_at', array['created_at'],
  'sessions are indexed by creation time'
);
select is(
  (select (indoption[0] & 1)::int from pg_index
    where indexrelid = 'public.idx_research_sessions_created_at'::regclass),
  1,
  'the creation-time index is descending (newest first)'
);
select has_index(
  'public', 'draft_files', 'idx_draft_files_session_id', array['session_id'],
  'drafts are indexed by session'
);

-- Checks
select throws_ok(
  $$ insert into public.research_sessions (user_id, title)
     values ('a0000000-0000-4000-8000-000000000099', 'orphan') $$,
  '23503', null,
  'a session for an unknown user is a foreign key violation'
);

-- Triggers keep updated_at current
select has_trigger(
  'public', 'research_sessions', 'update_research_sessions_updated_at', 'research_sessions has its updated_at trigger'
);
select trigger_is(
  'public', 'research_sessions', 'update_research_sessions_updated_at', 'public', 'update_updated_at_column',
  'research_sessions calls update_updated_at_column()'
);
select has_trigger(
  'public', 'draft_files', 'update_draft_files_updated_at', 'draft_files has its updated_at trigger'
);
select trigger_is(
  'public', 'draft_files', 'update_draft_files_updated_at', 'public', 'update_updated_at_column',
  'draft_files calls update_updated_at_column()'
);

-- Behaviour, on rows of this file's own (the seed is not relied on)
insert into auth.users (id, email) values
  ('a0000000-0000-4000-8000-000000000001', 'pgtap-owner@example.test'),
  ('a0000000-0000-4000-8000-000000000002', 'pgtap-other@example.test');
insert into public.research_sessions (id, user_id, title, updated_at) values
  ('b0000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-000000000001', 'Mine', now() - interval '1 day'),
  ('b0000000-0000-4000-8000-000000000002', 'a0000000-0000-4000-8000-000000000002', 'Theirs', now());
insert into public.draft_files (session_id, file_name, stage, updated_at) values
  ('b0000000-0000-4000-8000-000000000001', 'notes.md', '1_initial_research', now() - interval '1 day'),
  ('b0000000-0000-4000-8000-000000000002', 'notes.md', '2_planning', now());

select results_eq(
  $$ select status::text, current_stage::text from public.research_sessions
     where id = 'b0000000-0000-4000-8000-000000000001' $$,
  $$ values ('in_progress', '1_initial_research') $$,
  'a new session takes the default status and stage'
);
update public.research_sessions set title = 'Mine, renamed' where id = 'b0000000-0000-4000-8000-000000000001';
select is(
  (select updated_at from public.research_sessions where id = 'b0000000-0000-4000-8000-000000000001'),
  now(),
  'updating a session sets its updated_at'
);
update public.draft_files set content = 'more' where session_id = 'b0000000-0000-4000-8000-000000000001';
select is(
  (select updated_at from public.draft_files where session_id = 'b0000000-0000-4000-8000-000000000001'),
  now(),
  'updating a draft sets its updated_at'
);
select throws_ok(
  $$ insert into public.draft_files (session_id, file_name, stage)
     values ('b0000000-0000-4000-8000-000000000001', 'notes.md', '4_writing') $$,
  '23505', null,
  'a second draft with the same name in a session is refused'
);
select throws_ok(
  $$ update public.research_sessions set status = 'paused'
     where id = 'b0000000-0000-4000-8000-000000000001' $$,
  '22P02', null,
  'a status outside the enum is refused'
);
delete from auth.users where id = 'a0000000-0000-4000-8000-000000000001';
select is_empty(
  $$ select 1 from public.research_sessions where user_id = 'a0000000-0000-4000-8000-000000000001' $$,
  'deleting a user deletes their sessions'
);
select is_empty(
  $$ select 1 from public.draft_files where session_id = 'b0000000-0000-4000-8000-000000000001' $$,
  'and their sessions'' drafts'
);
select results_eq(
  $$ select count(*)::int from public.draft_files where session_id = 'b0000000-0000-4000-8000-000000000002' $$,
  $$ values (1) $$,
  'another user''s sessions and drafts stay'
);

select * from finish();
rollback;
