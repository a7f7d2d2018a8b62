"""What the migrations have built so far, replayed statement by statement from the parse trees.

Rules ask the state as it stands *before* a statement (was this table created by an earlier
migration? does it hold data?) and as it stands after the last migration (is RLS ever enabled?).
Names are resolved the way the migration role's ``search_path`` resolves them for creation: an
unqualified name lands in ``public``. Renames of tables are followed; function bodies, DO blocks
and dynamic SQL are not read.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from pglast import ast
from pglast.enums import AlterTableType, ConstrType, ObjectType, VariableSetKind

from .sources import ParsedStatement

DEFAULT_SCHEMA = "public"


def qualify(rv: ast.RangeVar | None) -> str:
    """``schema.name`` of a relation; unqualified names resolve to ``public``."""
    if rv is None:
        return ""
    return f"{rv.schemaname or DEFAULT_SCHEMA}.{rv.relname}"


def dotted(names: Sequence[ast.Node] | None) -> str:
    """``schema.name`` of a name list (``String`` nodes); unqualified names resolve to ``public``."""
    parts = [n.sval for n in names or () if isinstance(n, ast.String) and n.sval is not None]
    if len(parts) == 1:
        parts.insert(0, DEFAULT_SCHEMA)
    return ".".join(parts[-2:])


def schema_of(qualified: str) -> str:
    return qualified.split(".", 1)[0]


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key as written: the referencing table and columns, the target, the constraint."""

    table: str
    columns: tuple[str, ...]
    target: str
    constraint: ast.Constraint
    stmt: ParsedStatement

    @property
    def offset(self) -> int:
        return self.stmt.at(self.constraint.location)


def _names(nodes: Sequence[ast.Node] | None) -> tuple[str, ...]:
    return tuple(n.sval for n in nodes or () if isinstance(n, ast.String) and n.sval is not None)


def column_constraints(col: ast.ColumnDef) -> tuple[ast.Constraint, ...]:
    return tuple(c for c in col.constraints or () if isinstance(c, ast.Constraint))


def foreign_keys(stmt: ParsedStatement) -> Iterator[ForeignKey]:
    """Every foreign key a CREATE TABLE or ALTER TABLE statement declares."""
    node = stmt.node
    if isinstance(node, ast.CreateStmt):
        table = qualify(node.relation)
        for elt in node.tableElts or ():
            yield from _element_fks(stmt, table, elt)
    elif isinstance(node, ast.AlterTableStmt) and node.objtype == ObjectType.OBJECT_TABLE:
        table = qualify(node.relation)
        for cmd in node.cmds or ():
            if (
                isinstance(cmd, ast.AlterTableCmd)
                and isinstance(cmd.def_, ast.Node)
                and cmd.subtype in (AlterTableType.AT_AddColumn, AlterTableType.AT_AddConstraint)
            ):
                yield from _element_fks(stmt, table, cmd.def_)


def _element_fks(stmt: ParsedStatement, table: str, elt: ast.Node) -> Iterator[ForeignKey]:
    if isinstance(elt, ast.ColumnDef):
        for c in column_constraints(elt):
            if c.contype == ConstrType.CONSTR_FOREIGN and c.pktable is not None:
                yield ForeignKey(table, (elt.colname or "",), qualify(c.pktable), c, stmt)
    elif isinstance(elt, ast.Constraint) and elt.contype == ConstrType.CONSTR_FOREIGN and elt.pktable is not None:
        yield ForeignKey(table, _names(elt.fk_attrs), qualify(elt.pktable), elt, stmt)


def _element_keys(elt: ast.Node) -> Iterator[tuple[str, ...]]:
    """Column lists that a table element backs with an index (PRIMARY KEY, UNIQUE, EXCLUDE)."""
    indexed = (ConstrType.CONSTR_PRIMARY, ConstrType.CONSTR_UNIQUE)
    if isinstance(elt, ast.ColumnDef):
        for c in column_constraints(elt):
            if c.contype in indexed:
                yield (elt.colname or "",)
    elif isinstance(elt, ast.Constraint) and elt.contype in indexed and elt.keys:
        yield _names(elt.keys)


@dataclass
class Table:
    """A table as the migrations so far leave it. ``created`` is None for tables the migrations
    did not create (the platform's, or ones that existed before): they are assumed to hold data."""

    name: str
    created: ParsedStatement | None
    columns: dict[str, ParsedStatement] = field(default_factory=dict)
    indexes: list[tuple[str, ...]] = field(default_factory=list)
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    rls: bool = False
    written: ParsedStatement | None = None


@dataclass
class Function:
    """The latest definition of a function name: is it SECURITY DEFINER, is its search_path set."""

    name: str
    stmt: ParsedStatement
    definer_offset: int | None = None
    search_path: bool = False
    volatile: bool = True  # the default when a definition names no volatility


@dataclass(frozen=True)
class Policy:
    name: str
    table: str
    stmt: ParsedStatement


@dataclass
class SchemaState:
    """Tables, functions, policies and created object names, replayed in migration order."""

    tables: dict[str, Table] = field(default_factory=dict)
    created: dict[tuple[str, str], ParsedStatement] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    policies: list[Policy] = field(default_factory=list)

    # -- questions rules ask ----------------------------------------------------------------

    def created_before(self, kind: str, name: str) -> ParsedStatement | None:
        """The statement that first created ``kind`` ``name`` so far, if any."""
        return self.created.get((kind, name))

    def existed_before_file(self, table: str, stmt: ParsedStatement) -> bool:
        """True when ``table`` was there before ``stmt``'s file ran: created by an earlier file,
        or not created by the migrations at all (a platform or pre-existing table)."""
        t = self.tables.get(table)
        return t is None or t.created is None or t.created.file.number < stmt.file.number

    def holds_data(self, table: str, stmt: ParsedStatement) -> bool:
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

    # -- replay -----------------------------------------------------------------------------

    def table(self, name: str) -> Table:
        """The table ``name``, known from now on (as pre-existing if the migrations never created it)."""
        if name not in self.tables:
            self.tables[name] = Table(name, None)
        return self.tables[name]

    def _create(self, kind: str, name: str, stmt: ParsedStatement) -> None:
        self.created.setdefault((kind, name), stmt)

    def apply(self, stmt: ParsedStatement) -> None:
        """Replay one migration statement."""
        node = stmt.node
        handler = getattr(self, f"_on_{type(node).__name__}", None)
        if handler is not None:
            handler(stmt, node)

    def _on_CreateStmt(self, stmt: ParsedStatement, node: ast.CreateStmt) -> None:
        name = qualify(node.relation)
        if node.if_not_exists and name in self.tables and self.tables[name].created is not None:
            return
        self._create("table", name, stmt)
        table = self.tables[name] = Table(name, stmt)
        for elt in node.tableElts or ():
            self._add_element(table, elt, stmt)
        table.foreign_keys.extend(foreign_keys(stmt))

    def _on_CreateTableAsStmt(self, stmt: ParsedStatement, node: ast.CreateTableAsStmt) -> None:
        rel = node.into.rel if node.into is not None else None
        name = qualify(rel)
        if node.objtype == ObjectType.OBJECT_MATVIEW:
            self._create("view", name, stmt)
            return
        if node.if_not_exists and name in self.tables:
            return
        self._create("table", name, stmt)
        self.tables[name] = Table(name, stmt, written=stmt)

    def _add_element(self, table: Table, elt: ast.Node, stmt: ParsedStatement) -> None:
        if isinstance(elt, ast.ColumnDef) and elt.colname:
            table.columns[elt.colname] = stmt
        table.indexes.extend(_element_keys(elt))

    def _on_AlterTableStmt(self, stmt: ParsedStatement, node: ast.AlterTableStmt) -> None:
        if node.objtype != ObjectType.OBJECT_TABLE:
            return
        table = self.table(qualify(node.relation))
        for cmd in node.cmds or ():
            if not isinstance(cmd, ast.AlterTableCmd):
                continue
            if cmd.subtype in (AlterTableType.AT_AddColumn, AlterTableType.AT_AddConstraint) and isinstance(
                cmd.def_, ast.Node
            ):
                self._add_element(table, cmd.def_, stmt)
            elif cmd.subtype in (AlterTableType.AT_EnableRowSecurity, AlterTableType.AT_ForceRowSecurity):
                table.rls = True
            elif cmd.subtype == AlterTableType.AT_DisableRowSecurity:
                table.rls = False
            elif cmd.subtype == AlterTableType.AT_DropColumn and cmd.name:
                table.columns.pop(cmd.name, None)
        table.foreign_keys.extend(foreign_keys(stmt))

    def _on_IndexStmt(self, stmt: ParsedStatement, node: ast.IndexStmt) -> None:
        table = qualify(node.relation)
        if node.idxname:
            self._create("index", f"{schema_of(table)}.{node.idxname}", stmt)
        columns: list[str] = []
        for elem in node.indexParams or ():
            if not isinstance(elem, ast.IndexElem) or not elem.name:
                break  # an expression: the columns after it cannot serve a lookup by column
            columns.append(elem.name)
        if columns:
            self.table(table).indexes.append(tuple(columns))

    def _on_RenameStmt(self, stmt: ParsedStatement, node: ast.RenameStmt) -> None:
        if node.renameType == ObjectType.OBJECT_TABLE and node.newname:
            old = qualify(node.relation)
            new = f"{schema_of(old)}.{node.newname}"
            if old in self.tables:
                table = self.tables.pop(old)
                table.name = new
                self.tables[new] = table

    def _on_DropStmt(self, stmt: ParsedStatement, node: ast.DropStmt) -> None:
        if node.removeType == ObjectType.OBJECT_TABLE:
            for obj in node.objects or ():
                self.tables.pop(dotted(obj if isinstance(obj, tuple) else ()), None)
        elif node.removeType in (ObjectType.OBJECT_FUNCTION, ObjectType.OBJECT_PROCEDURE):
            for obj in node.objects or ():
                if isinstance(obj, ast.ObjectWithArgs):
                    self.functions.pop(dotted(obj.objname), None)

    def _on_InsertStmt(self, stmt: ParsedStatement, node: ast.InsertStmt) -> None:
        self.table(qualify(node.relation)).written = stmt

    def _on_CopyStmt(self, stmt: ParsedStatement, node: ast.CopyStmt) -> None:
        if node.is_from and node.relation is not None:
            self.table(qualify(node.relation)).written = stmt

    def _on_CreateFunctionStmt(self, stmt: ParsedStatement, node: ast.CreateFunctionStmt) -> None:
        name = dotted(node.funcname)
        self._create("function", name, stmt)
        function = Function(name, stmt)
        _apply_function_options(function, stmt, node.options)
        self.functions[name] = function

    def _on_AlterFunctionStmt(self, stmt: ParsedStatement, node: ast.AlterFunctionStmt) -> None:
        name = dotted(node.func.objname if node.func is not None else ())
        if name in self.functions:
            _apply_function_options(self.functions[name], stmt, node.actions)

    def _on_ViewStmt(self, stmt: ParsedStatement, node: ast.ViewStmt) -> None:
        self._create("view", qualify(node.view), stmt)

    def _on_CreateTrigStmt(self, stmt: ParsedStatement, node: ast.CreateTrigStmt) -> None:
        self._create("trigger", f"{qualify(node.relation)}.{node.trigname}", stmt)

    def _on_CreateSeqStmt(self, stmt: ParsedStatement, node: ast.CreateSeqStmt) -> None:
        self._create("sequence", qualify(node.sequence), stmt)

    def _on_CreatePolicyStmt(self, stmt: ParsedStatement, node: ast.CreatePolicyStmt) -> None:
        self.policies.append(Policy(node.policy_name or "", qualify(node.table), stmt))

    def _on_CreateEnumStmt(self, stmt: ParsedStatement, node: ast.CreateEnumStmt) -> None:
        self._create("type", dotted(node.typeName), stmt)

    def _on_CompositeTypeStmt(self, stmt: ParsedStatement, node: ast.CompositeTypeStmt) -> None:
        self._create("type", qualify(node.typevar), stmt)

    def _on_CreateDomainStmt(self, stmt: ParsedStatement, node: ast.CreateDomainStmt) -> None:
        self._create("type", dotted(node.domainname), stmt)


def _apply_function_options(function: Function, stmt: ParsedStatement, options: Sequence[ast.Node] | None) -> None:
    for opt in options or ():
        if not isinstance(opt, ast.DefElem):
            continue
        if opt.defname == "volatility" and isinstance(opt.arg, ast.String):
            function.volatile = opt.arg.sval == "volatile"
        elif opt.defname == "security" and isinstance(opt.arg, ast.Boolean):
            function.definer_offset = stmt.at(opt.location) if opt.arg.boolval else None
            function.stmt = stmt
        elif opt.defname == "set" and isinstance(opt.arg, ast.VariableSetStmt):
            if opt.arg.kind == VariableSetKind.VAR_RESET_ALL:
                function.search_path = False
            elif opt.arg.name == "search_path":
                function.search_path = opt.arg.kind != VariableSetKind.VAR_RESET
