"""The research app through Supabase Auth's own requests: sign-up, the user's sessions, deletion.

``sign_up`` and ``delete_user`` run Auth's statements as ``supabase_auth_admin``, so whatever the
migrations hang on ``auth.users`` runs as it will on the platform.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from supamigrate.auth import AuthUser

SignUp = Callable[..., AuthUser]  # the plugin's sign_up fixture
DeleteUser = Callable[[AuthUser], None]  # the plugin's delete_user fixture


def test_a_signed_up_user_owns_sessions_and_deleting_the_user_deletes_them(
    db: psycopg.Connection, sign_up: SignUp, delete_user: DeleteUser
) -> None:
    user = sign_up("ada@research.test", user_metadata={"full_name": "Ada Lovelace"})
    session = db.execute(
        "insert into public.research_sessions (user_id, title) values (%s, 'Engines') returning id", (user.id,)
    ).fetchone()
    assert session is not None
    db.execute("insert into public.draft_files (session_id, file_name, stage) values (%s, 'a.md', '4_writing')",
               (session[0],))
    delete_user(user)
    assert db.execute("select count(*) from public.research_sessions where user_id = %s", (user.id,)).fetchone() == (0,)
    assert db.execute("select count(*) from public.draft_files where session_id = %s", (session[0],)).fetchone() == (0,)


def test_an_anonymous_sign_in_is_a_user_without_email(db: psycopg.Connection, sign_up: SignUp) -> None:
    user = sign_up(anonymous=True)
    row = db.execute(
        "select email, is_anonymous, raw_app_meta_data ->> 'provider',"
        " (select count(*) from auth.identities where user_id = u.id),"
        " (select count(*) from auth.sessions where user_id = u.id)"
        " from auth.users u where id = %s", (user.id,)
    ).fetchone()
    assert row == (None, True, "anonymous", 0, 1)
    assert (user.email, user.is_anonymous) == (None, True)
