-- Row-level security on research sessions and drafts, proven as each kind of API caller
-- (SET LOCAL ROLE plus request.jwt.claims, as PostgREST runs a request).
begin;
select plan(24);

-- Policies: RLS on, one policy per command for `authenticated`, none for anon
select ok(
  (select relrowsecurity from pg_class where oid = 'public.research_sessions'::regclass),
  'research_sessions has row level security enabled'
);
select ok(
  (select relrowsecurity from pg_class where oid = 'public.draft_files'::regclass),
  'draft_files has row level security enabled'
);
select results_eq(
  $$ select cmd::text from pg_policies
     where schemaname = 'public' and tablename = 'research_sessions' and 'authenticated' = any(roles)
     order by cmd $$,
  $$ values ('DELETE'), ('INSERT'), ('SELECT'), ('UPDATE') $$,
  'research_sessions has one policy per command for authenticated'
);
select results_eq(
  $$ select cmd::text from pg_policies
     where schemaname = 'public' and tablename = 'draft_files' and 'authenticated' = any(roles)
     order by cmd $$,
  $$ values ('DELETE'), ('INSERT'), ('SELECT'), ('UPDATE') $$,
  'draft_files has one policy per command for authenticated'
);
select is_empty(
  $$ select policyname from pg_policies
     where schemaname = 'public' and tablename in ('research_sessions', 'draft_files')
       and ('anon' = any(roles) or 'public' = any(roles)) $$,
  'no policy lets anon in'
);

insert into auth.users (id, email) values
  ('e0000000-0000-4000-8000-000000000001', 'rls-ada@example.test'),
  ('e0000000-0000-4000-8000-000000000002', 'rls-alan@example.test');
insert into public.research_sessions (id, user_id, title) values
  ('f0000000-0000-4000-8000-000000000001', 'e0000000-0000-4000-8000-000000000001', 'Ada''s'),
  ('f0000000-0000-4000-8000-000000000002', 'e0000000-0000-4000-8000-000000000002', 'Alan''s');
insert into public.draft_files (id, session_id, file_name, stage) values
  ('f1000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000001', 'a.md', '2_planning'),
  ('f1000000-0000-4000-8000-000000000002', 'f0000000-0000-4000-8000-000000000002', 'b.md', '2_planning');

-- Ada, signed in
set local role authenticated;
select set_config(
  'request.jwt.claims',
  '{"sub": "e0000000-0000-4000-8000-000000000001", "role": "authenticated", "aud": "authenticated"}',
  true
);
select results_eq(
  $$ select title from public.research_sessions
     where id in ('f0000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000002') $$,
  $$ values ('Ada''s') $$,
  'a user sees their own session and not another user''s'
);
select results_eq(
  $$ select file_name from public.draft_files
     where id in ('f1000000-0000-4000-8000-000000000001', 'f1000000-0000-4000-8000-000000000002') $$,
  $$ values ('a.md') $$,
  'a user sees the drafts of their own sessions only'
);
select is_empty(
  $$ update public.research_sessions set title = 'taken' where id = 'f0000000-0000-4000-8000-000000000002'
     returning id $$,
  'updating another user''s session changes no row'
);
select is_empty(
  $$ delete from public.research_sessions where id = 'f0000000-0000-4000-8000-000000000002' returning id $$,
  'deleting another user''s session removes no row'
);
select is_empty(
  $$ update public.draft_files set content = 'taken' where id = 'f1000000-0000-4000-8000-000000000002'
     returning id $$,
  'updating another user''s draft changes no row'
);
select is_empty(
  $$ delete from public.draft_files where id = 'f1000000-0000-4000-8000-000000000002' returning id $$,
  'deleting another user''s draft removes no row'
);
select throws_ok(
  $$ insert into public.research_sessions (user_id, title)
     values ('e0000000-0000-4000-8000-000000000002', 'forged') $$,
  '42501', null,
  'a user cannot create a session for another user'
);
select throws_ok(
  $$ update public.research_sessions set user_id = 'e0000000-0000-4000-8000-000000000002'
     where id = 'f0000000-0000-4000-8000-000000000001' $$,
  '42501', null,
  'a user cannot hand their session to another user'
);
select throws_ok(
  $$ insert into public.draft_files (session_id, file_name, stage)
     values ('f0000000-0000-4000-8000-000000000002', 'planted.md', '2_planning') $$,
  '42501', null,
  'a user cannot write a draft into another user''s session'
);
select throws_ok(
  $$ update public.draft_files set session_id = 'f0000000-0000-4000-8000-000000000002'
     where id = 'f1000000-0000-4000-8000-000000000001' $$,
  '42501', null,
  'a user cannot move a draft into another user''s session'
);
select lives_ok(
  $$ update public.research_sessions set title = 'Ada''s, renamed'
     where id = 'f0000000-0000-4000-8000-000000000001' $$,
  'a user updates their own session'
);

-- The anon key: no rows, no writes
reset role;
set local role anon;
select set_config('request.jwt.claims', '{"role": "anon"}', true);
select is(auth.uid(), null, 'auth.uid() is NULL for anon');
select is_empty($$ select id from public.research_sessions $$, 'anon sees no session');
select is_empty($$ select id from public.draft_files $$, 'anon sees no draft');
select throws_ok(
  $$ insert into public.research_sessions (user_id, title)
     values ('e0000000-0000-4000-8000-000000000001', 'anon') $$,
  '42501', null,
  'anon cannot create a session'
);
select is_empty(
  $$ delete from public.research_sessions where id = 'f0000000-0000-4000-8000-000000000001' returning id $$,
  'anon deletes nothing'
);

-- The service role bypasses RLS
reset role;
set local role service_role;
select set_config('request.jwt.claims', '{"role": "service_role"}', true);
select results_eq(
  $$ select count(*)::int from public.research_sessions
     where id in ('f0000000-0000-4000-8000-000000000001', 'f0000000-0000-4000-8000-000000000002') $$,
  $$ values (2) $$,
  'service_role sees every user''s sessions'
);
select results_eq(
  $$ select count(*)::int from public.draft_files
     where id in ('f1000000-0000-4000-8000-000000000001', 'f1000000-0000-4000-8000-000000000002') $$,
  $$ values (2) $$,
  'service_role sees every user''s drafts'
);
reset role;
select results_eq(
  $$ select title from public.research_sessions where id = 'f0000000-0000-4000-8000-000000000002' $$,
  $$ values ('Alan''s') $$,
  'after all that, the other user''s session is untouched'
);

select * from finish();
rollback;
