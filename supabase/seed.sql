-- Local seed data: three users stored the way Supabase Auth stores them (auth.users plus an
-- email identity each), with research sessions and drafts. Password for all: password123.

insert into auth.users (
  instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
  raw_app_meta_data, raw_user_meta_data, created_at, updated_at, last_sign_in_at,
  confirmation_token, recovery_token, email_change_token_new, email_change
) values
  (
    '00000000-0000-0000-0000-000000000000', '6f1d0c3e-2a4b-4c1e-9f6a-0d6b1e2f3a01',
    'authenticated', 'authenticated', 'ada@example.com',
    extensions.crypt('password123', extensions.gen_salt('bf')), now(),
    '{"provider": "email", "providers": ["email"]}', '{"full_name": "Ada Lovelace"}',
    now() - interval '30 days', now() - interval '1 day', now() - interval '1 day', '', '', '', ''
  ),
  (
    '00000000-0000-0000-0000-000000000000', '6f1d0c3e-2a4b-4c1e-9f6a-0d6b1e2f3a02',
    'authenticated', 'authenticated', 'grace@example.com',
    extensions.crypt('password123', extensions.gen_salt('bf')), now(),
    '{"provider": "email", "providers": ["email"]}', '{"full_name": "Grace Hopper"}',
    now() - interval '20 days', now() - interval '2 days', now() - interval '2 days', '', '', '', ''
  ),
  (
    '00000000-0000-0000-0000-000000000000', '6f1d0c3e-2a4b-4c1e-9f6a-0d6b1e2f3a03',
    'authenticated', 'authenticated', 'alan@example.com',
    extensions.crypt('password123', extensions.gen_salt('bf')), now(),
    '{"provider": "email", "providers": ["email"]}', '{"full_name": "Alan Turing"}',
    now() - interval '10 days', now() - interval '3 hours', now() - interval '3 hours', '', '', '', ''
  );

insert into auth.identities (
  provider_id, user_id, identity_data, provider, last_sign_in_at, created_at, updated_at
)
select
  u.id::text,
  u.id,
  jsonb_build_object(
    'sub', u.id::text, 'email', u.email, 'email_verified', true, 'phone_verified', false
  ),
  'email',
  u.last_sign_in_at,
  u.created_at,
  u.updated_at
from auth.users as u
where u.email in ('ada@example.com', 'grace@example.com', 'alan@example.com');

insert into public.research_sessions (
  id, user_id, title, query, status, current_stage, created_at, completed_at
) values
  (
    '9b2f6d4a-1c3e-4f5a-8b7c-1a2b3c4d5e01', '6f1d0c3e-2a4b-4c1e-9f6a-0d6b1e2f3a01',
    'Analytical engines', 'History of programmable computation before 1900',
    'completed', '4_writing', now() - interval '7 days', now() - interval '6 days'
  ),
  (
    '9b2f6d4a-1c3e-4f5a-8b7c-1a2b3c4d5e02', '6f1d0c3e-2a4b-4c1e-9f6a-0d6b1e2f3a01',
    'Bernoulli numbers', 'Algorithms for Bernoulli numbers', 'in_progress', '2_planning',
    now() - interval '1 day', null
  ),
  (
    '9b2f6d4a-1c3e-4f5a-8b7c-1a2b3c4d5e03', '6f1d0c3e-2a4b-4c1e-9f6a-0d6b1e2f3a02',
    'Compilers', 'The first compilers and their users', 'in_progress', '3_parallel_research',
    now() - interval '2 days', null
  ),
  (
    '9b2f6d4a-1c3e-4f5a-8b7c-1a2b3c4d5e04', '6f1d0c3e-2a4b-4c1e-9f6a-0d6b1e2f3a03',
    'Morphogenesis', 'Reaction-diffusion models of pattern formation', 'failed',
    '1_initial_research', now() - interval '3 hours', now() - interval '2 hours'
  );

insert into public.draft_files (session_id, file_name, content, stage) values
  ('9b2f6d4a-1c3e-4f5a-8b7c-1a2b3c4d5e01', 'notes.md', '# Sources\n- Menabrea, 1842', '1_initial_research'),
  ('9b2f6d4a-1c3e-4f5a-8b7c-1a2b3c4d5e01', 'outline.md', '1. The engine\n2. The notes', '2_planning'),
  ('9b2f6d4a-1c3e-4f5a-8b7c-1a2b3c4d5e01', 'report.md', '# Analytical engines', '4_writing'),
  ('9b2f6d4a-1c3e-4f5a-8b7c-1a2b3c4d5e02', 'notes.md', 'Note G computes B7.', '1_initial_research'),
  ('9b2f6d4a-1c3e-4f5a-8b7c-1a2b3c4d5e03', 'plan.md', 'A-0, FLOW-MATIC, COBOL', '2_planning');
