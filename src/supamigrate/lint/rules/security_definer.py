"""SB006: a SECURITY DEFINER function must pin its ``search_path``.

It runs with its owner's rights; with the caller's search_path an unqualified name in its body
can resolve to an object the caller created. ``SET search_path`` in the definition, or a later
``ALTER FUNCTION ... SET search_path``, pins it. Judged on each function's latest definition.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import Finding, Rule
from .base import Context, Family

DEFINER_SEARCH_PATH = Rule(
    "SB006",
    "security-definer-search-path",
    "a SECURITY DEFINER function without SET search_path",
    "add `set search_path = ''` to the function and schema-qualify every name in its body",
)


def at_end(ctx: Context) -> Iterator[Finding]:
    for function in ctx.state.functions.values():
        if function.definer_offset is not None and not function.search_path:
            yield ctx.at(
                DEFINER_SEARCH_PATH,
                function.stmt,
                f"SECURITY DEFINER function {function.name} does not set search_path: a caller's search_path"
                " can point the names in its body at the caller's own objects",
                function.definer_offset,
            )


FAMILY = Family((DEFINER_SEARCH_PATH,), at_end=at_end)
