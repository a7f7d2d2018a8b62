"""What a migration statement creates, drops and refers to, read with the PostgreSQL parser.

Used by ``preflight`` to compare what pending migrations expect with what a target database
holds. Names are kept as written: ``schema`` is None when the statement left it out, and the
caller resolves it through the search_path migrations run with.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pglast
from pglast import ast
from pglast.enums import FunctionParameterMode, ObjectType, RoleSpecType, VariableSetKind
from pglast.stream import RawStream

# Kinds of object, and the namespace each lives in (tables, views, indexes... share one).
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
    """Everything preflight needs to know about one statement."""

    tag: str = ""
    start: int = 0
    creations: list[Creation] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)
    references: list[Reference] = field(default_factory=list)
    functions: list[Name] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    created_roles: list[str] = field(default_factory=list)
    search_path: tuple[str, ...] | None = None


def _strings(nodes: tuple[ast.Node, ...] | None) -> tuple[str, ...]:
    return tuple(str(n.sval) for n in nodes or () if isinstance(n, ast.String))


def _name(parts: tuple[str, ...]) -> Name:
    return Name(parts[-2] if len(parts) > 1 else None, parts[-1])


def _range(rv: ast.RangeVar | None) -> Name:
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


def _creations(stmt: ast.Node) -> tuple[list[Creation], set[int]]:
    """What ``stmt`` creates, and the ids of the RangeVars that name those objects."""
    own: set[int] = set()
    made: list[Creation] = []
    if isinstance(stmt, ast.CreateStmt):
        own.add(id(stmt.relation))
        columns = tuple(
            (str(e.colname), _type_text(e.typeName))
            for e in stmt.tableElts or ()
            if isinstance(e, ast.ColumnDef) and e.typeName is not None
        )
        mode = _mode(stmt.if_not_exists)
        made.append(Creation("table", _range(stmt.relation), mode, columns=columns))
    elif isinstance(stmt, ast.CreateTableAsStmt):
        assert stmt.into is not None
        rel = stmt.into.rel
        own.add(id(rel))
        kind = "materialized view" if stmt.objtype == ObjectType.OBJECT_MATVIEW else "table"
        made.append(Creation(kind, _range(rel), _mode(stmt.if_not_exists)))
    elif isinstance(stmt, ast.ViewStmt):
        own.add(id(stmt.view))
        made.append(Creation("view", _range(stmt.view), _mode(False, stmt.replace)))
    elif isinstance(stmt, ast.IndexStmt) and stmt.idxname:
        table = _range(stmt.relation)
        made.append(
            Creation(
                "index",
                Name(table.schema, str(stmt.idxname)),
                _mode(stmt.if_not_exists),
                on=table,
            )
        )
    elif isinstance(stmt, ast.CreateSeqStmt):
        own.add(id(stmt.sequence))
        made.append(Creation("sequence", _range(stmt.sequence), _mode(stmt.if_not_exists)))
    elif isinstance(stmt, ast.CompositeTypeStmt):
        own.add(id(stmt.typevar))
        made.append(Creation("type", _range(stmt.typevar)))
    elif isinstance(stmt, ast.CreateEnumStmt):
        labels = _strings(stmt.vals)
        made.append(Creation("type", _name(_strings(stmt.typeName)), labels=labels))
    elif isinstance(stmt, ast.CreateDomainStmt):
        made.append(Creation("type", _name(_strings(stmt.domainname))))
    elif isinstance(stmt, ast.CreateRangeStmt):
        made.append(Creation("type", _name(_strings(stmt.typeName))))
    elif isinstance(stmt, ast.CreateFunctionStmt):
        arguments = tuple(
            _type_text(p.argType)
            for p in stmt.parameters or ()
            if isinstance(p, ast.FunctionParameter) and p.mode not in _SHAPELESS_MODES
        )
        kind = "procedure" if stmt.is_procedure else "function"
        mode = _mode(False, stmt.replace)
        made.append(Creation(kind, _name(_strings(stmt.funcname)), mode, arguments=arguments))
    elif isinstance(stmt, ast.CreateSchemaStmt) and stmt.schemaname:
        made.append(Creation("schema", Name(None, str(stmt.schemaname)), _mode(stmt.if_not_exists)))
    elif isinstance(stmt, ast.CreateExtensionStmt):
        options = {o.defname: o.arg for o in stmt.options or () if isinstance(o, ast.DefElem)}
        option = options.get("schema")
        schema = str(option.sval) if isinstance(option, ast.String) else None
        mode = _mode(stmt.if_not_exists)
        made.append(Creation("extension", Name(None, str(stmt.extname)), mode, schema_option=schema))
    elif isinstance(stmt, ast.CreatePolicyStmt):
        made.append(Creation("policy", Name(None, str(stmt.policy_name)), on=_range(stmt.table)))
    elif isinstance(stmt, ast.CreateTrigStmt):
        mode = _mode(False, stmt.replace)
        made.append(Creation("trigger", Name(None, str(stmt.trigname)), mode, on=_range(stmt.relation)))
    return made, own


def _drops(stmt: ast.Node) -> list[Drop]:
    if not isinstance(stmt, ast.DropStmt) or stmt.removeType not in _DROP_KINDS:
        return []
    kind = _DROP_KINDS[stmt.removeType]
    drops = []
    for obj in stmt.objects or ():
        if isinstance(obj, ast.TypeName):
            parts = _strings(obj.names)
        elif isinstance(obj, tuple):
            parts = _strings(obj)
        elif isinstance(obj, ast.String):
            parts = (str(obj.sval),)
        else:
            continue
        if parts:
            drops.append(Drop(kind, _name(parts), bool(stmt.missing_ok)))
    return drops


def analyse(text: str) -> Facts | None:
    """The facts of one SQL statement, or None when the parser rejects it (check reports those)."""
    try:
        parsed = pglast.parse_sql(text)
    except pglast.parser.ParseError:
        return None
    if not parsed:
        return None
    stmt = parsed[0].stmt
    if stmt is None:
        return None
    facts = Facts(tag=_TAGS.get(type(stmt).__name__, type(stmt).__name__), start=_first_token(text))
    facts.creations, own = _creations(stmt)
    facts.drops = _drops(stmt)
    if isinstance(stmt, ast.VariableSetStmt) and stmt.name == "search_path":
        if stmt.kind == VariableSetKind.VAR_SET_VALUE:
            facts.search_path = tuple(
                s for a in stmt.args or () if isinstance(a, ast.A_Const) for s in _const_strings(a)
            )
        elif stmt.kind in (VariableSetKind.VAR_SET_DEFAULT, VariableSetKind.VAR_RESET):
            facts.search_path = ()
    if isinstance(stmt, ast.CreateRoleStmt):
        facts.created_roles.append(str(stmt.role))
    ctes = {str(n.ctename) for n, _ in _walk(stmt) if isinstance(n, ast.CommonTableExpr)}
    for node, member in _walk(stmt):
        if isinstance(node, ast.RangeVar) and id(node) not in own:
            name = _range(node)
            if name.schema is None and name.name in ctes:
                continue
            facts.references.append(Reference(name, "foreign key" if member == "pktable" else facts.tag))
        elif isinstance(node, ast.FuncCall):
            parts = _strings(node.funcname)
            if len(parts) > 1:
                facts.functions.append(_name(parts))
        elif (
            isinstance(node, ast.RoleSpec)
            and node.roletype == RoleSpecType.ROLESPEC_CSTRING
            and node.rolename
        ):
            facts.roles.append(str(node.rolename))
    if isinstance(stmt, ast.CreateTrigStmt):
        parts = _strings(stmt.funcname)
        if len(parts) > 1:
            facts.functions.append(_name(parts))
    return facts


def _first_token(text: str) -> int:
    """Offset of the statement's first token, past the comments the statement text keeps."""
    for token in pglast.parser.scan(text):
        if token.name not in ("SQL_COMMENT", "C_COMMENT"):
            return int(token.start)
    return 0


def _const_strings(node: ast.A_Const) -> list[str]:
    """The schema names of one search_path item (``''`` means none)."""
    value = node.val
    if isinstance(value, ast.String):
        return [s.strip().strip('"') for s in str(value.sval).split(",") if s.strip()]
    return []
