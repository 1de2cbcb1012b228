"""Reading `Authorization: Bearer <token>` (channel_sync.bearer), as both HTTP services do."""

from __future__ import annotations

import pytest
from channel_sync.bearer import bearer_token


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer   abc  ", "abc"),
        ("  Bearer abc", "abc"),
        (None, None),
        ("", None),
        ("Bearer", None),
        ("Bearer   ", None),
        ("Basic abc", None),
        ("Bearerabc", None),
    ],
)
def test_the_token_of_a_bearer_header(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token


def test_a_token_longer_than_allowed_is_none() -> None:
    assert bearer_token("Bearer " + "x" * 512, max_chars=512) == "x" * 512
    assert bearer_token("Bearer " + "x" * 513, max_chars=512) is None
    assert bearer_token("Bearer " + "x" * 513) == "x" * 513
