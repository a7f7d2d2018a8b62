"""One model of what the migrations have built so far, replayed statement by statement.

The lint rules and preflight both ask it. It follows ``search_path`` as the runner does: each
file starts from role postgres's path (the runner's RESET ALL), and ``SET [LOCAL] search_path``,
``RESET`` and ``set_config('search_path', ...)`` change it for the rest of the file. An
unqualified name that creates an object lands in the first schema of the path; one that refers
to an object is looked up along the path among the objects replayed so far (and lands where a
creation would when none is known). Renames and SET SCHEMA are followed; function bodies, DO
blocks and dynamic SQL are not read.

The model reads five attributes of a statement (``node``, ``offset``, ``start``, ``text`` and
``file`` with its ``number`` and ``name``), and hands the same statements back to its callers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, GrantTargetType, ObjectType, RoleSpecType, VariableSetKind

from . import objects
from .objects import DEFAULT_SEARCH_PATH, RELATION_KINDS, Name
from .search_path import SearchPath, dotted_key


class StatementFile(Protocol):
    @property
    def number(self) -> int: ...
    @property
    def name(self) -> str: ...


class Parsed(Protocol):
    """What the model reads of a statement (``sql.source.ParsedStatement`` has it)."""

    @property
    def node(self) -> ast.Node | None: ...
    @property
    def offset(self) -> int: ...
    @property
    def start(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def file(self) -> StatementFile: ...


S = TypeVar("S", bound=Parsed)


def schema_of(qualified: str) -> str:
    return qualified.split(".", 1)[0]


def located(stmt: Parsed, location: int | None) -> int:
    """File offset of a node ``location`` in ``stmt`` (its first keyword if unknown)."""
    return stmt.start if location is None or location < 0 else stmt.offset + location


def type_name(col: ast.ColumnDef) -> str:
    """The last part of a column's type name as the parser gives it (``int4``, ``varchar``)."""
    names = _names(col.typeName.names if col.typeName is not None else ())
    return names[-1] if names else ""


def column_constraints(col: ast.ColumnDef) -> tuple[ast.Constraint, ...]:
    return tuple(c for c in col.constraints or () if isinstance(c, ast.Constraint))


@dataclass(frozen=True)
class ForeignKey(Generic[S]):
    """A foreign key as written: the referencing table and columns, the target, the constraint."""

    table: str
    columns: tuple[str, ...]
    target: str
    constraint: ast.Constraint
    stmt: S

    @property
    def offset(self) -> int:
        return located(self.stmt, self.constraint.location)


@dataclass
class Table(Generic[S]):
    """A table as the migrations so far leave it. ``created`` is None for tables the migrations
    did not create (the platform's, or ones that existed before): they are assumed to hold data."""

    name: str
    created: S | None
    columns: dict[str, S] = field(default_factory=dict)
    indexes: list[tuple[str, ...]] = field(default_factory=list)
    foreign_keys: list[ForeignKey[S]] = field(default_factory=list)
    rls: bool = False
    written: S | None = None
    types: dict[str, str] = field(default_factory=dict)  # column -> its type's name (``int4``, ``text``)


@dataclass
class Function(Generic[S]):
    """The latest definition of a function name: is it SECURITY DEFINER, is its search_path set."""

    name: str
    stmt: S
    definer_offset: int | None = None
    search_path: bool = False
    volatile: bool = True  # the default when a definition names no volatility
    # The latest CREATE [OR REPLACE] statement, and the schemas its SET search_path names (None:
    # not set, so the caller's path applies; ``()``: ``set search_path = ''``).
    definition: S | None = None
    path: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Trigger(Generic[S]):
    """A trigger as created: its table, the function it executes, the statement."""

    name: str
    table: str
    function: str
    stmt: S


@dataclass(frozen=True)
class Policy(Generic[S]):
    name: str
    table: str
    stmt: S


def _names(nodes: Sequence[ast.Node] | None) -> tuple[str, ...]:
    return tuple(n.sval for n in nodes or () if isinstance(n, ast.String) and n.sval is not None)


def _element_keys(elt: ast.Node) -> Iterator[tuple[str, ...]]:
    """Column lists that a table element backs with an index (PRIMARY KEY, UNIQUE)."""
    indexed = (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE)
    if isinstance(elt, ast.ColumnDef):
        for c in column_constraints(elt):
            if c.contype in indexed:
                yield (elt.colname or "",)
    elif isinstance(elt, ast.Constraint) and elt.contype in indexed and elt.keys:
        yield _names(elt.keys)


_ADDS = (AlterTableType.AT_AddColumn, AlterTableType.AT_AddConstraint)
# What ALL PRIVILEGES stands for, by kind of object.
_PRIVILEGES = {
    "table": frozenset({"select", "insert", "update", "delete", "truncate", "references", "trigger"}),
    "function": frozenset({"execute"}),
}
_RELATION_TYPES = (
    ObjectType.OBJECT_TABLE,
    ObjectType.OBJECT_VIEW,
    ObjectType.OBJECT_MATVIEW,
    ObjectType.OBJECT_SEQUENCE,
    ObjectType.OBJECT_INDEX,
    ObjectType.OBJECT_FOREIGN_TABLE,
)


class SchemaModel(SearchPath, Generic[S]):
    """Tables, functions, policies and every created name, replayed in migration order.

    Rules read it as it stands *before* a statement and after the last one; preflight compares
    the same replay with a live database. ``enter(stmt)`` starts a new file's search_path when
    ``stmt`` opens one; ``apply`` calls it too.
    """

    def __init__(self) -> None:
        super().__init__()
        self._file: StatementFile | None = None
        self.tables: dict[str, Table[S]] = {}
        self.created: dict[tuple[str, str], S] = {}
        self.functions: dict[str, Function[S]] = {}
        self.policies: list[Policy[S]] = []
        # Privileges granted by the migrations: (``table:schema.name`` / ``function:schema.name``,
        # role or ``public``) -> privilege names (``all`` for ALL PRIVILEGES).
        self.grants: dict[tuple[str, str], set[str]] = {}
        self.triggers: dict[str, Trigger[S]] = {}  # by ``schema.table.name``

    # -- names, as the statement being read sees them ------------------------------------------

    def enter(self, stmt: Parsed) -> None:
        """Reset the search_path when ``stmt`` is the first one read from its file."""
        if stmt.file is not self._file:
            self._file = stmt.file
            self.search_path = DEFAULT_SEARCH_PATH

    def relation(self, name: Name) -> tuple[str, str] | None:
        """What a reference to relation ``name`` finds (tables touched so far count), or where
        it would be created."""
        for schema in [name.schema] if name.schema else self.lookup_path():
            if (schema, name.name) in self.relations or f"{schema}.{name.name}" in self.tables:
                return (schema, name.name)
        return self.place(name)

    def qualify(self, rv: ast.RangeVar | None) -> str:
        """``schema.name`` of a relation a statement refers to."""
        if rv is None:
            return ""
        name = objects.range_name(rv)
        return dotted_key(self.relation(name), name)

    def qualify_names(self, parts: tuple[str, ...]) -> str:
        """``schema.name`` of a relation named by a list of names (as DROP TABLE names them)."""
        name = objects.name_of(parts)
        return dotted_key(self.relation(name), name)

    def created_name(self, rv: ast.RangeVar | None) -> str:
        """``schema.name`` of a relation a statement creates."""
        if rv is None:
            return ""
        name = objects.range_name(rv)
        return dotted_key(self.place(name), name)

    def dotted(self, names: Sequence[ast.Node] | None, *, create: bool = False) -> str:
        """``schema.name`` of a function or type named by a name list, created or referred to."""
        parts = _names(names)
        if not parts:
            return ""
        name = objects.name_of(parts)
        if create:
            return dotted_key(self.place(name), name)
        return dotted_key(self.find(name, self.routines) or self.find(name, self.types) or self.place(name), name)

    # -- questions rules ask ----------------------------------------------------------------

    def created_before(self, kind: str, name: str) -> S | None:
        """The statement that first created ``kind`` ``name`` so far, if any."""
        return self.created.get((kind, name))

    def existed_before_file(self, table: str, stmt: Parsed) -> bool:
        """True when ``table`` was there before ``stmt``'s file ran: created by an earlier file,
        or not created by the migrations at all (a platform or pre-existing table)."""
        t = self.tables.get(table)
        return t is None or t.created is None or t.created.file.number < stmt.file.number

    def holds_data(self, table: str, stmt: Parsed) -> bool:
        """True when ``table`` may hold rows at ``stmt``: it existed before this file (production
        may have filled it), or this file wrote rows into it (INSERT, COPY, CREATE TABLE AS)."""
        if self.existed_before_file(table, stmt):
            return True
        t = self.tables.get(table)
        return t is not None and t.written is not None

    def origin(self, table: str) -> str:
        """Where a table comes from, for messages."""
        t = self.tables.get(table)
        if t is None or t.created is None:
            return "it is not created by these migrations, so it already exists on the database"
        return f"it is created by {t.created.file.name}"

    def foreign_keys(self, stmt: S) -> Iterator[ForeignKey[S]]:
        """Every foreign key a CREATE TABLE or ALTER TABLE statement declares."""
        node = stmt.node
        if isinstance(node, ast.CreateStmt):
            table = self.created_name(node.relation)
            for elt in node.tableElts or ():
                yield from self._element_fks(stmt, table, elt)
        elif isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TABLE:
            table = self.qualify(node.relation)
            for cmd in node.cmds or ():
                if isinstance(cmd, ast.AlterTableCmd) and isinstance(cmd.def_, ast.Node) and cmd.subtype in _ADDS:
                    yield from self._element_fks(stmt, table, cmd.def_)

    def _element_fks(self, stmt: S, table: str, elt: ast.Node) -> Iterator[ForeignKey[S]]:
        if isinstance(elt, ast.ColumnDef):
            for c in column_constraints(elt):
                if c.contype == ConstrType.CONSTR_FOREIGN and c.pktable is not None:
                    yield ForeignKey(table, (elt.colname or "",), self.qualify(c.pktable), c, stmt)
        elif isinstance(elt, ast.Constraint) and elt.contype == ConstrType.CONSTR_FOREIGN and elt.pktable is not None:
            yield ForeignKey(table, _names(elt.fk_attrs), self.qualify(elt.pktable), elt, stmt)

    # -- replay -----------------------------------------------------------------------------

    def table(self, name: str) -> Table[S]:
        """The table ``name``, known from now on (as pre-existing if the migrations never created it)."""
        if name not in self.tables:
            self.tables[name] = Table(name, None)
        return self.tables[name]

    def _create(self, kind: str, name: str, stmt: S) -> None:
        self.created.setdefault((kind, name), stmt)

    def apply(self, stmt: S, origin: str = "migration", facts: objects.Facts | None = None) -> None:
        """Replay one statement; ``origin`` labels the relations it creates (for preflight), and
        ``facts``, when the caller has read them already, spare reading the statement again."""
        self.enter(stmt)
        node = stmt.node
        if node is None:
            return
        handler = getattr(self, f"_on_{type(node).__name__}", None)
        if handler is not None:
            handler(stmt, node)
        self._learn(node, origin, facts)

    def _learn(self, node: ast.Node, origin: str, facts: objects.Facts | None) -> None:
        """Record the names a statement creates and drops, then the search_path it sets."""
        made = facts.creations if facts is not None else objects.creations(node, shapes=False)[0]
        for c in made:
            if c.kind == "schema":
                self.schemas.add(c.name.name)
                continue
            key = self.key(c)
            if key is None:
                continue
            if c.kind in RELATION_KINDS:
                self.relations[key] = origin
            elif c.kind == "type":
                self.types.add(key)
                if c.labels is None:  # a composite type is also a relation
                    self.relations.setdefault(key, origin)
            elif c.kind in ("function", "procedure"):
                self.routines.add(key)
        for d in facts.drops if facts is not None else objects.drops(node):
            if d.kind in RELATION_KINDS and (key := self.relation(d.name)) is not None:
                self.relations.pop(key, None)
        if isinstance(node, ast.CreateRoleStmt) and node.role:
            self.roles.add(node.role)
        path = facts.search_path if facts is not None else objects.search_path(node)
        if path is not None:
            self.search_path = path

    def _on_CreateStmt(self, stmt: S, node: ast.CreateStmt) -> None:
        name = self.created_name(node.relation)
        if node.if_not_exists and name in self.tables and self.tables[name].created is not None:
            return
        self._create("table", name, stmt)
        table = self.tables[name] = Table(name, stmt)
        for elt in node.tableElts or ():
            self._add_element(table, elt, stmt)
        table.foreign_keys.extend(self.foreign_keys(stmt))

    def _on_CreateTableAsStmt(self, stmt: S, node: ast.CreateTableAsStmt) -> None:
        name = self.created_name(node.into.rel if node.into is not None else None)
        if node.objtype == ObjectType.OBJECT_MATVIEW:
            self._create("view", name, stmt)
            return
        if node.if_not_exists and name in self.tables:
            return
        self._create("table", name, stmt)
        self.tables[name] = Table(name, stmt, written=stmt)

    def _add_element(self, table: Table[S], elt: ast.Node, stmt: S) -> None:
        if isinstance(elt, ast.ColumnDef) and elt.colname:
            table.columns[elt.colname] = stmt
            table.types[elt.colname] = type_name(elt)
        table.indexes.extend(_element_keys(elt))

    def _on_AlterTableStmt(self, stmt: S, node: ast.AlterTableStmt) -> None:
        if node.objtype != ObjectType.OBJECT_TABLE:
            return
        table = self.table(self.qualify(node.relation))
        for cmd in node.cmds or ():
            if not isinstance(cmd, ast.AlterTableCmd):
                continue
            if cmd.subtype in _ADDS and isinstance(cmd.def_, ast.Node):
                self._add_element(table, cmd.def_, stmt)
            elif cmd.subtype in (AlterTableType.AT_EnableRowSecurity, AlterTableType.AT_ForceRowSecurity):
                table.rls = True
            elif cmd.subtype == AlterTableType.AT_DisableRowSecurity:
                table.rls = False
            elif cmd.subtype == AlterTableType.AT_DropColumn and cmd.name:
                table.columns.pop(cmd.name, None)
                table.types.pop(cmd.name, None)
            elif cmd.subtype == AlterTableType.AT_AlterColumnType and cmd.name and isinstance(cmd.def_, ast.ColumnDef):
                table.types[cmd.name] = type_name(cmd.def_)
        table.foreign_keys.extend(self.foreign_keys(stmt))

    def _on_IndexStmt(self, stmt: S, node: ast.IndexStmt) -> None:
        table = self.qualify(node.relation)
        if node.idxname:
            self._create("index", f"{schema_of(table)}.{node.idxname}", stmt)
        columns: list[str] = []
        for elem in node.indexParams or ():
            if not isinstance(elem, ast.IndexElem) or not elem.name:
                break  # an expression: the columns after it cannot serve a lookup by column
            columns.append(elem.name)
        if columns:
            self.table(table).indexes.append(tuple(columns))

    def _on_RenameStmt(self, stmt: S, node: ast.RenameStmt) -> None:
        if node.renameType == ObjectType.OBJECT_COLUMN and node.relation is not None and node.subname:
            table = self.tables.get(self.qualify(node.relation))
            if table is not None and node.subname in table.columns and node.newname:
                table.columns[node.newname] = table.columns.pop(node.subname)
                if node.subname in table.types:
                    table.types[node.newname] = table.types.pop(node.subname)
            return
        if node.renameType in _RELATION_TYPES and node.relation is not None and node.newname:
            old = self.relation(objects.range_name(node.relation))
            if old is not None:
                self._move(old, (old[0], node.newname))

    def _on_AlterObjectSchemaStmt(self, stmt: S, node: ast.AlterObjectSchemaStmt) -> None:
        if node.objectType in _RELATION_TYPES and node.relation is not None and node.newschema:
            old = self.relation(objects.range_name(node.relation))
            if old is not None:
                self._move(old, (node.newschema, old[1]))

    def _move(self, old: tuple[str, str], new: tuple[str, str]) -> None:
        """A relation renamed or moved to another schema: its table record and name go along."""
        if old in self.relations:
            self.relations[new] = self.relations.pop(old)
        if old in self.types:  # a table's row type follows it
            self.types.discard(old)
            self.types.add(new)
        table = self.tables.pop(f"{old[0]}.{old[1]}", None)
        if table is not None:
            table.name = f"{new[0]}.{new[1]}"
            self.tables[table.name] = table

    def _on_DropStmt(self, stmt: S, node: ast.DropStmt) -> None:
        if node.removeType == ObjectType.OBJECT_TABLE:
            for obj in node.objects or ():
                parts = _names(obj if isinstance(obj, tuple) else ())
                if parts:
                    self.tables.pop(self.qualify_names(parts), None)
        elif node.removeType == ObjectType.OBJECT_TRIGGER:
            for obj in node.objects or ():
                parts = _names(obj if isinstance(obj, tuple) else ())
                if len(parts) > 1:
                    self.triggers.pop(f"{self.qualify_names(parts[:-1])}.{parts[-1]}", None)
        elif node.removeType in (ObjectType.OBJECT_FUNCTION, ObjectType.OBJECT_PROCEDURE):
            for obj in node.objects or ():
                if isinstance(obj, ast.ObjectWithArgs):
                    self.functions.pop(self.dotted(obj.objname), None)

    def _on_InsertStmt(self, stmt: S, node: ast.InsertStmt) -> None:
        self.table(self.qualify(node.relation)).written = stmt

    def _on_CopyStmt(self, stmt: S, node: ast.CopyStmt) -> None:
        if node.is_from and node.relation is not None:
            self.table(self.qualify(node.relation)).written = stmt

    def _on_CreateFunctionStmt(self, stmt: S, node: ast.CreateFunctionStmt) -> None:
        name = self.dotted(node.funcname, create=True)
        self._create("function", name, stmt)
        function = Function(name, stmt, definition=stmt)
        _apply_function_options(function, stmt, node.options)
        self.functions[name] = function

    def _on_AlterFunctionStmt(self, stmt: S, node: ast.AlterFunctionStmt) -> None:
        name = self.dotted(node.func.objname if node.func is not None else ())
        if name in self.functions:
            _apply_function_options(self.functions[name], stmt, node.actions)

    def _on_ViewStmt(self, stmt: S, node: ast.ViewStmt) -> None:
        self._create("view", self.created_name(node.view), stmt)

    def _on_CreateTrigStmt(self, stmt: S, node: ast.CreateTrigStmt) -> None:
        table = self.qualify(node.relation)
        self._create("trigger", f"{table}.{node.trigname}", stmt)
        trigger = Trigger(str(node.trigname), table, self.dotted(node.funcname), stmt)
        self.triggers[f"{table}.{trigger.name}"] = trigger

    def _on_CreateSeqStmt(self, stmt: S, node: ast.CreateSeqStmt) -> None:
        self._create("sequence", self.created_name(node.sequence), stmt)

    def _on_CreatePolicyStmt(self, stmt: S, node: ast.CreatePolicyStmt) -> None:
        self.policies.append(Policy(node.policy_name or "", self.qualify(node.table), stmt))

    def granted(self, kind: str, name: str, role: str, privilege: str) -> bool:
        """Whether the migrations granted ``privilege`` on ``kind`` ``name`` to ``role`` (or PUBLIC)."""
        return any(
            bool(self.grants.get((f"{kind}:{name}", who), set()) & {privilege, "all"}) for who in (role, "public")
        )

    def _on_GrantStmt(self, stmt: S, node: ast.GrantStmt) -> None:
        kinds = {ObjectType.OBJECT_TABLE: "table", ObjectType.OBJECT_FUNCTION: "function"}
        if node.objtype not in kinds:
            return
        kind = kinds[ObjectType(node.objtype)]
        names: list[str] = []
        if node.targtype == GrantTargetType.ACL_TARGET_ALL_IN_SCHEMA:
            schemas = set(_names(node.objects))
            known = self.tables if kind == "table" else self.functions
            names = [n for n in known if schema_of(n) in schemas]
        elif node.targtype == GrantTargetType.ACL_TARGET_OBJECT:
            for obj in node.objects or ():
                if isinstance(obj, ast.RangeVar):
                    names.append(self.qualify(obj))
                elif isinstance(obj, ast.ObjectWithArgs):
                    names.append(self.dotted(obj.objname))
        privileges = {str(p.priv_name) for p in node.privileges or () if isinstance(p, ast.AccessPriv)} or {"all"}
        for role in node.grantees or ():
            if not isinstance(role, ast.RoleSpec):
                continue
            who = "public" if role.roletype == RoleSpecType.ROLESPEC_PUBLIC else str(role.rolename)
            for name in names:
                held = self.grants.setdefault((f"{kind}:{name}", who), set())
                if node.is_grant:
                    held |= privileges
                elif "all" in privileges:
                    held.clear()
                else:
                    if "all" in held:  # ALL then REVOKE one: the others stay
                        held |= _PRIVILEGES[kind] - {"all"}
                    held -= privileges | {"all"}

    def _on_CreateEnumStmt(self, stmt: S, node: ast.CreateEnumStmt) -> None:
        self._create("type", self.dotted(node.typeName, create=True), stmt)

    def _on_CompositeTypeStmt(self, stmt: S, node: ast.CompositeTypeStmt) -> None:
        self._create("type", self.created_name(node.typevar), stmt)

    def _on_CreateDomainStmt(self, stmt: S, node: ast.CreateDomainStmt) -> None:
        self._create("type", self.dotted(node.domainname, create=True), stmt)


def _apply_function_options(function: Function[S], stmt: S, options: Sequence[ast.Node] | None) -> None:
    for opt in options or ():
        if not isinstance(opt, ast.DefElem):
            continue
        if opt.defname == "volatility" and isinstance(opt.arg, ast.String):
            function.volatile = opt.arg.sval == "volatile"
        elif opt.defname == "security" and isinstance(opt.arg, ast.Boolean):
            function.definer_offset = located(stmt, opt.location) if opt.arg.boolval else None
            function.stmt = stmt
        elif opt.defname == "set" and isinstance(opt.arg, ast.VariableSetStmt):
            if opt.arg.kind == VariableSetKind.VAR_RESET_ALL:
                function.search_path = False
                function.path = None
            elif opt.arg.name == "search_path":
                function.search_path = opt.arg.kind != VariableSetKind.VAR_RESET
                function.path = objects.search_path(opt.arg) if function.search_path else None
