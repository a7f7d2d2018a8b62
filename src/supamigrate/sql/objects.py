"""What one statement creates, drops and uses, read from its parse tree.

Names are kept as written: ``schema`` is None when the statement left it out; the schema model
(``schema_model.py``) places them through the search_path the statement runs with.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pglast
import pglast.parser
from pglast import ast
from pglast.enums import FunctionParameterMode, ObjectType, RoleSpecType, VariableSetKind
from pglast.stream import RawStream

# How migrations resolve unqualified names: role postgres's search_path (``ALTER ROLE postgres SET
# search_path`` in the stub's 00_roles.sql), which the runner's RESET ALL restores at each file.
DEFAULT_SEARCH_PATH = ("$user", "public", "extensions")

# Kinds of object that live in the relation namespace (tables, views, indexes... share one).
RELATION_KINDS = ("table", "view", "materialized view", "index", "sequence")
_SHAPELESS_MODES = (FunctionParameterMode.FUNC_PARAM_OUT, FunctionParameterMode.FUNC_PARAM_TABLE)
_DROP_KINDS = {
    ObjectType.OBJECT_TABLE: "table",
    ObjectType.OBJECT_VIEW: "view",
    ObjectType.OBJECT_MATVIEW: "materialized view",
    ObjectType.OBJECT_INDEX: "index",
    ObjectType.OBJECT_SEQUENCE: "sequence",
    ObjectType.OBJECT_TYPE: "type",
    ObjectType.OBJECT_DOMAIN: "type",
    ObjectType.OBJECT_SCHEMA: "schema",
}


@dataclass(frozen=True)
class Name:
    """A possibly qualified object name as written."""

    schema: str | None
    name: str

    def qualified(self, default: str | None) -> Name:
        return self if self.schema else Name(default, self.name)

    def __str__(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name


@dataclass(frozen=True)
class Creation:
    """An object a statement creates.

    ``mode`` is ``create``, ``if_not_exists`` or ``or_replace``; ``columns`` are (name, type as
    written) for tables, ``labels`` an enum's values, ``on`` the table of a policy or trigger,
    ``arguments`` a function's input argument types.
    """

    kind: str
    name: Name
    mode: str = "create"
    columns: tuple[tuple[str, str], ...] | None = None
    labels: tuple[str, ...] | None = None
    on: Name | None = None
    arguments: tuple[str, ...] | None = None
    schema_option: str | None = None


@dataclass(frozen=True)
class Drop:
    kind: str
    name: Name
    if_exists: bool


@dataclass(frozen=True)
class Reference:
    """A relation a statement reads, alters or points a foreign key at."""

    name: Name
    context: str


@dataclass
class Facts:
    """What one statement creates, drops and uses (``start``: its first token in its text)."""

    tag: str = ""
    start: int = 0
    creations: list[Creation] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    functions: list[Name] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    created_roles: list[str] = field(default_factory=list)
    search_path: tuple[str, ...] | None = None


def strings(nodes: tuple[ast.Node, ...] | None) -> tuple[str, ...]:
    """The values of the ``String`` nodes of a name list."""
    return tuple(str(n.sval) for n in nodes or () if isinstance(n, ast.String))


def name_of(parts: tuple[str, ...]) -> Name:
    return Name(parts[-2] if len(parts) > 1 else None, parts[-1])


def range_name(rv: ast.RangeVar | None) -> Name:
    assert rv is not None, "the parser always names the relation"
    return Name(rv.schemaname or None, str(rv.relname))


def _type_text(type_name: ast.TypeName | None) -> str:
    return str(RawStream()(type_name)) if type_name is not None else ""


def _mode(if_not_exists: bool | None, replace: bool | None = None) -> str:
    return "if_not_exists" if if_not_exists else ("or_replace" if replace else "create")


def _walk(root: ast.Node) -> Iterator[tuple[ast.Node, str]]:
    """Every node under ``root`` with the attribute name it hangs from in its parent."""
    stack: list[tuple[object, str]] = [(root, "")]
    while stack:
        item, member = stack.pop()
        if isinstance(item, tuple):
            stack.extend((child, member) for child in reversed(item))
        elif isinstance(item, ast.Node):
            yield item, member
            stack.extend((getattr(item, m), m) for m in reversed(list(item)))


_TAGS = {
    "CreateStmt": "CREATE TABLE",
    "CreateTableAsStmt": "CREATE TABLE AS",
    "ViewStmt": "CREATE VIEW",
    "IndexStmt": "CREATE INDEX",
    "CreatePolicyStmt": "CREATE POLICY",
    "AlterPolicyStmt": "ALTER POLICY",
    "CreateTrigStmt": "CREATE TRIGGER",
    "AlterTableStmt": "ALTER TABLE",
    "GrantStmt": "GRANT",
    "InsertStmt": "INSERT",
    "UpdateStmt": "UPDATE",
    "DeleteStmt": "DELETE",
    "CommentStmt": "COMMENT",
    "RuleStmt": "CREATE RULE",
}


def creations(stmt: ast.Node, *, shapes: bool = True) -> tuple[list[Creation], set[int]]:
    """What ``stmt`` creates, and the ids of the RangeVars that name those objects.

    Without ``shapes``, a table's columns and a function's argument types are left out (None):
    printing each type back is most of the cost, and only a comparison with a live object needs it.
    """
    own: set[int] = set()
    made: list[Creation] = []
    if isinstance(stmt, ast.CreateStmt):
        own.add(id(stmt.relation))
        columns = (
            tuple(
                (str(e.colname), _type_text(e.typeName))
                for e in stmt.tableElts or ()
                if isinstance(e, ast.ColumnDef) and e.typeName is not None
            )
            if shapes
            else None
        )
        made.append(Creation("table", range_name(stmt.relation), _mode(stmt.if_not_exists), columns=columns))
    elif isinstance(stmt, ast.CreateTableAsStmt):
        assert stmt.into is not None
        rel = stmt.into.rel
        own.add(id(rel))
        kind = "materialized view" if stmt.objtype == ObjectType.OBJECT_MATVIEW else "table"
        made.append(Creation(kind, range_name(rel), _mode(stmt.if_not_exists)))
    elif isinstance(stmt, ast.ViewStmt):
        own.add(id(stmt.view))
        made.append(Creation("view", range_name(stmt.view), _mode(False, stmt.replace)))
    elif isinstance(stmt, ast.IndexStmt) and stmt.idxname:
        table = range_name(stmt.relation)
        index = Name(table.schema, str(stmt.idxname))
        made.append(Creation("index", index, _mode(stmt.if_not_exists), on=table))
    elif isinstance(stmt, ast.CreateSeqStmt):
        own.add(id(stmt.sequence))
        made.append(Creation("sequence", range_name(stmt.sequence), _mode(stmt.if_not_exists)))
    elif isinstance(stmt, ast.CompositeTypeStmt):
        own.add(id(stmt.typevar))
        made.append(Creation("type", range_name(stmt.typevar)))
    elif isinstance(stmt, ast.CreateEnumStmt):
        made.append(Creation("type", name_of(strings(stmt.typeName)), labels=strings(stmt.vals)))
    elif isinstance(stmt, ast.CreateDomainStmt):
        made.append(Creation("type", name_of(strings(stmt.domainname))))
    elif isinstance(stmt, ast.CreateRangeStmt):
        made.append(Creation("type", name_of(strings(stmt.typeName))))
    elif isinstance(stmt, ast.CreateFunctionStmt):
        arguments = (
            tuple(
                _type_text(p.argType)
                for p in stmt.parameters or ()
                if isinstance(p, ast.FunctionParameter) and p.mode not in _SHAPELESS_MODES
            )
            if shapes
            else None
        )
        kind = "procedure" if stmt.is_procedure else "function"
        made.append(Creation(kind, name_of(strings(stmt.funcname)), _mode(False, stmt.replace), arguments=arguments))
    elif isinstance(stmt, ast.CreateSchemaStmt) and stmt.schemaname:
        made.append(Creation("schema", Name(None, str(stmt.schemaname)), _mode(stmt.if_not_exists)))
    elif isinstance(stmt, ast.CreateExtensionStmt):
        options = {o.defname: o.arg for o in stmt.options or () if isinstance(o, ast.DefElem)}
        option = options.get("schema")
        schema = str(option.sval) if isinstance(option, ast.String) else None
        made.append(
            Creation("extension", Name(None, str(stmt.extname)), _mode(stmt.if_not_exists), schema_option=schema)
        )
    elif isinstance(stmt, ast.CreatePolicyStmt):
        made.append(Creation("policy", Name(None, str(stmt.policy_name)), on=range_name(stmt.table)))
    elif isinstance(stmt, ast.CreateTrigStmt):
        trigger = Name(None, str(stmt.trigname))
        made.append(Creation("trigger", trigger, _mode(False, stmt.replace), on=range_name(stmt.relation)))
    return made, own


def drops(stmt: ast.Node) -> list[Drop]:
    """The objects a DROP statement names (tables, views, indexes, sequences, types, schemas)."""
    if not isinstance(stmt, ast.DropStmt) or stmt.removeType not in _DROP_KINDS:
        return []
    kind = _DROP_KINDS[stmt.removeType]
    dropped = []
    for obj in stmt.objects or ():
        if isinstance(obj, ast.TypeName):
            parts = strings(obj.names)
        elif isinstance(obj, tuple):
            parts = strings(obj)
        elif isinstance(obj, ast.String):
            parts = (str(obj.sval),)
        else:
            continue
        if parts:
            dropped.append(Drop(kind, name_of(parts), bool(stmt.missing_ok)))
    return dropped


def search_path(stmt: ast.Node) -> tuple[str, ...] | None:
    """The search_path a statement sets (SET [LOCAL], RESET, set_config), None if it sets none."""
    if isinstance(stmt, ast.VariableSetStmt):
        if stmt.kind == VariableSetKind.VAR_RESET_ALL:
            return DEFAULT_SEARCH_PATH
        if stmt.name != "search_path":
            return None
        if stmt.kind == VariableSetKind.VAR_SET_VALUE:
            return tuple(s for a in stmt.args or () if isinstance(a, ast.A_Const) for s in _path_items(a.val))
        if stmt.kind in (VariableSetKind.VAR_SET_DEFAULT, VariableSetKind.VAR_RESET):
            return DEFAULT_SEARCH_PATH
        return None
    if isinstance(stmt, ast.SelectStmt):
        for target in stmt.targetList or ():
            call = target.val if isinstance(target, ast.ResTarget) else None
            if isinstance(call, ast.FuncCall) and strings(call.funcname)[-1:] == ("set_config",):
                args = [a.val if isinstance(a, ast.A_Const) else None for a in call.args or ()]
                if len(args) == 3 and isinstance(args[0], ast.String) and args[0].sval == "search_path":
                    return tuple(_path_items(args[1]))
    return None


def _path_items(value: object) -> list[str]:
    """The schema names of one search_path item (``''`` means none)."""
    if isinstance(value, ast.String):
        return [s.strip().strip('"') for s in str(value.sval).split(",") if s.strip()]
    return []


def facts(stmt: ast.Node, start: int = 0) -> Facts:
    """Everything preflight reads from one parsed statement."""
    found = Facts(tag=_TAGS.get(type(stmt).__name__, type(stmt).__name__), start=start)
    found.creations, own = creations(stmt)
    found.drops = drops(stmt)
    found.search_path = search_path(stmt)
    if isinstance(stmt, ast.CreateRoleStmt):
        found.created_roles.append(str(stmt.role))
    ctes = {str(n.ctename) for n, _ in _walk(stmt) if isinstance(n, ast.CommonTableExpr)}
    for node, member in _walk(stmt):
        if isinstance(node, ast.RangeVar) and id(node) not in own:
            name = range_name(node)
            if name.schema is None and name.name in ctes:
                continue
            found.references.append(Reference(name, "foreign key" if member == "pktable" else found.tag))
        elif isinstance(node, ast.FuncCall):
            parts = strings(node.funcname)
            if len(parts) > 1:
                found.functions.append(name_of(parts))
        elif isinstance(node, ast.RoleSpec) and node.roletype == RoleSpecType.ROLESPEC_CSTRING and node.rolename:
            found.roles.append(str(node.rolename))
    if isinstance(stmt, ast.CreateTrigStmt):
        parts = strings(stmt.funcname)
        if len(parts) > 1:
            found.functions.append(name_of(parts))
    return found


def analyse(text: str) -> Facts | None:
    """The facts of one SQL statement given as text, or None when the parser rejects it."""
    try:
        parsed = pglast.parse_sql(text)
    except pglast.parser.ParseError:
        return None
    stmt = parsed[0].stmt if parsed else None
    if stmt is None:
        return None
    # Where the statement's first token is, past the comments its text keeps; statements the
    # project reads come parsed (``start`` known), so only this bare-text entry scans.
    start = next((int(t.start) for t in pglast.parser.scan(text) if t.name not in ("SQL_COMMENT", "C_COMMENT")), 0)
    return facts(stmt, start)
