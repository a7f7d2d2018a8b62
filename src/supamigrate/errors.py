"""Errors the core raises. Faces render them; none of them should surface as a traceback.

Every error pickles (xdist workers and multiprocessing send them between processes) with its
message, hint, location and diagnostics. An error caused by PostgreSQL keeps the psycopg error as
``pg_error`` (and as ``__cause__``, which pickling drops) and a copy of its ``diag`` fields as
``diagnostics``; ``caused_by`` lets a caller branch on it::

    except MigrationError as e:
        if e.caused_by(psycopg.errors.UniqueViolation): ...
        if e.caused_by(ExtensionUnavailable): ...
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

# The fields of psycopg's ``Error.diag`` (PostgreSQL's error report) that ``diagnostics`` copies.
DIAG_FIELDS = (
    "severity",
    "severity_nonlocalized",
    "sqlstate",
    "message_primary",
    "message_detail",
    "message_hint",
    "statement_position",
    "internal_position",
    "internal_query",
    "context",
    "schema_name",
    "table_name",
    "column_name",
    "datatype_name",
    "constraint_name",
    "source_file",
    "source_line",
    "source_function",
)


def diagnostics(exc: psycopg.Error | None) -> dict[str, str | None]:
    """The ``diag`` fields of a psycopg error, as plain strings (empty for None)."""
    if exc is None:
        return {}
    diag = exc.diag
    return {name: getattr(diag, name) for name in DIAG_FIELDS}


def _restore(cls: type[SupamigrateError], args: tuple[Any, ...]) -> SupamigrateError:
    """An error of ``cls`` with ``args``, not yet initialised; unpickling sets its attributes."""
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    return error


class SupamigrateError(Exception):
    """Base of every error the toolkit raises on purpose.

    ``hint`` says what to do about it; faces print it after the message. ``pg_error`` is the
    psycopg error behind it, if any, with its ``diag`` copied into ``diagnostics``.
    """

    def __init__(self, message: str, *, hint: str | None = None, pg_error: psycopg.Error | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.pg_error = pg_error
        self.diagnostics = diagnostics(pg_error)

    def render(self) -> str:
        """The message, then the hint on its own line."""
        return self.message + (f"\nhint: {self.hint}" if self.hint else "")

    def causes(self) -> tuple[BaseException, ...]:
        """This error and what it wraps: the psycopg error, and (MigrationError) a located reason."""
        return (self, *(c for c in (self.pg_error, getattr(self, "reason", None)) if c is not None))

    def caused_by(self, kind: type[BaseException] | tuple[type[BaseException], ...]) -> bool:
        """Whether this error, its psycopg error or the error it located is a ``kind``."""
        return any(isinstance(c, kind) for c in self.causes())

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's own reduce calls cls(*args), which keyword-only and extra arguments break.
        state = dict(self.__dict__)
        if state.get("pg_error") is not None:
            try:
                pickle.dumps(state["pg_error"])
            except Exception:  # diagnostics still hold what it said
                state["pg_error"] = None
        return (_restore, (type(self), self.args), state)


class ProjectError(SupamigrateError):
    """The project directory, its config.toml or its migration file set is unusable."""


class HistoryMismatch(ProjectError):
    """The target's migration history and the local files disagree, as ``supabase db push`` refuses.

    ``code`` names which way (``history-missing-locally``: versions on the target with no file;
    ``history-out-of-order``: files older than the target's last version), ``versions`` lists them.
    """

    def __init__(self, message: str, *, code: str, versions: tuple[str, ...], hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.versions = versions


class ServerError(SupamigrateError):
    """The ephemeral PostgreSQL server could not be found, started or reached."""


class ConnectionFailed(SupamigrateError):
    """A database named by URL could not be reached (the URL is shown without its password)."""


class RemoteRefused(SupamigrateError):
    """A write to a non-local database was asked for without ``--allow-remote``."""


class ExtensionUnavailable(SupamigrateError):
    """A statement needs an extension this server cannot create and the project does not shim.

    Raised by the platform layer; the migration runner locates it in a ``MigrationError`` whose
    ``reason`` it is (``caused_by(ExtensionUnavailable)``).
    """


class StubFailed(SupamigrateError):
    """A file of the platform stub failed to apply (``file``); ``pg_error`` is what the server said."""

    def __init__(self, message: str, *, file: str, pg_error: psycopg.Error, hint: str | None = None) -> None:
        super().__init__(message, hint=hint, pg_error=pg_error)
        self.file = file


@dataclass(frozen=True)
class SqlLocation:
    """Where in a file a statement or an error sits (1-based line and column)."""

    path: Path
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}"


class MigrationError(SupamigrateError):
    """A migration or seed file failed; it was rolled back whole.

    Carries the PostgreSQL diagnostics (``sqlstate``, ``detail``, ``hint``, ``context``) the way
    ``psycopg.errors.Error.diag`` exposes them, with the position turned into file:line:col, and
    the psycopg error itself as ``pg_error``. ``reason`` is the toolkit's error it located instead
    (an ``ExtensionUnavailable``, for one), when a statement failed before reaching the server.
    """

    def __init__(
        self,
        location: SqlLocation,
        message: str,
        *,
        sqlstate: str | None = None,
        detail: str | None = None,
        hint: str | None = None,
        context: str | None = None,
        statement: str | None = None,
        pg_error: psycopg.Error | None = None,
        reason: SupamigrateError | None = None,
    ) -> None:
        super().__init__(message, hint=hint, pg_error=pg_error)
        self.location = location
        self.sqlstate = sqlstate
        self.detail = detail
        self.context = context
        self.statement = statement
        self.reason = reason

    @property
    def path(self) -> Path:
        return self.location.path

    @property
    def line(self) -> int:
        return self.location.line

    @property
    def column(self) -> int:
        return self.location.column

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        """``path:line:col: SQLSTATE message`` followed by DETAIL/HINT/CONTEXT lines."""
        head = f"{self.location}: {self.sqlstate + ' ' if self.sqlstate else ''}{self.message}"
        lines = [head]
        if self.detail:
            lines.append(f"DETAIL: {self.detail}")
        if self.hint:
            lines.append(f"HINT: {self.hint}")
        if self.context:
            lines.append(f"CONTEXT: {self.context}")
        return "\n".join(lines)


class SettingsError(SupamigrateError):
    """A setting's value (from a flag, an environment variable or an ini key) is not of its type."""


class LostWorkError(MigrationError):
    """Work the Supabase CLI would lose without an error (a ROLLBACK, a BEGIN never committed).

    Located at the first cause; ``losses`` holds every ``migrations.LostWork`` found, each naming
    the statements lost. Raised after the run, with the database as the CLI leaves it, unless the
    project sets ``[migrations] allow_lost_work = true``.
    """

    def __init__(self, location: SqlLocation, message: str, *, losses: tuple[Any, ...], **kw: Any) -> None:
        super().__init__(location, message, **kw)
        self.losses = losses
