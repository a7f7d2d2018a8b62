"""Errors the core raises. Faces render them; none of them should surface as a traceback."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class SupamigrateError(Exception):
    """Base of every error the toolkit raises on purpose.

    ``hint`` says what to do about it; faces print it after the message.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """The message, then the hint on its own line."""
        return self.message + (f"\nhint: {self.hint}" if self.hint else "")


class ProjectError(SupamigrateError):
    """The project directory, its config.toml or its migration file set is unusable."""


class ServerError(SupamigrateError):
    """The ephemeral PostgreSQL server could not be found, started or reached."""


class ConnectionFailed(SupamigrateError):
    """A database named by URL could not be reached (the URL is shown without its password)."""


class RemoteRefused(SupamigrateError):
    """A write to a non-local database was asked for without ``--allow-remote``."""


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
    ``psycopg.errors.Error.diag`` exposes them, with the position turned into file:line:col.
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
    ) -> None:
        super().__init__(message, hint=hint)
        self.location = location
        self.sqlstate = sqlstate
        self.detail = detail
        self.context = context
        self.statement = statement

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
