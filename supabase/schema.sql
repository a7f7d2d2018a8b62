-- Schema snapshot of supabase/migrations, written by `supamigrate dump`; do not edit.
-- `supamigrate check` fails when it differs from what the migrations build: run
-- `supamigrate dump` and commit the result with the migration that changed it.

--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: public; Type: SCHEMA; Schema: -; Owner: pg_database_owner
--

CREATE SCHEMA public;

ALTER SCHEMA public OWNER TO pg_database_owner;

--
-- Name: SCHEMA public; Type: COMMENT; Schema: -; Owner: pg_database_owner
--

COMMENT ON SCHEMA public IS 'standard public schema';

--
-- Name: research_stage; Type: TYPE; Schema: public; Owner: postgres
--

CREATE TYPE public.research_stage AS ENUM (
    '1_initial_research',
    '2_planning',
    '3_parallel_research',
    '4_writing'
);

ALTER TYPE public.research_stage OWNER TO postgres;

--
-- Name: session_status; Type: TYPE; Schema: public; Owner: postgres
--

CREATE TYPE public.session_status AS ENUM (
    'in_progress',
    'completed',
    'failed'
);

ALTER TYPE public.session_status OWNER TO postgres;

--
-- Name: update_updated_at_column(); Type: FUNCTION; Schema: public; Owner: postgres
--

CREATE FUNCTION public.update_updated_at_column() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path TO ''
    AS $$
begin
  new.updated_at = now();
  return new;
end;
$$;

ALTER FUNCTION public.update_updated_at_column() OWNER TO postgres;

SET default_table_access_method = heap;

--
-- Name: draft_files; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.draft_files (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    session_id uuid NOT NULL,
    file_name text NOT NULL,
    content text DEFAULT ''::text NOT NULL,
    stage public.research_stage NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT draft_files_file_name_valid CHECK ((((char_length(file_name) >= 1) AND (char_length(file_name) <= 255)) AND (file_name !~ '[/\\]'::text)))
);

ALTER TABLE public.draft_files OWNER TO postgres;

--
-- Name: TABLE draft_files; Type: COMMENT; Schema: public; Owner: postgres
--

COMMENT ON TABLE public.draft_files IS 'A draft file written by a research session at one stage.';

--
-- Name: research_sessions; Type: TABLE; Schema: public; Owner: postgres
--

CREATE TABLE public.research_sessions (
    id uuid DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL,
    title text NOT NULL,
    query text DEFAULT ''::text NOT NULL,
    status public.session_status DEFAULT 'in_progress'::public.session_status NOT NULL,
    current_stage public.research_stage DEFAULT '1_initial_research'::public.research_stage NOT NULL,
    error_message text,
    metadata jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    completed_at timestamp with time zone,
    CONSTRAINT research_sessions_completed_at_status CHECK (((completed_at IS NULL) OR (status <> 'in_progress'::public.session_status))),
    CONSTRAINT research_sessions_title_length CHECK (((char_length(title) >= 1) AND (char_length(title) <= 500)))
);

ALTER TABLE public.research_sessions OWNER TO postgres;

--
-- Name: TABLE research_sessions; Type: COMMENT; Schema: public; Owner: postgres
--

COMMENT ON TABLE public.research_sessions IS 'A research run started by a user.';

--
-- Name: draft_files draft_files_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.draft_files
    ADD CONSTRAINT draft_files_pkey PRIMARY KEY (id);

--
-- Name: draft_files draft_files_session_file_name_key; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.draft_files
    ADD CONSTRAINT draft_files_session_file_name_key UNIQUE (session_id, file_name);

--
-- Name: research_sessions research_sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.research_sessions
    ADD CONSTRAINT research_sessions_pkey PRIMARY KEY (id);

--
-- Name: idx_draft_files_session_id; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX idx_draft_files_session_id ON public.draft_files USING btree (session_id);

--
-- Name: idx_research_sessions_created_at; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX idx_research_sessions_created_at ON public.research_sessions USING btree (created_at DESC);

--
-- Name: idx_research_sessions_user_id; Type: INDEX; Schema: public; Owner: postgres
--

CREATE INDEX idx_research_sessions_user_id ON public.research_sessions USING btree (user_id);

--
-- Name: draft_files update_draft_files_updated_at; Type: TRIGGER; Schema: public; Owner: postgres
--

CREATE TRIGGER update_draft_files_updated_at BEFORE UPDATE ON public.draft_files FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

--
-- Name: research_sessions update_research_sessions_updated_at; Type: TRIGGER; Schema: public; Owner: postgres
--

CREATE TRIGGER update_research_sessions_updated_at BEFORE UPDATE ON public.research_sessions FOR EACH ROW EXECUTE FUNCTION public.update_updated_at_column();

--
-- Name: draft_files draft_files_session_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.draft_files
    ADD CONSTRAINT draft_files_session_id_fkey FOREIGN KEY (session_id) REFERENCES public.research_sessions(id) ON DELETE CASCADE;

--
-- Name: research_sessions research_sessions_user_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: postgres
--

ALTER TABLE ONLY public.research_sessions
    ADD CONSTRAINT research_sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES auth.users(id) ON DELETE CASCADE;

--
-- Name: draft_files Users can add drafts to their own sessions; Type: POLICY; Schema: public; Owner: postgres
--

CREATE POLICY "Users can add drafts to their own sessions" ON public.draft_files FOR INSERT TO authenticated WITH CHECK ((session_id IN ( SELECT s.id
   FROM public.research_sessions s
  WHERE (s.user_id = ( SELECT auth.uid() AS uid)))));

--
-- Name: research_sessions Users can create their own research sessions; Type: POLICY; Schema: public; Owner: postgres
--

CREATE POLICY "Users can create their own research sessions" ON public.research_sessions FOR INSERT TO authenticated WITH CHECK ((user_id = ( SELECT auth.uid() AS uid)));

--
-- Name: draft_files Users can delete drafts of their own sessions; Type: POLICY; Schema: public; Owner: postgres
--

CREATE POLICY "Users can delete drafts of their own sessions" ON public.draft_files FOR DELETE TO authenticated USING ((session_id IN ( SELECT s.id
   FROM public.research_sessions s
  WHERE (s.user_id = ( SELECT auth.uid() AS uid)))));

--
-- Name: research_sessions Users can delete their own research sessions; Type: POLICY; Schema: public; Owner: postgres
--

CREATE POLICY "Users can delete their own research sessions" ON public.research_sessions FOR DELETE TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

--
-- Name: draft_files Users can update drafts of their own sessions; Type: POLICY; Schema: public; Owner: postgres
--

CREATE POLICY "Users can update drafts of their own sessions" ON public.draft_files FOR UPDATE TO authenticated USING ((session_id IN ( SELECT s.id
   FROM public.research_sessions s
  WHERE (s.user_id = ( SELECT auth.uid() AS uid))))) WITH CHECK ((session_id IN ( SELECT s.id
   FROM public.research_sessions s
  WHERE (s.user_id = ( SELECT auth.uid() AS uid)))));

--
-- Name: research_sessions Users can update their own research sessions; Type: POLICY; Schema: public; Owner: postgres
--

CREATE POLICY "Users can update their own research sessions" ON public.research_sessions FOR UPDATE TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid))) WITH CHECK ((user_id = ( SELECT auth.uid() AS uid)));

--
-- Name: draft_files Users can view drafts of their own sessions; Type: POLICY; Schema: public; Owner: postgres
--

CREATE POLICY "Users can view drafts of their own sessions" ON public.draft_files FOR SELECT TO authenticated USING ((session_id IN ( SELECT s.id
   FROM public.research_sessions s
  WHERE (s.user_id = ( SELECT auth.uid() AS uid)))));

--
-- Name: research_sessions Users can view their own research sessions; Type: POLICY; Schema: public; Owner: postgres
--

CREATE POLICY "Users can view their own research sessions" ON public.research_sessions FOR SELECT TO authenticated USING ((user_id = ( SELECT auth.uid() AS uid)));

--
-- Name: draft_files; Type: ROW SECURITY; Schema: public; Owner: postgres
--

ALTER TABLE public.draft_files ENABLE ROW LEVEL SECURITY;

--
-- Name: research_sessions; Type: ROW SECURITY; Schema: public; Owner: postgres
--

ALTER TABLE public.research_sessions ENABLE ROW LEVEL SECURITY;

--
-- Name: SCHEMA public; Type: ACL; Schema: -; Owner: pg_database_owner
--

GRANT USAGE ON SCHEMA public TO anon;
GRANT USAGE ON SCHEMA public TO authenticated;
GRANT USAGE ON SCHEMA public TO service_role;
GRANT USAGE ON SCHEMA public TO postgres;

--
-- Name: FUNCTION update_updated_at_column(); Type: ACL; Schema: public; Owner: postgres
--

GRANT ALL ON FUNCTION public.update_updated_at_column() TO anon;
GRANT ALL ON FUNCTION public.update_updated_at_column() TO authenticated;
GRANT ALL ON FUNCTION public.update_updated_at_column() TO service_role;

--
-- Name: TABLE draft_files; Type: ACL; Schema: public; Owner: postgres
--

GRANT ALL ON TABLE public.draft_files TO anon;
GRANT ALL ON TABLE public.draft_files TO authenticated;
GRANT ALL ON TABLE public.draft_files TO service_role;

--
-- Name: TABLE research_sessions; Type: ACL; Schema: public; Owner: postgres
--

GRANT ALL ON TABLE public.research_sessions TO anon;
GRANT ALL ON TABLE public.research_sessions TO authenticated;
GRANT ALL ON TABLE public.research_sessions TO service_role;

--
-- Name: DEFAULT PRIVILEGES FOR SEQUENCES; Type: DEFAULT ACL; Schema: public; Owner: postgres
--

ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON SEQUENCES  TO postgres;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON SEQUENCES  TO anon;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON SEQUENCES  TO authenticated;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON SEQUENCES  TO service_role;

--
-- Name: DEFAULT PRIVILEGES FOR SEQUENCES; Type: DEFAULT ACL; Schema: public; Owner: supabase_admin
--

ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON SEQUENCES  TO postgres;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON SEQUENCES  TO anon;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON SEQUENCES  TO authenticated;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON SEQUENCES  TO service_role;

--
-- Name: DEFAULT PRIVILEGES FOR FUNCTIONS; Type: DEFAULT ACL; Schema: public; Owner: postgres
--

ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON FUNCTIONS  TO postgres;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON FUNCTIONS  TO anon;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON FUNCTIONS  TO authenticated;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON FUNCTIONS  TO service_role;

--
-- Name: DEFAULT PRIVILEGES FOR FUNCTIONS; Type: DEFAULT ACL; Schema: public; Owner: supabase_admin
--

ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON FUNCTIONS  TO postgres;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON FUNCTIONS  TO anon;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON FUNCTIONS  TO authenticated;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON FUNCTIONS  TO service_role;

--
-- Name: DEFAULT PRIVILEGES FOR TABLES; Type: DEFAULT ACL; Schema: public; Owner: postgres
--

ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES  TO postgres;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES  TO anon;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES  TO authenticated;
ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT ALL ON TABLES  TO service_role;

--
-- Name: DEFAULT PRIVILEGES FOR TABLES; Type: DEFAULT ACL; Schema: public; Owner: supabase_admin
--

ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON TABLES  TO postgres;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON TABLES  TO anon;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON TABLES  TO authenticated;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public GRANT ALL ON TABLES  TO service_role;

--
-- PostgreSQL database dump complete
--
