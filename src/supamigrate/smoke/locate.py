"""Where the migrations made a culprit (``function public.f``, ``constraint public.t.c``, ...).

The schema model replays the migrations only when a request failed, so a passing run pays nothing.
"""

from __future__ import annotations

import re
from functools import cached_property

from ..findings import FileLocation, Location, ObjectLocation
from ..migrations import MigrationSet
from ..project import Project
from ..sql.schema_model import SchemaModel
from ..sql.source import MIGRATION, ParsedStatement, SourceFile

# Where one culprit ends and the next begins in "policy t: a, policy t: b" (names may hold commas).
_PARTS = re.compile(r", (?=(?:function|constraint|policy|trigger|view|type|sequence) )")


class Locator:
    """Finds the statement that made a culprit, in the project's migrations."""

    def __init__(self, project: Project) -> None:
        self.project = project

    @cached_property
    def model(self) -> SchemaModel[ParsedStatement]:
        model: SchemaModel[ParsedStatement] = SchemaModel()
        mset = MigrationSet.discover(self.project.migrations_dir)
        for i, m in enumerate(mset.migrations):
            for stmt in SourceFile.read(m.path, MIGRATION, number=i, version=m.version).statements:
                model.apply(stmt)
        return model

    def _at(self, stmt: ParsedStatement, offset: int | None = None) -> FileLocation:
        line, column = stmt.file.line_col(stmt.start if offset is None else offset)
        return FileLocation(stmt.file.path, line, column).relative_to(self.project.root)

    def locate(self, culprit: str | None) -> Location | None:
        """The file:line:col that made ``culprit``, or the culprit by name when no migration did.

        Several culprits joined by ", " (two policies that both refuse) are placed at the latest
        statement making any of them: the one a fix most likely starts from.
        """
        if not culprit:
            return None
        found_all = [f for part in _PARTS.split(culprit) if isinstance(f := self._one(part), FileLocation)]
        if found_all:
            return max(found_all, key=lambda f: (str(f.path), f.line or 0, f.column or 0))
        return ObjectLocation(culprit)

    def _one(self, culprit: str) -> FileLocation | None:
        kind, _, name = culprit.partition(" ")
        found: FileLocation | None = None
        if kind == "function" and name in self.model.functions:
            found = self._at(self.model.functions[name].stmt)
        elif kind == "constraint":
            table, _, constraint = name.rpartition(".")
            found = self._constraint(table, constraint)
        elif kind == "policy":
            table, _, policy = name.partition(": ")
            for p in self.model.policies:
                if p.table == table and p.name == policy:
                    found = self._at(p.stmt)
        elif kind in ("trigger", "view", "type", "sequence"):
            stmt = self.model.created_before(kind, name)
            found = None if stmt is None else self._at(stmt)
        return found

    def _constraint(self, table: str, constraint: str) -> FileLocation | None:
        t = self.model.tables.get(table)
        for fk in t.foreign_keys if t is not None else ():
            # An unnamed foreign key gets PostgreSQL's name: <table>_<columns>_fkey.
            implicit = "_".join([table.rpartition(".")[2], *fk.columns, "fkey"])
            if constraint in (fk.constraint.conname, implicit):
                return self._at(fk.stmt, fk.offset)
        return None
