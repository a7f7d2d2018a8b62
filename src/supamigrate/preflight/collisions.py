"""Collisions: what a pending statement creates against what the target already holds."""

from __future__ import annotations

from ..findings import FileLocation
from ..sql.objects import RELATION_KINDS, Creation
from .pending import Key, Pending


def check_creation(p: Pending, where: FileLocation, c: Creation) -> None:
    if c.kind == "schema":
        check_schema(p, where, c)
        return
    if c.kind == "extension":
        check_extension(p, where, c)
        return
    key = p.model.key(c)
    if key is None:
        return
    if c.kind in RELATION_KINDS:
        check_relation(p, where, c, key)
    elif c.kind == "type":
        check_type(p, where, c, key)
    elif c.kind in ("function", "procedure"):
        check_function(p, where, c, key)
    elif c.kind in ("policy", "trigger") and c.on is not None:
        check_table_object(p, where, c)


def check_schema(p: Pending, where: FileLocation, c: Creation) -> None:
    name = c.name.name
    if name in p.target.schemas and c.mode == "create" and name not in p.schemas:
        p.add(
            "error",
            "object-exists",
            f"schema {name} already exists on the target",
            where,
            hint="use CREATE SCHEMA IF NOT EXISTS, or another name",
        )
    p.schemas.add(name)


def check_table_object(p: Pending, where: FileLocation, c: Creation) -> None:
    """A policy or trigger of the same name on the same (existing) table."""
    assert c.on is not None
    table_key = p.model.relation(c.on) or ("public", c.on.name)
    table = p.target.relation(*table_key)
    if table is None or table_key in p.relations:
        return
    if c.mode != "or_replace" and p.target.table_object(c.kind, table, c.name.name):
        p.add(
            "error",
            "object-exists",
            f"{c.kind} {c.name.name} on {table.qualified} already exists on the target",
            where,
            hint=f"drop it first (DROP {c.kind.upper()} IF EXISTS ...) or choose another name",
        )


def check_relation(p: Pending, where: FileLocation, c: Creation, key: Key) -> None:
    existing = None if key in p.relations or key in p.dropped else p.target.relation(*key)
    p.relations.add(key)
    if existing is None:
        return
    name = f"{key[0]}.{key[1]}"
    if existing.kind != c.kind:
        p.add(
            "error",
            "object-exists",
            f"the migration creates {c.kind} {name}, but the target already has {existing.describe()}",
            where,
            hint="choose another name or schema; the target's object is not yours",
        )
        return
    if c.kind != "table" or c.columns is None:
        level = "warning" if c.mode != "create" else "error"
        verb = {"or_replace": "replaces", "if_not_exists": "skips creating"}.get(c.mode, "fails on")
        p.add(
            level,
            "object-exists",
            f"{c.kind} {name} already exists on the target; the migration {verb} it",
            where,
            hint="check that the target's object is the one your migrations expect",
        )
        return
    expected = [(n, p.target.canonical_type(t)) for n, t in c.columns]
    differences = shape_differences(expected, existing.columns)
    if c.mode == "if_not_exists":
        if differences:
            p.swallowed[key] = existing
            p.add(
                "error",
                "object-exists",
                f"table {name} already exists on the target with another shape ({'; '.join(differences)}):"
                f" CREATE TABLE IF NOT EXISTS will skip it and leave the target's {existing.describe()}",
                where,
                hint="the target's table belongs to something else: use another name or schema",
            )
        else:
            p.add(
                "warning",
                "object-exists",
                f"table {name} already exists on the target with the same columns ({existing.rows});"
                " CREATE TABLE IF NOT EXISTS will skip it",
                where,
            )
        return
    shape = f" with another shape ({'; '.join(differences)})" if differences else " with the same columns"
    p.add(
        "error",
        "object-exists",
        f"table {name} already exists on the target{shape}: {existing.describe()};"
        " the migration will fail (42P07 duplicate_table)",
        where,
        hint="the target's table belongs to something else: use another name or schema",
    )


def check_type(p: Pending, where: FileLocation, c: Creation, key: Key) -> None:
    info = p.target.type_info(*key)
    if info is None or key in p.model.types:
        return
    kind, labels = info
    detail = f" (an enum of {', '.join(labels)})" if kind == "e" else ""
    if c.labels is not None and kind == "e" and tuple(labels) == c.labels:
        detail = " (an enum with the same labels)"
    p.add(
        "error",
        "object-exists",
        f"type {key[0]}.{key[1]} already exists on the target{detail}; the migration will fail (42710)",
        where,
        hint="choose another type name or schema",
    )


def check_function(p: Pending, where: FileLocation, c: Creation, key: Key) -> None:
    if key in p.functions:
        return
    p.functions.add(key)
    if key in p.model.routines or not p.target.function(*key, c.arguments or ()):
        return
    signature = f"{key[0]}.{key[1]}({', '.join(c.arguments or ())})"
    if c.mode == "or_replace":
        p.add(
            "warning",
            "object-exists",
            f"{c.kind} {signature} already exists on the target; CREATE OR REPLACE will replace it",
            where,
            hint="make sure replacing the target's function is intended",
        )
    else:
        p.add(
            "error",
            "object-exists",
            f"{c.kind} {signature} already exists on the target; the migration will fail (42723)",
            where,
            hint="use CREATE OR REPLACE if it is yours, or another name",
        )


def check_extension(p: Pending, where: FileLocation, c: Creation) -> None:
    installed = p.target.extension_schema(c.name.name)
    if installed is None:
        return
    if c.mode == "create":
        p.add(
            "error",
            "object-exists",
            f"extension {c.name.name} is already installed on the target (in {installed})",
            where,
            hint="use CREATE EXTENSION IF NOT EXISTS",
        )
    elif c.schema_option and c.schema_option != installed:
        p.add(
            "warning",
            "object-exists",
            f"extension {c.name.name} is installed in {installed} on the target, not in {c.schema_option}",
            where,
            hint=f"qualify its objects as {installed}.<name>, or move it",
        )


def shape_differences(expected: list[tuple[str, str]], actual: tuple[tuple[str, str], ...]) -> list[str]:
    mine, theirs = dict(expected), dict(actual)
    out = []
    only_target = [n for n in theirs if n not in mine]
    only_local = [n for n in mine if n not in theirs]
    if only_target:
        out.append("only on the target: " + ", ".join(only_target))
    if only_local:
        out.append("only in the migration: " + ", ".join(only_local))
    for n, t in mine.items():
        if n in theirs and theirs[n] != t:
            out.append(f"{n} is {theirs[n]} on the target, {t} in the migration")
    return out
