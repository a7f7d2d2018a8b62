-- The vault schema, where the platform creates supabase_vault (see extensions.PREINSTALLED).
CREATE SCHEMA vault AUTHORIZATION supabase_admin;
