-- Acting as API callers the way PostgREST does: SET LOCAL ROLE plus request.jwt.claims.
-- What holds for every caller whatever the row-level security policies are: who auth.uid()
-- says the caller is, and that a signed-in user can work with their own research.
begin;
select plan(12);

insert into auth.users (id, email) values
  ('c0000000-0000-4000-8000-000000000001', 'pgtap-ada@example.test'),
  ('c0000000-0000-4000-8000-000000000002', 'pgtap-alan@example.test');
insert into auth.users (id, is_anonymous) values ('c0000000-0000-4000-8000-000000000003', true);
insert into public.research_sessions (id, user_id, title) values
  ('d0000000-0000-4000-8000-000000000001', 'c0000000-0000-4000-8000-000000000001', 'Ada''s research'),
  ('d0000000-0000-4000-8000-000000000002', 'c0000000-0000-4000-8000-000000000002', 'Alan''s research');

-- Ada, signed in
set local role authenticated;
select set_config(
  'request.jwt.claims',
  '{"sub": "c0000000-0000-4000-8000-000000000001", "role": "authenticated", "aud": "authenticated",
    "email": "pgtap-ada@example.test", "is_anonymous": false}',
  true
);
select is(current_user::text, 'authenticated', 'statements run as the authenticated role');
select is(auth.uid(), 'c0000000-0000-4000-8000-000000000001'::uuid, 'auth.uid() is the JWT''s sub');
select is(auth.role(), 'authenticated', 'auth.role() is the JWT''s role');
select results_eq(
  $$ select title from public.research_sessions where user_id = auth.uid() $$,
  $$ values ('Ada''s research') $$,
  'a user reads their own sessions'
);
select lives_ok(
  $$ insert into public.research_sessions (id, user_id, title)
     values ('d0000000-0000-4000-8000-000000000003', auth.uid(), 'Ada''s second') $$,
  'a user starts a session of their own'
);
select lives_ok(
  $$ insert into public.draft_files (session_id, file_name, stage)
     values ('d0000000-0000-4000-8000-000000000003', 'plan.md', '2_planning') $$,
  'a user writes a draft into their own session'
);
select results_eq(
  $$ update public.research_sessions set status = 'completed', completed_at = now()
     where id = 'd0000000-0000-4000-8000-000000000003' returning status::text $$,
  $$ values ('completed') $$,
  'a user completes their own session'
);
select results_eq(
  $$ delete from public.research_sessions where id = 'd0000000-0000-4000-8000-000000000003' returning title $$,
  $$ values ('Ada''s second') $$,
  'a user deletes their own session'
);

-- An anonymous sign-in user is `authenticated` too, with is_anonymous in the JWT
select set_config(
  'request.jwt.claims',
  '{"sub": "c0000000-0000-4000-8000-000000000003", "role": "authenticated", "is_anonymous": true}',
  true
);
select is(auth.uid(), 'c0000000-0000-4000-8000-000000000003'::uuid, 'an anonymous sign-in user has an id');
select is((auth.jwt() ->> 'is_anonymous')::boolean, true, 'and the JWT says is_anonymous');

-- The anon key: no user
reset role;
set local role anon;
select set_config('request.jwt.claims', '{"role": "anon"}', true);
select is(auth.uid(), null, 'auth.uid() is NULL for anon');

-- The service role (server-side key)
reset role;
set local role service_role;
select set_config('request.jwt.claims', '{"role": "service_role"}', true);
select results_eq(
  $$ select count(*)::int from public.research_sessions
     where id in ('d0000000-0000-4000-8000-000000000001', 'd0000000-0000-4000-8000-000000000002') $$,
  $$ values (2) $$,
  'service_role sees every user''s sessions'
);

select * from finish();
rollback;
