"""Parsing JSON that arrives from outside into a value every part of the sync can hold.

A parsed body may be stored as jsonb, hashed, logged by field name and read by pydantic; any
of those failing later would be a 5xx, and Postgres would write the rejected JSON (guest data
included) into its own log. So a body is refused here, before anything else sees it, unless:
valid UTF-8 with no lone surrogate (jsonb refuses `\\ud800`), no NUL in any string or key
(jsonb and text refuse it), finite numbers only, integers within int64 (the widest column),
and nesting at most `max_depth` deep. Parsing uses pydantic-core's JSON parser, which has a
fixed recursion limit of its own, so a deep document never reaches Python's recursion limit.

Reasons name the place (a JSON path of plain field names) and never echo a value.
"""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic_core import from_json

from channel_sync.pms_limits import BIGINT_MAX

# Deep enough for any Beds24 or admin body (they nest 3 to 4 levels), far below the parser's.
DEFAULT_MAX_DEPTH = 32
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}")


class UnsafeJson(ValueError):
    """The body is not JSON the sync can hold; `str()` says why, without echoing data."""


def parse_json(body: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    try:
        value = from_json(body, allow_inf_nan=False)
    except ValueError as exc:  # the parser's messages give a position, never the input
        raise UnsafeJson(f"body is not valid JSON: {exc}") from None
    check_value(value, max_depth=max_depth)
    return value


def check_value(value: Any, *, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
    """Raise UnsafeJson for the first part of `value` the sync could not hold.

    Iterative (an explicit stack), so no depth of input can exhaust Python's stack. Every
    webhook passes through here: the common case, a value with nothing wrong, is one walk
    without building paths; only a value that fails is walked again to say where."""
    if not _holdable(value, max_depth):
        _raise_first_problem(value, max_depth)


def _holdable(value: Any, max_depth: int) -> bool:
    """The checks of `_raise_first_problem`, by exact JSON types and without paths. False
    also for anything unusual (a subclass, say): the full walk then decides."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        kind = type(node)
        if kind is str:
            if not storable_text(node):
                return False
        elif kind is dict:
            if depth >= max_depth:
                return False
            for key, item in node.items():
                if type(key) is not str or not storable_text(key):
                    return False
                stack.append((item, depth + 1))
        elif kind is list:
            if depth >= max_depth:
                return False
            stack.extend((item, depth + 1) for item in node)
        elif kind is int:
            if abs(node) > BIGINT_MAX:
                return False
        elif kind is float:
            if not math.isfinite(node):
                return False
        elif not (node is None or kind is bool):
            return False
    return True


def _raise_first_problem(value: Any, max_depth: int) -> None:
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict | list) and len(path) >= max_depth:  # the (max_depth+1)th
            raise UnsafeJson(f"{_where(path[:3])}...: nested deeper than {max_depth} levels")
        if isinstance(node, dict):
            for key, item in node.items():
                if not isinstance(key, str) or not storable_text(key):
                    raise UnsafeJson(f"{_where(path)}: a key holds a NUL or invalid character")
                stack.append((item, (*path, key)))
        elif isinstance(node, list):
            stack.extend((item, (*path, i)) for i, item in enumerate(node))
        elif isinstance(node, str):
            if not storable_text(node):
                raise UnsafeJson(f"{_where(path)}: text holds a NUL or invalid character")
        elif isinstance(node, bool) or node is None:
            continue
        elif isinstance(node, int):
            if abs(node) > BIGINT_MAX:
                raise UnsafeJson(f"{_where(path)}: integer out of range (at most 2^63-1)")
        elif isinstance(node, float):
            if not math.isfinite(node):
                raise UnsafeJson(f"{_where(path)}: number out of range")
        else:
            raise UnsafeJson(f"{_where(path)}: not a JSON value")


def storable_text(text: str) -> bool:
    """No NUL and no lone surrogate: what Postgres text and jsonb accept."""
    if text.isascii():  # a flag CPython keeps: no surrogate possible
        return "\x00" not in text
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _where(path: tuple[str | int, ...]) -> str:
    """`booking.infoItems[0].text`; a key that is not a plain field name shows as `?`
    (keys come from the sender and could be anything, guest data included)."""
    out = "body"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += "." + (part if _PLAIN_NAME.fullmatch(part) else "?")
    return out
