"""The Supabase Auth (GoTrue) requests, with the statements it issues for them.

GoTrue logs in as ``supabase_auth_admin`` (search_path ``auth``) and names its tables unqualified,
as its ORM does. Each request below is the sequence of writes one API call makes, with the error
the API answers when one of them fails (``internal/api/signup.go``, ``anonymous.go``,
``verify.go``, ``token.go``, ``user.go``, ``admin.go``); local Supabase's defaults apply:
e-mail and SMS sign-ups are confirmed at once, and a confirmed sign-up is signed in.
Passwords are hashed by GoTrue in Go; the database only stores the hash, so a cheap one is used.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from ..auth import INSTANCE_ID, AuthUser
from .diagnose import diagnose
from .requests import SmokeContext, SmokeError, SmokeRequest, always
from .service import AUTH_ROLE, service_session

DEFAULT_PASSWORD = "password123"
# delete_user tries the seed's users too, the first ones by creation: they hold the rows.
SEEDED_USERS_DELETED = 50

# pop inserts every column of the model, in this order, with the values the model holds.
_INSERT_USER = """
INSERT INTO "users" ("aud", "banned_until", "confirmation_sent_at", "confirmation_token", "created_at",
  "deleted_at", "email", "email_change", "email_change_confirm_status", "email_change_sent_at",
  "email_change_token_current", "email_change_token_new", "email_confirmed_at", "encrypted_password", "id",
  "instance_id", "invited_at", "is_anonymous", "is_sso_user", "last_sign_in_at", "phone", "phone_change",
  "phone_change_sent_at", "phone_change_token", "phone_confirmed_at", "raw_app_meta_data",
  "raw_user_meta_data", "reauthentication_sent_at", "reauthentication_token", "recovery_sent_at",
  "recovery_token", "role", "updated_at")
VALUES ('authenticated', NULL, %(sent_at)s, %(token)s, now(), NULL, %(email)s, '', 0, NULL, '', '', NULL,
  %(hash)s, %(id)s, %(instance)s, NULL, %(anonymous)s, false, NULL, %(phone)s, '', NULL, '', NULL, %(app)s,
  %(meta)s, NULL, '', NULL, '', '', now())
"""
_SET_ROLE = """UPDATE "users" AS users SET "role" = 'authenticated', "updated_at" = now() WHERE users.id = %(id)s"""
_INSERT_IDENTITY = """
INSERT INTO "identities" ("created_at", "id", "identity_data", "last_sign_in_at", "provider", "provider_id",
  "updated_at", "user_id")
VALUES (now(), %(identity)s, %(data)s, now(), %(provider)s, %(id)s::text, now(), %(id)s)
"""
_SET_APP_METADATA = (
    """UPDATE "users" AS users SET "raw_app_meta_data" = %(app)s, "updated_at" = now() WHERE users.id = %(id)s"""
)
_SET_USER_METADATA = (
    """UPDATE "users" AS users SET "raw_user_meta_data" = %(meta)s, "updated_at" = now() WHERE users.id = %(id)s"""
)
_AUDIT = """
INSERT INTO "audit_log_entries" ("created_at", "id", "instance_id", "ip_address", "payload")
VALUES (now(), %(audit)s, %(instance)s, '127.0.0.1', %(payload)s)
"""
_CONFIRM_EMAIL = """UPDATE "users" AS users SET "confirmation_token" = '', "email_confirmed_at" = now(),
  "updated_at" = now() WHERE users.id = %(id)s"""
_CONFIRM_PHONE = """UPDATE "users" AS users SET "confirmation_token" = '', "phone_confirmed_at" = now(),
  "updated_at" = now() WHERE users.id = %(id)s"""
_CLEAR_TOKENS = """DELETE FROM "one_time_tokens" WHERE user_id = %(id)s"""
_CONFIRMATION_TOKEN = """
INSERT INTO "one_time_tokens" ("created_at", "id", "relates_to", "token_hash", "token_type", "updated_at",
  "user_id")
VALUES (now(), %(otid)s, %(email)s, %(token)s, 'confirmation_token', now(), %(id)s)
"""
_IDENTITY_DATA = """UPDATE "identities" AS identities SET "identity_data" = "identity_data" || %(data)s,
  "updated_at" = now() WHERE identities.user_id = %(id)s AND identities.provider = 'email'"""
_INSERT_SESSION = """
INSERT INTO "sessions" ("aal", "created_at", "factor_id", "id", "ip", "not_after", "refreshed_at", "tag",
  "updated_at", "user_agent", "user_id")
VALUES ('aal1', now(), NULL, %(session)s, '127.0.0.1', NULL, NULL, NULL, now(), 'supamigrate-smoke', %(id)s)
"""
_LAST_SIGN_IN = (
    """UPDATE "users" AS users SET "last_sign_in_at" = now(), "updated_at" = now() WHERE users.id = %(id)s"""
)
_REFRESH_TOKEN = """
INSERT INTO "refresh_tokens" ("created_at", "instance_id", "parent", "revoked", "session_id", "token",
  "updated_at", "user_id")
VALUES (now(), %(instance)s, NULL, false, %(session)s, %(refresh)s, now(), %(id)s::text) RETURNING id
"""
_DELETE_USER = """DELETE FROM "users" AS users WHERE users.id = %(id)s"""

Step = tuple[str, str]  # (the error the API answers when it fails, the statement)

_SIGN_IN: Sequence[Step] = (
    ("Database error creating new session", _INSERT_SESSION),
    ("Database error updating user's last_sign_in_at", _LAST_SIGN_IN),
    ("Database error granting user", _REFRESH_TOKEN),
)


def _run_steps(conn: psycopg.Connection, request: str, steps: Sequence[Step], params: Mapping[str, Any]) -> None:
    """Run ``steps`` as the auth service; the first that fails raises SmokeError with its API error."""
    try:
        with service_session(conn, AUTH_ROLE):
            for _, sql in steps:
                conn.execute(sql, params)
    except psycopg.Error as exc:
        # Pipelined, the error does not say which step met it: run them again one by one (the
        # savepoint was rolled back, so they meet the same state) to find out.
        failed, error = steps[0][0], exc
        try:
            with service_session(conn, AUTH_ROLE, pipelined=False):
                for service_error, sql in steps:
                    failed = service_error
                    conn.execute(sql, params)
        except psycopg.Error as again:
            error = again
        raise SmokeError(diagnose(conn, request, failed, error, role=AUTH_ROLE)) from error


_HASHES: dict[str, str] = {}


def _password_hash(conn: psycopg.Connection, password: str) -> str:
    # GoTrue hashes in Go, so the database sees only the string: one cheap bcrypt hash per
    # password serves every sign-up (and extensions.crypt still verifies it).
    if password not in _HASHES:
        row = conn.execute("SELECT extensions.crypt(%s, extensions.gen_salt('bf', 4))", (password,)).fetchone()
        assert row is not None
        _HASHES[password] = str(row[0])
    return _HASHES[password]


def sign_up(
    conn: psycopg.Connection,
    email: str | None = None,
    *,
    password: str | None = None,
    user_metadata: Mapping[str, Any] | None = None,
    anonymous: bool = False,
    phone: str | None = None,
    confirm: bool = True,
    request: str | None = None,
) -> AuthUser:
    """Sign a user up as Supabase Auth does (``POST /signup``, or ``/signup`` with no e-mail for
    an anonymous sign-in): its statements as ``supabase_auth_admin``, so the project's triggers on
    ``auth.users`` and ``auth.identities`` run as on the platform.

    With a ``phone`` (and no e-mail) it is a phone sign-up. ``confirm`` (local Supabase's default)
    confirms the user at once and signs it in (a session and a refresh token); otherwise a
    confirmation token waits for ``confirm_email``. Raises ``SmokeError`` with the API's error.
    """
    uid = uuid.uuid4()
    provider = "anonymous" if anonymous else ("phone" if phone and not email else "email")
    email = (email or f"user-{uid.hex[:8]}@example.com").lower() if provider == "email" else None
    phone = phone if provider == "phone" else None
    token = "" if confirm or provider != "email" else uuid.uuid4().hex
    app_meta: dict[str, Any] = {"provider": provider, "providers": [provider]}
    user_meta = dict(user_metadata or {})
    params: dict[str, Any] = {
        "id": uid, "instance": INSTANCE_ID, "email": email, "phone": phone, "anonymous": anonymous,
        "hash": "" if anonymous else _password_hash(conn, password or DEFAULT_PASSWORD),
        "token": token, "sent_at": datetime.now(UTC) if token else None,
        "app": Jsonb(app_meta), "meta": Jsonb(user_meta),
        "identity": uuid.uuid4(), "provider": provider, "audit": uuid.uuid4(), "otid": uuid.uuid4(),
        "session": uuid.uuid4(), "refresh": uuid.uuid4().hex[:12],
        "payload": Jsonb({"action": "user_signedup", "actor_id": str(uid), "log_type": "team",
                          "traits": {"provider": provider}}),
    }
    name = request or ("sign_in_anonymous" if anonymous else f"sign_up_{provider}")
    saving = "Database error creating anonymous user" if anonymous else "Database error saving new user"
    steps: list[Step] = [(saving, _INSERT_USER), (saving if anonymous else "Database error updating user", _SET_ROLE)]
    if not anonymous:
        data = {"sub": str(uid), "email_verified": False, "phone_verified": False}
        data.update({"email": email} if email else {"phone": phone})
        params["data"] = Jsonb(data)
        steps += [("Error creating identity", _INSERT_IDENTITY),
                  ("Database error updating user", _SET_APP_METADATA),
                  ("Database error updating user", _AUDIT)]
    if anonymous:
        steps += [(saving, sql) for _, sql in _SIGN_IN]
    elif confirm:
        verified = "email_verified" if provider == "email" else "phone_verified"
        user_meta_confirmed = {**user_meta, verified: True}
        params["meta_confirmed"] = Jsonb(user_meta_confirmed)
        steps += [
            ("Database error updating user", _CONFIRM_EMAIL if provider == "email" else _CONFIRM_PHONE),
            ("Database error updating user", _SET_USER_METADATA.replace("%(meta)s", "%(meta_confirmed)s")),
            ("Database error updating user", _CLEAR_TOKENS),
            *_SIGN_IN,
        ]
        user_meta = user_meta_confirmed
    else:
        steps.append(("Error sending confirmation email", _CONFIRMATION_TOKEN))
    _run_steps(conn, name, steps, params)
    return AuthUser(uid, email, anonymous, app_meta, user_meta)


def confirm_email(conn: psycopg.Connection, user: AuthUser, *, request: str = "confirm_email") -> None:
    """Confirm ``user``'s e-mail as ``GET /verify?type=signup`` does, and sign the user in."""
    params = {
        "id": user.id, "instance": INSTANCE_ID, "audit": uuid.uuid4(), "session": uuid.uuid4(),
        "refresh": uuid.uuid4().hex[:12], "meta": Jsonb({**user.user_metadata, "email_verified": True}),
        "data": Jsonb({"email_verified": True}),
        "payload": Jsonb({"action": "user_signedup", "actor_id": str(user.id), "log_type": "team"}),
    }
    steps: list[Step] = [
        ("Database error updating user", _AUDIT),
        ("Error confirming user", _CONFIRM_EMAIL),
        ("Error confirming user", _SET_USER_METADATA),
        ("Error confirming user", _CLEAR_TOKENS),
        ("Error setting email_verified to true on identity", _IDENTITY_DATA),
        *_SIGN_IN,
    ]
    _run_steps(conn, request, steps, params)


def sign_in(conn: psycopg.Connection, user: AuthUser, *, request: str = "sign_in_password") -> None:
    """Sign ``user`` in as ``POST /token?grant_type=password`` does (the password is checked in
    Go): an audit entry, a session, ``last_sign_in_at`` and a refresh token."""
    params = {
        "id": user.id, "instance": INSTANCE_ID, "audit": uuid.uuid4(), "session": uuid.uuid4(),
        "refresh": uuid.uuid4().hex[:12],
        "payload": Jsonb({"action": "login", "actor_id": str(user.id), "log_type": "account"}),
    }
    _run_steps(conn, request, [("Database error granting user", _AUDIT), *_SIGN_IN], params)


def update_user_metadata(
    conn: psycopg.Connection, user: AuthUser, data: Mapping[str, Any], *, request: str = "update_user_metadata"
) -> AuthUser:
    """Merge ``data`` into ``user``'s metadata as ``PUT /user {"data": ...}`` does."""
    merged = {**user.user_metadata, **data}
    merged = {k: v for k, v in merged.items() if v is not None}  # GoTrue deletes keys set to null
    _run_steps(conn, request, [("Error updating user", _SET_USER_METADATA)], {"id": user.id, "meta": Jsonb(merged)})
    return AuthUser(user.id, user.email, user.is_anonymous, user.app_metadata, merged, user.role)


def delete_user(conn: psycopg.Connection, user: AuthUser | uuid.UUID, *, request: str = "delete_user") -> None:
    """Delete a user as ``DELETE /admin/users/{id}`` does (a hard delete): the foreign keys to
    ``auth.users`` decide what happens to the rows that refer to it."""
    uid = user.id if isinstance(user, AuthUser) else user
    _run_steps(conn, request, [("Database error deleting user", _DELETE_USER)], {"id": uid})


# -- the smoke requests ---------------------------------------------------------------------------


def _metadata(options: Mapping[str, Any], tag: str) -> dict[str, Any]:
    """``[smoke] user_metadata`` for the sign-up ``tag`` ("email", "phone", ...): ``{tag}`` in a
    string value becomes it, so values a unique column keeps differ between the run's sign-ups."""
    data = dict(options.get("user_metadata") or {})
    return {k: v.replace("{tag}", tag) if isinstance(v, str) else v for k, v in data.items()}


def _email(options: Mapping[str, Any], tag: str) -> str:
    configured = options.get("email")
    if configured:
        local, _, domain = str(configured).partition("@")
        return f"{local}+{tag}@{domain}"
    return f"smoke-{tag}-{uuid.uuid4().hex[:6]}@example.com"


def sign_up_email(conn: psycopg.Connection, options: Mapping[str, Any]) -> AuthUser:
    """The ``sign_up_email`` request, returning the user: the runner keeps it as the run's user."""
    return sign_up(conn, _email(options, "email"), user_metadata=_metadata(options, "email"))


def _sign_up_email(ctx: SmokeContext) -> None:
    sign_up_email(ctx.conn, ctx.options)


def _sign_up_phone(ctx: SmokeContext) -> None:
    phone = str(ctx.options.get("phone") or "15555550100")
    sign_up(ctx.conn, phone=phone, user_metadata=_metadata(ctx.options, "phone"))


def _sign_in_anonymous(ctx: SmokeContext) -> None:
    sign_up(ctx.conn, anonymous=True, user_metadata=_metadata(ctx.options, "anonymous"))


def _confirm_email(ctx: SmokeContext) -> None:
    user = sign_up(ctx.conn, _email(ctx.options, "confirm"), user_metadata=_metadata(ctx.options, "confirm"),
                   confirm=False, request="confirm_email")
    confirm_email(ctx.conn, user)


def _sign_in_password(ctx: SmokeContext) -> None:
    if ctx.user is not None:
        sign_in(ctx.conn, ctx.user)


def _update_user_metadata(ctx: SmokeContext) -> None:
    if ctx.user is not None:
        update_user_metadata(ctx.conn, ctx.user, {"supamigrate_smoke": True})


def _delete_user(ctx: SmokeContext) -> None:
    """Delete the run's user, then the users the seed made, the ones with rows under foreign
    keys to auth.users (all in one session, rolled back: the first refused delete is reported)."""
    seeded = ctx.conn.execute(
        "SELECT id FROM auth.users WHERE id <> %s ORDER BY created_at, id LIMIT %s",
        (ctx.user.id if ctx.user else uuid.UUID(int=0), SEEDED_USERS_DELETED),
    ).fetchall()
    users = ([ctx.user.id] if ctx.user is not None else []) + [uid for (uid,) in seeded]
    if users:
        one = "Database error deleting user"
        steps = [(one, _DELETE_USER.replace("%(id)s", f"%(id{i})s")) for i in range(len(users))]
        _run_steps(ctx.conn, "delete_user", steps, {f"id{i}": uid for i, uid in enumerate(users)})


AUTH_REQUESTS: list[SmokeRequest] = [
    SmokeRequest("sign_up_email", "auth", always, _sign_up_email),
    SmokeRequest("sign_up_phone", "auth", always, _sign_up_phone),
    SmokeRequest("sign_in_anonymous", "auth", always, _sign_in_anonymous),
    SmokeRequest("confirm_email", "auth", always, _confirm_email),
    SmokeRequest("sign_in_password", "auth", always, _sign_in_password),
    SmokeRequest("update_user_metadata", "auth", always, _update_user_metadata),
    SmokeRequest("delete_user", "auth", always, _delete_user),
]

__all__ = ["AUTH_REQUESTS", "confirm_email", "delete_user", "sign_in", "sign_up", "update_user_metadata"]
