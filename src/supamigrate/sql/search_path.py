"""Where names land and what they find under the search_path a migration runs with.

PostgreSQL puts an unqualified CREATE in the first schema of the path that exists and looks an
unqualified reference up along the path. ``SearchPath`` keeps the path and the names created so
far; the schema model (``schema_model.py``) drives it statement by statement. Which schemas exist
on the target is not known here: every schema the path names except ``$user`` is taken as one.
"""

from __future__ import annotations

from .objects import DEFAULT_SEARCH_PATH, Creation, Name

MIGRATION_ROLE = "postgres"  # what ``$user`` stands for in the path migrations run with
FALLBACK_SCHEMA = "public"  # where a name lands when the path names no schema at all


class SearchPath:
    """Where names land and what they find under the current ``search_path``."""

    def __init__(self) -> None:
        self.search_path: tuple[str, ...] = DEFAULT_SEARCH_PATH
        # (schema, name) of every relation, type and routine the replayed statements created.
        self.relations: dict[tuple[str, str], str] = {}  # -> origin ("platform", "applied", ...)
        self.types: set[tuple[str, str]] = set()
        self.routines: set[tuple[str, str]] = set()
        self.schemas: set[str] = {"public"}
        self.roles: set[str] = set()

    def creation_schema(self) -> str | None:
        """Where an unqualified CREATE puts its object: the first schema of the path.

        ``$user`` (a schema named postgres) does not exist on Supabase, so it is skipped.
        """
        return next((s for s in self.search_path if s != "$user"), None)

    def lookup_path(self) -> list[str]:
        return [MIGRATION_ROLE if s == "$user" else s for s in self.search_path]

    def place(self, name: Name) -> tuple[str, str] | None:
        """Where a CREATE of ``name`` puts it (None: the path names no schema)."""
        schema = name.schema or self.creation_schema()
        return (schema, name.name) if schema else None

    def find(self, name: Name, known: set[tuple[str, str]] | dict[tuple[str, str], str]) -> tuple[str, str] | None:
        """The first ``(schema, name)`` along the path that is in ``known``."""
        for schema in [name.schema] if name.schema else self.lookup_path():
            if (schema, name.name) in known:
                return (schema, name.name)
        return None

    def key(self, c: Creation) -> tuple[str, str] | None:
        """Where a creation lands: an index beside its table, anything else by ``place``."""
        if c.kind == "index" and c.on is not None:
            table = self.relation(c.on)
            return (table[0], c.name.name) if table else None
        return self.place(c.name)

    def relation(self, name: Name) -> tuple[str, str] | None:
        """What a reference to relation ``name`` finds, or where it would be created."""
        return self.find(name, self.relations) or self.place(name)


def dotted_key(key: tuple[str, str] | None, name: Name) -> str:
    """``schema.name`` of a key, or of ``name`` in public when the path placed it nowhere."""
    return f"{key[0]}.{key[1]}" if key else f"{FALLBACK_SCHEMA}.{name.name}"
