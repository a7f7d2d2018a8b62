"""Preflight: what ``supabase db push`` would meet on a target database, found without writing.

The connection is read-only by construction: the session's transactions default to READ ONLY
and all the work happens in one read-only transaction that is rolled back, so it is safe against
any PostgreSQL, a shared Supabase instance included. It reports:

- the history errors ``supabase db push`` raises (remote versions missing locally, local files
  older than the last remote one) and which migrations are pending (``history.py``);
- objects the pending migrations create that already exist on the target, with their shape
  (``collisions.py``), and relations they drop that the migrations never made (``drops.py``);
- relations the pending migrations refer to that resolve differently on the target than in the
  project (an unqualified ``users`` finding another project's ``public.users``), and functions
  and roles they use that the target lacks (``references.py``);
- platform objects the migrations expect that the target lacks (``platform.py``);
- what the target's rows will do to a pending statement: NULLs, duplicates, orphans, rows a
  CHECK rejects, values a type change cannot convert, rewrites of large tables (``data.py`` and
  the modules it names, reading through the bounded queries of ``rows.py``), and foreign keys of an existing table
  that point elsewhere than the migration's (``foreign_keys.py``).

The project's side is the shared schema model (``sql/schema_model.py``), replayed over the
platform stub and every migration; the target's side is ``target.py``.
"""

from __future__ import annotations

from .result import PreflightReport
from .rows import Limits
from .run import preflight
from .target import open_read_only

__all__ = ["Limits", "PreflightReport", "open_read_only", "preflight"]
