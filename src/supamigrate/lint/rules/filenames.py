"""SB011, SB012, SB013: the migration file set as the Supabase CLI reads it.

The CLI applies files named ``<digits>_<name>.sql`` in version order, skips any other name with
only a warning, refuses two files with one version, and refuses (without ``--include-all``) a
pending file older than the last version applied to the database. A *new* file is one the git
base revision does not hold (see ``vcs.py``); it must sort after every file that revision holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

from ...findings import Level
from ...migrations import MIGRATION_FILE, _version_key
from ..findings import Finding, Rule
from .base import Context, Family

SKIPPED_NAME = Rule(
    "SB011",
    "skipped-file-name",
    "a file in supabase/migrations whose name the Supabase CLI skips",
    "rename it to `<YYYYMMDDHHMMSS>_<name>.sql` (`supamigrate new NAME` makes one) or move it out",
)
DUPLICATE_VERSION = Rule(
    "SB012",
    "duplicate-version",
    "two migration files with the same version",
    "give the later file a new version (`supamigrate new NAME`, then move its SQL there)",
)
OUT_OF_ORDER = Rule(
    "SB013",
    "new-migration-out-of-order",
    "a new migration file whose version sorts before an existing one",
    "rename it to a version after the newest migration (`supamigrate new NAME` uses the current time)",
)


def at_end(ctx: Context) -> Iterator[Finding]:
    for skipped in ctx.listing.skipped:
        found = ctx.on_file(
            SKIPPED_NAME,
            skipped.path,
            f"supabase db push skips {skipped.path.name}: the name must match {MIGRATION_FILE.pattern}",
        )
        # A .sql file meant as a migration and never applied is the mistake; a README or a tool's
        # checksum file (atlas.sum) beside the migrations is not one, though the CLI names it too.
        yield found if skipped.path.suffix == ".sql" else dataclasses.replace(found, level=Level.WARNING)
    for first, later in ctx.listing.duplicates:
        yield ctx.on_file(
            DUPLICATE_VERSION,
            later.path,
            f"version {later.version} is also the version of {first.path.name}: the CLI refuses the whole set",
        )
    if ctx.new_files is None or not ctx.base_versions:
        return
    latest = max(ctx.base_versions, key=_version_key)
    for m in ctx.listing.migrations:
        if m.path in ctx.new_files and _version_key(m.version) < _version_key(latest):
            yield ctx.on_file(
                OUT_OF_ORDER,
                m.path,
                f"new migration {m.path.name} sorts before version {latest}, which {ctx.base_ref}"
                " already holds: supabase db push refuses it where that version is applied, and"
                " elsewhere it runs out of order",
            )


FAMILY = Family((SKIPPED_NAME, DUPLICATE_VERSION, OUT_OF_ORDER), at_end=at_end)
