"""Declarative schemas: ``supamigrate diff`` and ``check``'s drift (issue 18).

``run.diff`` builds the migrations and the declared schemas (supabase/schemas, or
``[db.migrations] schema_paths``) on one ephemeral server, plans the migration between them with
pg-delta (``engine``), puts right what it gets wrong for Supabase (``postprocess``) and proves
the result by diffing again after applying it. ``run.drift_findings`` is the same comparison as
findings, for ``check``.
"""

from __future__ import annotations

from .engine import PGDELTA_PACKAGE, DiffError
from .run import DiffResult, declared_set, diff, drift_findings

__all__ = ["PGDELTA_PACKAGE", "DiffError", "DiffResult", "declared_set", "diff", "drift_findings"]
