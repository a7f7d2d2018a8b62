"""Test helpers that Supabase projects install from database.dev, provided by supamigrate itself.

``create extension "basejump-supabase_test_helpers"`` (or ``supabase_test_helpers``, any version
or schema clause) is answered with our own implementation of that package's SQL surface
(``tests.create_supabase_user``, ``tests.authenticate_as``, ``tests.rls_enabled``, ...), built in
and needing no opt-in; ``dbdev.install()`` of it succeeds without downloading anything. Where the
server lacks pg_tle, a stand-in keeps what ``pgtle.install_extension()`` installs (the way
database.dev's client and ``dbdev add`` install packages), and CREATE EXTENSION runs it. Nothing is
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
# Built in for servers that lack the real extension (the platform has it): pg_tle, which
# database.dev's client is installed with.
FALLBACKS: dict[str, str] = {"pg_tle": "pgtle"}
# Where the pg_tle stand-in keeps what pgtle.install_extension() was given.
TLE_TABLE = "supamigrate.tle_extensions"


def _text(filename: str) -> str:
    return resources.files(__package__).joinpath(filename).read_text(encoding="utf-8")


def extension_sql(name: str) -> str:
    """The SQL that builds the built-in extension ``name`` (one of ``BUILTINS`` or ``FALLBACKS``)."""
    if name == DBDEV:
        return dbdev_sql()
    if name in FALLBACKS:
        return _text(f"{name}.sql")
    return _text("supabase_test_helpers.sql")


def schema_of(name: str) -> str | None:
    """The schema a built-in extension creates its objects in (None: not built in)."""
    return BUILTINS.get(name) or FALLBACKS.get(name)


def dbdev_sql() -> str:
    """The ``dbdev`` schema with ``dbdev.install(text)``, a no-op for the packages of ``PACKAGES``."""
    packages = "ARRAY[" + ", ".join("'" + p.replace("'", "''") + "'" for p in PACKAGES) + "]"
    return _text("dbdev.sql").replace("@packages@", packages)
