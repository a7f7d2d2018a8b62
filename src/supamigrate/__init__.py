"""supamigrate: lint, apply and test Supabase migrations on a real, local PostgreSQL, without Docker."""

from .errors import MigrationError, ProjectError, ServerError, SupamigrateError
from .migrations import MigrationSet
from .project import Project

__all__ = ["MigrationError", "MigrationSet", "Project", "ProjectError", "ServerError", "SupamigrateError"]
__version__ = "0.1.0"
