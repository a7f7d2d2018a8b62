"""Supabase Storage's requests, run in the database exactly as storage-api runs them.

Storage connects as ``supabase_storage_admin`` (here: the caller's connection, so only
``session_user`` differs) and opens a transaction per step, which it scopes
with one ``set_config`` statement: the role (``authenticated`` for a signed-in user's token,
``service_role`` for its own "super user" steps), the JWT claims (``request.jwt.claims``, read by
``auth.uid()`` and ``auth.jwt()``), the route's operation (``storage.operation``, read by
``storage.operation()``) and the search_path ``storage, public, extensions``. Only the steps the
user's token runs meet the project's policies; the rest run as the service role:

- upload (``POST /object/:bucket/:path``): the bucket is read as the service; then, as the user,
  the object row is inserted and rolled back (``canUpload``: RLS decides here); the file goes to
  S3; then, as the service, the row is upserted. ``upsert`` (``x-upsert: true``) checks with
  ``INSERT ... ON CONFLICT (name, bucket_id) DO UPDATE`` instead, which needs insert, select and
  update policies.
- download (``GET /object/authenticated/:bucket/:path``): the object row is selected as the user.
- list (``POST /object/list/:bucket``): ``storage.search`` as the user.
- move (``POST /object/move``): as the user, the source row is selected and updated to its new
  name and rolled back; then the service updates it.
- delete (``DELETE /object/:bucket/:path``): the row is locked as the service, then deleted as
  the user; no row deleted is a 403.

A database error becomes the error the API returns (``StorageApiError``: 403 "new row violates
row-level security policy" for an RLS refusal, as storage-api's ``DBError.fromDBError`` maps it).
Every step is a savepoint, so a refused one leaves nothing behind, and after each request the
caller's role, claims and search_path are back. No bytes are stored; an object's ``metadata`` is
what S3 would report for them.
"""

from __future__ import annotations

import functools
import hashlib
import json
import mimetypes
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from supamigrate.auth import AuthUser, api_key_claims
from supamigrate.errors import SupamigrateError
from supamigrate.smoke.diagnose import function_at_fault
from supamigrate.smoke.requests import SmokeContext, SmokeError, SmokeFailure, SmokeRequest

# storage-api's pool: ['storage', 'public', 'extensions', ...DATABASE_SEARCH_PATH] (empty by default).
SEARCH_PATH = "storage, public, extensions"
SERVICE_ROLE = "service_role"

# The route operations storage-api sets as storage.operation (src/http/routes/operations.ts).
UPLOAD = "storage.object.upload"
DOWNLOAD = "storage.object.get_authenticated"
LIST = "storage.object.list"
MOVE = "storage.object.move"
DELETE = "storage.object.delete"

# The settings a scope sets (transaction-local), restored after each step.
_SCOPED = (
    "role",
    "request.jwt.claim.role",
    "request.jwt",
    "request.jwt.claim.sub",
    "request.jwt.claims",
    "request.headers",
    "request.method",
    "request.path",
    "storage.operation",
    "storage.allow_delete_query",
    "search_path",
)

T = TypeVar("T")
P = ParamSpec("P")


class StorageApiError(SupamigrateError):
    """What storage-api answers when the database refuses: ``status`` ``code``: ``message``.

    ``pg_error`` is the SQL error underneath, if any (none for "Object not found").
    """

    def __init__(self, status: int, code: str, message: str, *, pg_error: psycopg.Error | None = None) -> None:
        super().__init__(f"{status} {code}: {message}", pg_error=pg_error)
        self.status = status
        self.code = code
        self.api_message = message


@dataclass(frozen=True)
class StoredObject:
    """A row of ``storage.objects`` as the request left it."""

    id: uuid.UUID | None
    bucket_id: str
    name: str
    owner_id: str | None
    version: str | None
    metadata: Mapping[str, Any]


def api_error(exc: psycopg.Error) -> StorageApiError:
    """The response storage-api makes of a database error (its ``DBError.fromDBError``)."""
    state = exc.sqlstate or ""
    diag = exc.diag
    message = diag.message_primary or str(exc)
    if state == "42501":
        text = "new row violates row-level security policy" if "row-level security" in message else message
        return StorageApiError(403, "AccessDenied", text, pg_error=exc)
    if state == "23505":
        return StorageApiError(409, "ResourceAlreadyExists", "The resource already exists", pg_error=exc)
    if state == "23503":
        return StorageApiError(404, "InvalidRequest", "The related resource does not exist", pg_error=exc)
    if state in ("42703", "42P01"):
        if diag.internal_query and diag.internal_position:
            text = f"There is a database schema mismatch in a trigger or RLS policy: {diag.context}"
        else:
            text = "The database schema is out of sync. Please run migrations or contact support."
        return StorageApiError(503, "DatabaseSchemaMismatch", text, pg_error=exc)
    if state == "22P02":
        return StorageApiError(400, "InvalidParameter", message, pg_error=exc)
    return StorageApiError(500, "DatabaseError", f"database error, code: {state}", pg_error=exc)


def _claims(user: AuthUser | None) -> dict[str, Any]:
    return api_key_claims(SERVICE_ROLE) if user is None else user.claims()


# Set while a smoke request runs: its savepoint is rolled back, settings with it, so the
# requests need not restore them one by one.
_ROLLED_BACK: ContextVar[bool] = ContextVar("_ROLLED_BACK", default=False)

_SAVE = "SELECT " + ", ".join(f"current_setting('{name}', true)" for name in _SCOPED)


def _request(fn: Callable[Concatenate[psycopg.Connection, P], T]) -> Callable[Concatenate[psycopg.Connection, P], T]:
    """One Storage request: after it, the caller's role, claims and search_path are back.

    A released savepoint keeps what its ``set_config(..., true)`` set, so the steps leave the
    last one's scope behind; the request puts back what the caller had, once, at its end.
    """

    @functools.wraps(fn)
    def request(conn: psycopg.Connection, /, *args: P.args, **kwargs: P.kwargs) -> T:
        if _ROLLED_BACK.get():
            return fn(conn, *args, **kwargs)
        saved = conn.execute(_SAVE).fetchone()
        try:
            return fn(conn, *args, **kwargs)
        finally:
            pairs = list(zip(_SCOPED, saved or (), strict=True))
            conn.execute(
                "SELECT " + ", ".join("set_config(%s, %s, true)" for _ in pairs),
                [x for name, value in pairs for x in (name, "none" if name == "role" and not value else value or "")],
            )

    return request


@contextmanager
def _scoped(
    conn: psycopg.Connection, user: AuthUser | None, operation: str, method: str, path: str, *, rollback: bool = False
) -> Iterator[None]:
    """One storage-api transaction (here a savepoint) scoped to ``user`` (None: the service role).

    ``rollback``: storage-api's ``testPermission``, run as the user and rolled back whatever happened.
    """
    claims = _claims(user)
    role = str(claims.get("role") or "anon")
    try:
        with conn.transaction(force_rollback=rollback):
            conn.execute(
                """
                SELECT set_config('role', %s, true), set_config('request.jwt.claim.role', %s, true),
                       set_config('request.jwt', '', true), set_config('request.jwt.claim.sub', %s, true),
                       set_config('request.jwt.claims', %s, true), set_config('request.headers', %s, true),
                       set_config('request.method', %s, true), set_config('request.path', %s, true),
                       set_config('storage.operation', %s, true),
                       set_config('storage.allow_delete_query', 'true', true),
                       set_config('search_path', %s, true)
                """,
                (
                    role,
                    role,
                    str(claims.get("sub") or ""),
                    json.dumps(claims),
                    "{}",
                    method,
                    path,
                    operation,
                    SEARCH_PATH,
                ),
            )
            yield
    except psycopg.Error as exc:
        raise api_error(exc) from exc


def _row(conn: psycopg.Connection, sql: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(sql, params)
        return cur.fetchone() if cur.description else None


def _stored(row: Mapping[str, Any]) -> StoredObject:
    return StoredObject(
        row.get("id"), row["bucket_id"], row["name"], row.get("owner_id"), row.get("version"), row.get("metadata") or {}
    )


def _find_bucket(conn: psycopg.Connection, bucket: str, columns: str, method: str, path: str) -> dict[str, Any]:
    with _scoped(conn, None, UPLOAD, method, path):
        row = _row(conn, f"SELECT {columns} FROM storage.buckets WHERE id = %(id)s LIMIT 1", {"id": bucket})
    if row is None:
        raise StorageApiError(404, "NoSuchBucket", "Bucket not found")
    return row


# storage-api's VALID_OBJECT_KEY (src/storage/limits.ts): S3-safe characters only.
_VALID_KEY = re.compile(r"[A-Za-z0-9_/!.*'() &$=@;:+,?-]+")


def _check_key(name: str) -> None:
    """storage-api's ``mustBeValidKey``: a 400 InvalidKey for a name S3 would not take."""
    if not _VALID_KEY.fullmatch(name):
        raise StorageApiError(400, "InvalidKey", f"Invalid key: {name}")


def _check_mime(mime: str, allowed: list[str] | None) -> None:
    if not allowed:
        return
    for pattern in allowed:
        if pattern == mime or (pattern.endswith("/*") and mime.startswith(pattern[:-1])):
            return
    raise StorageApiError(415, "InvalidMimeType", f"mime type {mime} is not supported")


def object_metadata(data: bytes, content_type: str) -> dict[str, Any]:
    """The metadata storage-api stores for an upload: what the S3 backend reports for its bytes."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "eTag": f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"',
        "size": len(data),
        "mimetype": content_type,
        "cacheControl": "max-age=3600",
        "lastModified": now,
        "contentLength": len(data),
        "httpStatusCode": 200,
    }


def _object_columns(
    user: AuthUser | None, bucket: str, name: str, version: str, metadata: Any, user_metadata: Any = None
) -> dict[str, Any]:
    """The columns storage-api writes for an object, in its order; a value it leaves undefined is left out."""
    owner = str(user.id) if user else None
    columns = {
        "name": name,
        "owner": owner,
        "owner_id": owner,
        "bucket_id": bucket,
        "metadata": Jsonb(metadata) if metadata is not None else None,
        "user_metadata": Jsonb(user_metadata) if user_metadata is not None else None,
        "version": version,
    }
    return {k: v for k, v in columns.items() if v is not None}


def _insert_sql(columns: Mapping[str, Any], *, upsert: bool) -> str:
    """storage-api's createObject (a plain insert) or upsertObject (on conflict, the new metadata wins)."""
    names = ", ".join(columns)
    values = ", ".join(f"%({name})s" for name in columns)
    sql = f"INSERT INTO storage.objects ({names}) VALUES ({values})"
    if not upsert:
        return sql
    updated = [c for c in ("metadata", "user_metadata", "version", "owner", "owner_id") if c in columns]
    return (
        f"{sql} ON CONFLICT (name, bucket_id) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in updated)
        + " RETURNING *"
    )


@_request
def upload(
    conn: psycopg.Connection,
    user: AuthUser,
    bucket: str,
    path: str,
    data: bytes = b"",
    *,
    upsert: bool = False,
    content_type: str = "text/plain",
) -> StoredObject:
    """Upload ``data`` to ``bucket``/``path`` as ``user``, as supabase-js ``upload()`` makes Storage do.

    Raises ``StorageApiError`` with what Storage answers (403 when a policy refuses the object).
    """
    route = f"/object/{bucket}/{path}"
    found = _find_bucket(conn, bucket, "id, file_size_limit, allowed_mime_types", "POST", route)
    _check_mime(content_type, found.get("allowed_mime_types"))
    limit = found.get("file_size_limit")
    if limit is not None and len(data) > limit:
        raise StorageApiError(413, "EntityTooLarge", "The object exceeded the maximum allowed size")
    _check_key(path)
    # canUpload: the row as the user's token would write it, rolled back; RLS decides here.
    check = _object_columns(user, bucket, path, "1", {"mimetype": content_type, "contentLength": len(data)})
    try:
        with _scoped(conn, user, UPLOAD, "POST", route, rollback=True):
            conn.execute(_insert_sql(check, upsert=upsert), check)
    except StorageApiError as exc:
        if exc.code == "ResourceAlreadyExists":  # createObject's own name for it
            raise StorageApiError(
                409, "KeyAlreadyExists", "The resource already exists", pg_error=exc.pg_error
            ) from exc
        raise
    # completeUpload, once the bytes are in S3: as the service, lock the name and upsert the row.
    version = str(uuid.uuid4())
    with _scoped(conn, None, UPLOAD, "POST", route):
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{bucket}/{path}",))
        _row(
            conn,
            "SELECT id, version, metadata FROM storage.objects WHERE name = %(name)s AND bucket_id = %(bucket)s"
            " LIMIT 1 FOR UPDATE",
            {"name": path, "bucket": bucket},
        )
        columns = _object_columns(user, bucket, path, version, object_metadata(data, content_type), {})
        row = _row(conn, _insert_sql(columns, upsert=True), columns)
    assert row is not None
    return _stored(row)


@_request
def put_object(conn: psycopg.Connection, owner: AuthUser, bucket: str, path: str, data: bytes = b"") -> StoredObject:
    """An object as Storage's service steps store it (no policy involved), owned by ``owner``."""
    columns = _object_columns(owner, bucket, path, str(uuid.uuid4()), object_metadata(data, "text/plain"), {})
    with _scoped(conn, None, UPLOAD, "POST", f"/object/{bucket}/{path}"):
        row = _row(conn, _insert_sql(columns, upsert=True), columns)
    assert row is not None
    return _stored(row)


@_request
def download(conn: psycopg.Connection, user: AuthUser, bucket: str, path: str) -> StoredObject:
    """Read the object's row as ``user`` does when downloading it; 400 "Object not found" if RLS hides it."""
    route = f"/object/authenticated/{bucket}/{path}"
    with _scoped(conn, None, DOWNLOAD, "GET", route):
        if _row(conn, "SELECT id, public FROM storage.buckets WHERE id = %(id)s LIMIT 1", {"id": bucket}) is None:
            raise StorageApiError(404, "NoSuchBucket", "Bucket not found")
    with _scoped(conn, user, DOWNLOAD, "GET", route):
        row = _row(
            conn,
            "SELECT id, version, metadata FROM storage.objects WHERE name = %(name)s AND bucket_id = %(bucket)s"
            " LIMIT 1",
            {"name": path, "bucket": bucket},
        )
    if row is None:
        raise StorageApiError(404, "NoSuchKey", "Object not found")
    return _stored({"bucket_id": bucket, "name": path, **row})


@_request
def list_objects(
    conn: psycopg.Connection, user: AuthUser, bucket: str, prefix: str = "", *, limit: int = 100, search: str = ""
) -> list[dict[str, Any]]:
    """The entries supabase-js ``list(prefix)`` gets back: ``storage.search`` run as ``user``."""
    if prefix and not prefix.endswith("/"):
        prefix += "/"  # storage-api assumes a prefix is a folder
    with _scoped(conn, user, LIST, "POST", f"/object/list/{bucket}"), conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "select * from storage.search(%s, %s, %s, %s, %s, %s, %s, %s)",
            (prefix, bucket, limit, len((prefix + search).split("/")), 0, search, "name", "asc"),
        )
        return list(cur.fetchall())


@_request
def move(conn: psycopg.Connection, user: AuthUser, bucket: str, source: str, destination: str) -> StoredObject:
    """Rename an object as ``user``, as supabase-js ``move()`` makes Storage do."""
    _check_key(destination)
    version = str(uuid.uuid4())
    owner = str(user.id)
    params = {
        "name": destination,
        "bucket": bucket,
        "version": version,
        "owner": owner,
        "owner_id": owner,
        "source": source,
    }
    update = """
        UPDATE storage.objects
        SET name = %(name)s, bucket_id = %(bucket)s, owner = %(owner)s, owner_id = %(owner_id)s, version = %(version)s
        WHERE bucket_id = %(bucket)s AND name = %(source)s
        RETURNING *
    """
    with _scoped(conn, user, MOVE, "POST", "/object/move", rollback=True):
        found = _row(
            conn, "SELECT id FROM storage.objects WHERE name = %(source)s AND bucket_id = %(bucket)s LIMIT 1", params
        )
        updated = _row(conn, update, params)
        if found is None or updated is None:
            raise StorageApiError(404, "NoSuchKey", "Object not found")
    with _scoped(conn, None, MOVE, "POST", "/object/move"):
        row = _row(conn, update, params)
    if row is None:
        raise StorageApiError(404, "NoSuchKey", "Object not found")
    return _stored(row)


@_request
def remove(conn: psycopg.Connection, user: AuthUser, bucket: str, path: str) -> StoredObject:
    """Delete an object as ``user`` (``DELETE /object/:bucket/:path``); 403 "Access denied" if RLS keeps it."""
    route = f"/object/{bucket}/{path}"
    params = {"name": path, "bucket": bucket}
    with _scoped(conn, None, DELETE, "DELETE", route):
        found = _row(
            conn,
            "SELECT id, version, metadata FROM storage.objects WHERE name = %(name)s AND bucket_id = %(bucket)s"
            " LIMIT 1 FOR UPDATE",
            params,
        )
    if found is None:
        raise StorageApiError(404, "NoSuchKey", "Object not found")
    with _scoped(conn, user, DELETE, "DELETE", route):
        row = _row(
            conn, "DELETE FROM storage.objects WHERE name = %(name)s AND bucket_id = %(bucket)s RETURNING *", params
        )
    if row is None:
        raise StorageApiError(403, "AccessDenied", "Access denied")
    return _stored(row)


# --- The smoke requests ------------------------------------------------------------------------

DEFAULT_PATH = "{user_id}/supamigrate-smoke.txt"
SMOKE_DATA = b"supamigrate smoke test\n"


@dataclass(frozen=True)
class ObjectPolicy:
    """A policy on ``storage.objects`` as pg_policies shows it."""

    name: str
    command: str
    roles: tuple[str, ...]
    using: str | None
    check: str | None

    def grants(self, command: str) -> bool:
        """Whether a signed-in user's ``command`` (SELECT, INSERT, UPDATE, DELETE) meets this policy."""
        return self.command in (command, "ALL") and bool({"authenticated", "public"} & set(self.roles))

    def names_bucket(self, bucket: str) -> bool:
        """Whether this policy is about ``bucket``: it names it, or names no bucket at all."""
        text = f"{self.using or ''} {self.check or ''}"
        return "bucket_id" not in text or f"'{bucket}'" in text

    @property
    def culprit(self) -> str:
        return f"policy storage.objects: {self.name}"


_POLICIES = """
SELECT p.polname, CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
         WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
       CASE WHEN p.polroles = '{0}' THEN ARRAY['public']
            ELSE ARRAY(SELECT rolname::text FROM pg_roles WHERE oid = ANY(p.polroles)) END,
       pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
FROM pg_policy p WHERE p.polrelid = 'storage.objects'::regclass ORDER BY p.polname
"""


def object_policies(conn: psycopg.Connection) -> list[ObjectPolicy]:
    """The policies on ``storage.objects``, in name order (pg_policies' columns, read from pg_policy)."""
    rows = conn.execute(_POLICIES).fetchall()
    return [ObjectPolicy(name, cmd, tuple(roles), qual, check) for name, cmd, roles, qual, check in rows]


def _granted(
    conn: psycopg.Connection, options: Mapping[str, Any], *commands: str
) -> list[tuple[str, list[str] | None]]:
    """The buckets whose policies grant a signed-in user every one of ``commands``."""
    wanted = options.get("storage_buckets")
    buckets = conn.execute("SELECT id, allowed_mime_types FROM storage.buckets ORDER BY id").fetchall()
    if not buckets:
        return []
    policies = object_policies(conn)
    return [
        (bucket, mimes)
        for bucket, mimes in buckets
        if (wanted is None or bucket in wanted)
        and all(any(p.grants(c) and p.names_bucket(bucket) for p in policies) for c in commands)
    ]


def _applies(*commands: str) -> Callable[[psycopg.Connection], bool]:
    def applies(conn: psycopg.Connection) -> bool:
        return bool(_granted(conn, {}, *commands))

    applies.__doc__ = f"Whether a bucket's policies grant signed-in users {' and '.join(commands)}."
    return applies


def _content_type(mimes: list[str] | None) -> str:
    """A type the bucket accepts: text/plain unless its allowed_mime_types rule that out."""
    if not mimes or any(m in ("text/plain", "text/*", "*/*") for m in mimes):
        return "text/plain"
    return mimes[0].replace("*", "plain")


def _path(ctx: SmokeContext, user: AuthUser, content_type: str) -> str:
    path = str(ctx.options.get("storage_path", DEFAULT_PATH)).format(user_id=user.id)
    if content_type != "text/plain" and path.endswith(".txt"):
        path = path[: -len(".txt")] + (mimetypes.guess_extension(content_type) or ".bin")
    return path


def _culprits(conn: psycopg.Connection, exc: StorageApiError, bucket: str, *commands: str) -> str | None:
    """The object at fault: the PL/pgSQL function the error came from, else the bucket's policies."""
    function = function_at_fault(conn, exc.diagnostics.get("context"), SEARCH_PATH)
    if function is not None:
        return function
    names = [p.culprit for p in object_policies(conn) if p.names_bucket(bucket) and any(p.grants(c) for c in commands)]
    return ", ".join(names) or None


FIXES = {
    "storage_upload": (
        "make an insert policy on storage.objects for authenticated accept the object: with check "
        "(bucket_id = '{bucket}' and (storage.foldername(name))[1] = (select auth.uid())::text)"
    ),
    "storage_upsert": (
        "an upsert (x-upsert: true) is INSERT ... ON CONFLICT DO UPDATE: the user needs insert, select "
        "and update policies on storage.objects for their own objects in '{bucket}'"
    ),
    "storage_download": (
        "make a select policy on storage.objects for authenticated show the object: using "
        "(bucket_id = '{bucket}' and (storage.foldername(name))[1] = (select auth.uid())::text)"
    ),
    "storage_list": (
        "list() runs storage.search as the user: a select policy on storage.objects must show the "
        "user's objects in '{bucket}'"
    ),
    "storage_move": (
        "make an update policy on storage.objects for authenticated allow the rename: using (the "
        "source object) and with check (the new name) true for the user's own folder in '{bucket}'"
    ),
    "storage_delete": (
        "make a delete policy on storage.objects for authenticated allow it: using "
        "(bucket_id = '{bucket}' and (storage.foldername(name))[1] = (select auth.uid())::text)"
    ),
}

_COMMANDS = {
    "storage_upload": ("INSERT",),
    # An upsert is meant where users may replace their files; it also needs SELECT, which a
    # project easily forgets (a failure then names the select policies too).
    "storage_upsert": ("INSERT", "UPDATE"),
    "storage_download": ("SELECT",),
    "storage_list": ("SELECT",),
    "storage_move": ("UPDATE",),
    "storage_delete": ("DELETE",),
}


def storage_failure(
    conn: psycopg.Connection, request: str, bucket: str, path: str, exc: StorageApiError
) -> SmokeFailure:
    """The smoke failure of a Storage request Storage refused with ``exc``."""
    error: SupamigrateError | psycopg.Error = exc.pg_error if exc.pg_error is not None else exc
    return SmokeFailure(
        request=request,
        service_error=f"{bucket}/{path}: {exc.message}",
        error=error,
        culprit=_culprits(
            conn, exc, bucket, *_COMMANDS[request], *(("SELECT",) if request == "storage_upsert" else ())
        ),
        fix=FIXES[request].format(bucket=bucket),
    )


def _smoke(request: str, act: Callable[[psycopg.Connection, AuthUser, str, str, str], None]) -> SmokeRequest:
    commands = _COMMANDS[request]

    def run(ctx: SmokeContext) -> None:
        conn, user = ctx.conn, ctx.user
        if user is None:
            return  # no signed-in user: the sign-up failed, and that is reported already
        for bucket, mimes in _granted(conn, ctx.options, *commands):
            # Each bucket's try leaves nothing behind, the settings its steps made included.
            content_type = _content_type(mimes)
            path = _path(ctx, user, content_type)
            token = _ROLLED_BACK.set(True)
            try:
                with conn.transaction(force_rollback=True):
                    act(conn, user, bucket, path, content_type)
            except StorageApiError as exc:
                # Read after the rollback, as the caller: the policies and functions at fault.
                raise SmokeError(storage_failure(conn, request, bucket, path, exc)) from exc
            finally:
                _ROLLED_BACK.reset(token)

    run.__doc__ = f"{request} as a signed-in user, in every bucket whose policies grant it."
    return SmokeRequest(request, "storage", _applies(*commands), run)


def _upload(conn: psycopg.Connection, user: AuthUser, bucket: str, path: str, content_type: str) -> None:
    upload(conn, user, bucket, path, SMOKE_DATA, content_type=content_type)


def _upsert(conn: psycopg.Connection, user: AuthUser, bucket: str, path: str, content_type: str) -> None:
    put_object(conn, user, bucket, path, SMOKE_DATA)
    upload(conn, user, bucket, path, SMOKE_DATA, upsert=True, content_type=content_type)


def _download(conn: psycopg.Connection, user: AuthUser, bucket: str, path: str, content_type: str) -> None:
    put_object(conn, user, bucket, path, SMOKE_DATA)
    download(conn, user, bucket, path)


def _list(conn: psycopg.Connection, user: AuthUser, bucket: str, path: str, content_type: str) -> None:
    put_object(conn, user, bucket, path, SMOKE_DATA)
    folder, _, name = path.rpartition("/")
    entries = list_objects(conn, user, bucket, folder)
    if not any(e["name"] == name and e["id"] is not None for e in entries):
        # Storage answers 200 with a list that lacks the file: the policy hid it.
        raise StorageApiError(200, "OK", f"list('{folder}') does not show {name}")


def _move(conn: psycopg.Connection, user: AuthUser, bucket: str, path: str, content_type: str) -> None:
    put_object(conn, user, bucket, path, SMOKE_DATA)
    folder, _, name = path.rpartition("/")
    move(conn, user, bucket, path, f"{folder}/moved-{name}" if folder else f"moved-{name}")


def _delete(conn: psycopg.Connection, user: AuthUser, bucket: str, path: str, content_type: str) -> None:
    put_object(conn, user, bucket, path, SMOKE_DATA)
    remove(conn, user, bucket, path)


STORAGE_REQUESTS: list[SmokeRequest] = [
    _smoke("storage_upload", _upload),
    _smoke("storage_upsert", _upsert),
    _smoke("storage_download", _download),
    _smoke("storage_list", _list),
    _smoke("storage_move", _move),
    _smoke("storage_delete", _delete),
]
