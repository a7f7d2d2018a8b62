-- Declared schema (issue 18): trigger functions.
-- `supamigrate diff -f NAME` writes the migration from supabase/migrations to this state.

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
