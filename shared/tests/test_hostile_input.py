"""Parsing outside JSON into values every part of the sync can hold, Beds24 times in range,
and log lines bounded whatever the error."""

from __future__ import annotations

import io
import json
import logging

import pytest
from channel_sync import json_input
from channel_sync.inbound import parse_beds24_time
from channel_sync.json_input import UnsafeJson, check_value, parse_json
from channel_sync.logging import TRACEBACK_CHARS, configure_logging
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"a": "\\ud800"}', "not valid JSON"),
        (b'{"a": "x\\udc00y"}', "not valid JSON"),
        (b'{"a": "\xff"}', "not valid JSON"),
        (b'{"a": NaN}', "not valid JSON"),
        (b'{"a": 1e400}', "body.a: number out of range"),
        (b'{"a": [' + b"9" * 5000 + b"]}", "not valid JSON"),
        (b'{"a": ' + str(2**63).encode() + b"}", "body.a: integer out of range"),
        (b'{"a": {"b\\u0000": 1}}', "body.a: a key holds a NUL"),
        (b'{"a": ["ok", "\\u0000"]}', "body.a[1]: text holds a NUL"),
        (b"[" * 33 + b"]" * 33, "nested deeper than 32 levels"),
        (b"[" * 5000 + b"]" * 5000, "not valid JSON"),
        (b'{"Ada Lovelace": "\\u0000"}', "body.?: text holds a NUL"),
    ],
)
def test_unsafe_json_is_refused_with_a_reason_that_echoes_nothing(body: bytes, reason: str) -> None:
    with pytest.raises(UnsafeJson) as refused:
        parse_json(body)
    assert reason in str(refused.value)
    assert "Lovelace" not in str(refused.value)


def test_json_at_the_limits_is_accepted() -> None:
    body = json.dumps({"a": [2**63 - 1, -(2**63) + 1, 1e308, "\U0001f600 ü"]}).encode()
    assert parse_json(body)["a"][0] == 2**63 - 1
    assert parse_json(b"[" * 32 + b"]" * 32) is not None


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00"])
def test_times_out_of_range_in_utc_are_value_errors(value: str) -> None:
    with pytest.raises(ValueError, match="not a Beds24 time") as refused:
        parse_beds24_time(value)
    assert value not in str(refused.value)


def test_a_traceback_is_one_bounded_line(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stdout", stream)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO", "test")

        def deep(n: int) -> int:
            return deep(n + 1)

        try:
            deep(0)
        except RecursionError:
            logging.getLogger("test").exception("recursed")
        try:
            raise ValueError("x" * 200_000)
        except ValueError:
            logging.getLogger("test").exception("long message")
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    for line in lines:
        assert len(line) < TRACEBACK_CHARS + 1000
        assert "Traceback" in json.loads(line)["exc_info"]


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats()
    | st.text(alphabet=st.characters(codec=None, blacklist_categories=()), max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=30,
)


def _refusal(value: object, max_depth: int) -> str | None:
    try:
        check_value(value, max_depth=max_depth)
    except UnsafeJson as exc:
        return str(exc)
    return None


@settings(max_examples=400, deadline=None)
@given(value=_values, max_depth=st.integers(min_value=1, max_value=4))
def test_the_quick_check_and_the_full_walk_agree(value: object, max_depth: int) -> None:
    """check_value walks once without paths and, only on trouble, again to say where: both
    walks must agree on every value (lone surrogates, NUL, non-finite, big ints, depth)."""
    quick = json_input._holdable(value, max_depth)
    try:
        json_input._raise_first_problem(value, max_depth)
        full = True
    except UnsafeJson:
        full = False
    assert quick == full
    assert (_refusal(value, max_depth) is None) == full
