"""Auth users stored the way Supabase Auth (GoTrue) stores them, and the JWT claims they carry."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

INSTANCE_ID = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class AuthUser:
    """A row of ``auth.users`` as the toolkit created it."""

    id: uuid.UUID
    email: str | None
    is_anonymous: bool = False
    app_metadata: dict[str, Any] = field(default_factory=dict)
    user_metadata: dict[str, Any] = field(default_factory=dict)
    role: str = "authenticated"

    def claims(self, *, expires_in: int = 3600, **extra: Any) -> dict[str, Any]:
        """A JWT payload like the one Supabase Auth issues for this user (PostgREST's view of it)."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "iss": "http://127.0.0.1:54321/auth/v1",
            "sub": str(self.id),
            "aud": "authenticated",
            "exp": now + expires_in,
            "iat": now,
            "email": self.email or "",
            "phone": "",
            "app_metadata": self.app_metadata,
            "user_metadata": self.user_metadata,
            "role": self.role,
            "aal": "aal1",
            "amr": [{"method": "anonymous" if self.is_anonymous else "password", "timestamp": now}],
            "session_id": str(uuid.uuid4()),
            "is_anonymous": self.is_anonymous,
        }
        payload.update(extra)
        return payload


def create_user(
    conn: psycopg.Connection,
    email: str | None = None,
    *,
    password: str = "password123",
    is_anonymous: bool = False,
    user_metadata: dict[str, Any] | None = None,
    app_metadata: dict[str, Any] | None = None,
    user_id: uuid.UUID | None = None,
    confirmed: bool = True,
) -> AuthUser:
    """Insert a user into ``auth.users`` (and, for an email user, ``auth.identities``).

    An anonymous sign-in user has no email and no identity, as on the platform. The password is
    hashed with bcrypt by ``extensions.crypt`` like GoTrue's.
    """
    uid = user_id or uuid.uuid4()
    if is_anonymous:
        email = None
        provider = "anonymous"
    else:
        email = email or f"user-{uid.hex[:8]}@example.com"
        provider = "email"
    app_meta = {"provider": provider, "providers": [provider], **(app_metadata or {})}
    user_meta = dict(user_metadata or {})
    if email:
        user_meta.setdefault("email_verified", confirmed)
    conn.execute(
        """
        INSERT INTO auth.users (
          instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
          raw_app_meta_data, raw_user_meta_data, is_anonymous, created_at, updated_at,
          confirmation_token, recovery_token, email_change_token_new, email_change
        ) VALUES (
          %(instance)s, %(id)s, 'authenticated', 'authenticated', %(email)s,
          CASE WHEN %(anon)s THEN '' ELSE extensions.crypt(%(password)s, extensions.gen_salt('bf', 4)) END,
          CASE WHEN %(confirmed)s AND NOT %(anon)s THEN now() END,
          %(app)s, %(meta)s, %(anon)s, now(), now(), '', '', '', ''
        )
        """,
        {
            "instance": INSTANCE_ID,
            "id": uid,
            "email": email,
            "password": password,
            "confirmed": confirmed,
            "anon": is_anonymous,
            "app": Jsonb(app_meta),
            "meta": Jsonb(user_meta),
        },
    )
    if email:
        conn.execute(
            """
            INSERT INTO auth.identities (provider_id, user_id, identity_data, provider,
                                         last_sign_in_at, created_at, updated_at)
            VALUES (%(id)s::text, %(id)s, %(data)s, 'email', now(), now(), now())
            """,
            {
                "id": uid,
                "data": Jsonb({"sub": str(uid), "email": email, "email_verified": confirmed, "phone_verified": False}),
            },
        )
    return AuthUser(uid, email, is_anonymous, app_meta, user_meta)


def api_key_claims(role: str, *, expires_in: int = 10 * 365 * 24 * 3600, **extra: Any) -> dict[str, Any]:
    """The payload of an API key JWT (the anon or service_role key) as the Supabase CLI issues it.

    It names a role and nothing else: no ``sub``, so ``auth.uid()`` is NULL for its caller.
    """
    payload: dict[str, Any] = {"iss": "supabase-demo", "role": role, "exp": int(time.time()) + expires_in}
    payload.update(extra)
    return payload
