"""Test helpers that Supabase projects install from database.dev, provided by supamigrate itself.

``create extension "basejump-supabase_test_helpers"`` (or ``supabase_test_helpers``, any version
or schema clause) is answered with our own implementation of that package's SQL surface
(``tests.create_supabase_user``, ``tests.authenticate_as``, ``tests.rls_enabled``, ...), built in
and needing no opt-in; ``dbdev.install()`` of it succeeds without downloading anything. Nothing is
written into the server's share directory and no superuser is needed.
"""

from __future__ import annotations

from importlib import resources

# Extension names that install the helpers, and the schema their objects live in.
EXTENSIONS = ("supabase_test_helpers", "basejump-supabase_test_helpers")
SCHEMA = "tests"
# The database.dev client, as an extension ("supabase-dbdev") and as the schema its docs call.
DBDEV = "supabase-dbdev"
DBDEV_SCHEMA = "dbdev"
# Packages dbdev.install() accepts: those supamigrate answers CREATE EXTENSION for.
PACKAGES = (*EXTENSIONS, DBDEV)
BUILTINS: dict[str, str] = {**dict.fromkeys(EXTENSIONS, SCHEMA), DBDEV: DBDEV_SCHEMA}


def _text(filename: str) -> str:
    return resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")


def extension_sql(name: str) -> str:
    """The SQL that builds the built-in extension ``name`` (one of ``BUILTINS``)."""
    if name == DBDEV:
        return dbdev_sql()
    return _text("supabase_test_helpers.sql")


def dbdev_sql() -> str:
    """The ``dbdev`` schema with ``dbdev.install(text)``, a no-op for the packages of ``PACKAGES``."""
    packages = "ARRAY[" + ", ".join("'" + p.replace("'", "''") + "'" for p in PACKAGES) + "]"
    return _text("dbdev.sql").replace("@packages@", packages)
