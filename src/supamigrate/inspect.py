"""Read what a database holds from ``pg_catalog``: foreign keys, indexes, triggers, enums, RLS.

Tables are named ``schema.table`` (``public`` when the schema is left out). Every result is a
frozen dataclass, so tests compare them with ``==`` and read them in assertion messages.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

ON_ACTION = {"a": "NO ACTION", "r": "RESTRICT", "c": "CASCADE", "n": "SET NULL", "d": "SET DEFAULT"}


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool
    default: str | None
    generated: str | None


@dataclass(frozen=True)
class ForeignKey:
    name: str
    table: str
    columns: tuple[str, ...]
    target: str
    target_columns: tuple[str, ...]
    on_delete: str
    on_update: str


@dataclass(frozen=True)
class Index:
    name: str
    table: str
    columns: tuple[str, ...]
    unique: bool
    primary: bool
    definition: str


@dataclass(frozen=True)
class Trigger:
    name: str
    table: str
    function: str
    timing: str
    events: tuple[str, ...]
    for_each_row: bool
    enabled: bool


@dataclass(frozen=True)
class Policy:
    name: str
    table: str
    command: str
    roles: tuple[str, ...]
    permissive: bool
    using: str | None
    with_check: str | None


def qualified(table: str) -> str:
    """``schema.table``, with ``public`` as the default schema."""
    return table if "." in table else f"public.{table}"


class Catalog:
    """Catalog queries on one connection. Each method runs one query; nothing is cached."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn

    def _rows(self, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        return self.conn.execute(query, params).fetchall()

    def table_exists(self, table: str) -> bool:
        return bool(self._rows("SELECT to_regclass(%s) IS NOT NULL", (qualified(table),))[0][0])

    def tables(self, schema: str = "public") -> list[str]:
        """Ordinary and partitioned tables of ``schema``, as ``schema.table``."""
        return [
            str(r[0])
            for r in self._rows(
                "SELECT format('%%s.%%s', n.nspname, c.relname) FROM pg_class c"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY c.relname",
                (schema,),
            )
        ]

    def columns(self, table: str) -> list[Column]:
        rows = self._rows(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
            " CASE WHEN a.attgenerated = '' THEN pg_get_expr(d.adbin, d.adrelid) END,"
            " CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid) END"
            " FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum"
            " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            (qualified(table),),
        )
        return [Column(str(n), str(t), bool(nn), d, g) for n, t, nn, d, g in rows]  # type: ignore[arg-type]

    def foreign_keys(self, table: str) -> list[ForeignKey]:
        """Foreign keys declared on ``table``, with their target and ON DELETE/UPDATE actions."""
        rows = self._rows(
            "SELECT c.conname, c.conrelid::regclass::text, c.confrelid::regclass::text,"
            " ARRAY(SELECT attname FROM unnest(c.conkey) WITH ORDINALITY k(n, i)"
            "   JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.i),"
            " ARRAY(SELECT attname FROM unnest(c.confkey) WITH ORDINALITY k(n, i)"
            "   JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.i),"
            " c.confdeltype, c.confupdtype"
            " FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = %s::regclass ORDER BY c.conname",
            (qualified(table),),
        )
        return [
            ForeignKey(
                str(name),
                qualified(str(tbl)),
                tuple(cols),  # type: ignore[arg-type]
                qualified(str(target)),
                tuple(tcols),  # type: ignore[arg-type]
                ON_ACTION[str(d)],
                ON_ACTION[str(u)],
            )
            for name, tbl, target, cols, tcols, d, u in rows
        ]

    def indexes(self, table: str) -> list[Index]:
        rows = self._rows(
            "SELECT i.relname, ARRAY(SELECT pg_get_indexdef(x.indexrelid, k + 1, true)"
            "   || CASE WHEN x.indoption[k] & 1 = 1 THEN ' DESC' ELSE '' END"
            "   FROM generate_series(0, x.indnkeyatts - 1) k ORDER BY k),"
            " x.indisunique, x.indisprimary, pg_get_indexdef(x.indexrelid)"
            " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid"
            " WHERE x.indrelid = %s::regclass ORDER BY i.relname",
            (qualified(table),),
        )
        return [
            Index(str(n), qualified(table), tuple(cols), bool(u), bool(p), str(d))  # type: ignore[arg-type]
            for n, cols, u, p, d in rows
        ]

    def index(self, name: str, schema: str = "public") -> Index | None:
        rows = self._rows(
            "SELECT format('%%s.%%s', n.nspname, t.relname) FROM pg_index x"
            " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
            " JOIN pg_namespace n ON n.oid = i.relnamespace WHERE i.relname = %s AND n.nspname = %s",
            (name, schema),
        )
        if not rows:
            return None
        return next(i for i in self.indexes(str(rows[0][0])) if i.name == name)

    def triggers(self, table: str) -> list[Trigger]:
        """User triggers of ``table`` (internal constraint triggers left out)."""
        rows = self._rows(
            "SELECT t.tgname, t.tgfoid::regproc::text, t.tgtype, t.tgenabled <> 'D'"
            " FROM pg_trigger t WHERE t.tgrelid = %s::regclass AND NOT t.tgisinternal ORDER BY t.tgname",
            (qualified(table),),
        )
        result = []
        for name, func, tgtype, enabled in rows:
            bits = int(tgtype)  # type: ignore[call-overload]
            timing = "INSTEAD OF" if bits & 64 else ("BEFORE" if bits & 2 else "AFTER")
            events = tuple(
                e for bit, e in ((4, "INSERT"), (8, "DELETE"), (16, "UPDATE"), (32, "TRUNCATE")) if bits & bit
            )
            result.append(
                Trigger(str(name), qualified(table), str(func), timing, events, bool(bits & 1), bool(enabled))
            )
        return result

    def enum_labels(self, type_name: str) -> list[str]:
        return [
            str(r[0])
            for r in self._rows(
                "SELECT enumlabel FROM pg_enum WHERE enumtypid = %s::regtype ORDER BY enumsortorder",
                (type_name,),
            )
        ]

    def rls_enabled(self, table: str) -> bool:
        return bool(
            self._rows("SELECT relrowsecurity FROM pg_class WHERE oid = %s::regclass", (qualified(table),))[0][0]
        )

    def policies(self, table: str) -> list[Policy]:
        rows = self._rows(
            "SELECT policyname, cmd, roles::text[], permissive = 'PERMISSIVE', qual, with_check"
            " FROM pg_policies WHERE format('%%s.%%s', schemaname, tablename) = %s ORDER BY policyname",
            (qualified(table),),
        )
        return [
            Policy(str(n), qualified(table), str(c), tuple(r), bool(p), q, w)  # type: ignore[arg-type]
            for n, c, r, p, q, w in rows
        ]

    def policy_columns(self, table: str) -> list[tuple[str, str]]:
        """Columns the policies of ``table`` read, subqueries included, as ``(schema.table, column)``.

        Read from the dependencies PostgreSQL records for policy expressions, not by parsing them.
        """
        rows = self._rows(
            "SELECT DISTINCT format('%%s.%%s', n.nspname, c.relname), a.attname FROM pg_policy p"
            " JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = p.oid"
            "   AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0"
            " JOIN pg_class c ON c.oid = d.refobjid JOIN pg_namespace n ON n.oid = c.relnamespace"
            " JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
            " WHERE p.polrelid = %s::regclass ORDER BY 1, 2",
            (qualified(table),),
        )
        return [(str(t), str(c)) for t, c in rows]
