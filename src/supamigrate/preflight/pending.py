"""The target as the pending migrations will leave it, statement by statement.

``model`` is the project's side (the platform stub, then every migration, replayed by the shared
schema model); the sets here are the target's side: what the pending statements add to it and
drop from it as they run. Every check reads both through one ``Pending``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pglast import ast

from ..findings import FileLocation, Location
from ..sql.objects import Name
from ..sql.schema_model import SchemaModel
from ..sql.source import ParsedStatement
from .result import PreflightReport, add
from .rows import Limits
from .target import Relation, Target

Key = tuple[str, str]  # (schema, name)


@dataclass
class Pending:
    target: Target
    model: SchemaModel[ParsedStatement]
    report: PreflightReport
    root: Path
    relations: set[Key] = field(default_factory=set)  # created by pending statements so far
    dropped: set[Key] = field(default_factory=set)
    # Pending CREATE ... IF NOT EXISTS that the target's existing object will swallow.
    swallowed: dict[Key, Relation] = field(default_factory=dict)
    functions: set[Key] = field(default_factory=set)
    roles: set[str] = field(default_factory=set)
    schemas: set[str] = field(default_factory=set)
    # For the data checks (``data.py``): how much to read, the tables pending statements write
    # to (where), the columns they add (with a default or not), the constraints added NOT VALID.
    limits: Limits = field(default_factory=Limits)
    written: dict[Key, FileLocation] = field(default_factory=dict)
    added: dict[tuple[Key, str], bool] = field(default_factory=dict)
    not_valid: dict[tuple[Key, str], tuple[ast.Constraint, ParsedStatement]] = field(default_factory=dict)
    compared: set[Key] = field(default_factory=set)  # tables whose foreign keys were compared
    spent_s: float = 0.0  # time the data checks' reads took so far, against limits.budget_ms

    def where(self, stmt: ParsedStatement) -> FileLocation:
        line, column = stmt.file.line_col(stmt.start)
        return FileLocation(stmt.file.path, line, column).relative_to(self.root)

    def add(
        self, level: str, code: str, message: str, where: Location | None = None, hint: str | None = None
    ) -> None:
        add(self.report, level, code, message, where, hint)

    def local_resolves(self, name: Name) -> Key | None:
        """The relation of the project's own (stub or migrations) that ``name`` finds, if any."""
        return self.model.find(name, self.model.relations)

    def target_has(self, key: Key) -> bool:
        if key in self.dropped:
            return key in self.relations
        return key in self.relations or self.target.relation(*key) is not None

    def target_resolves(self, name: Name) -> Key | None:
        """What ``name`` finds on the target at this point, along the same search_path."""
        for schema in [name.schema] if name.schema else self.model.lookup_path():
            if self.target_has((schema, name.name)):
                return (schema, name.name)
        return None

    def filled(self, name: Name) -> Key | None:
        """The target's table that ``name`` finds, unless a pending statement created it (so it
        has no rows yet); None also when the target has no such table."""
        key = self.target_resolves(name)
        if key is None or (key in self.relations and key not in self.swallowed):
            return None
        found = self.swallowed.get(key) or self.target.relation(*key)
        return key if found is not None and found.kind == "table" else None

    def foreign(self, key: Key) -> Relation | None:
        """The target's relation at ``key`` unless it is the project's (or will be, once pushed)."""
        if key in self.swallowed:
            return self.swallowed[key]
        if key in self.relations or key in self.model.relations:
            return None
        return self.target.relation(*key)
