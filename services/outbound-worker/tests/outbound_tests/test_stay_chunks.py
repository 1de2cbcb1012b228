"""A new Beds24 group's creates go in one call, and a call carries at most one new group
(`actions.makeGroup` joins every new booking of a call that sets it)."""

from __future__ import annotations

from uuid import UUID, uuid4

from outbound_worker.stay_groups import chunked

A, B = uuid4(), uuid4()


def runs(sends: list[tuple[str, UUID | None]], size: int, max_bytes: int = 10_000) -> list[str]:
    found = chunked(sends, size, weight=lambda _: 100, group=lambda s: s[1], max_bytes=max_bytes)
    return ["".join(name for name, _ in run) for run in found]


def test_a_group_is_never_split_and_never_shares_a_call_with_another_group() -> None:
    sends = [("a", A), ("x", None), ("b", B), ("a", A), ("y", None), ("b", B), ("a", A)]
    assert runs(sends, 100) == ["aaax", "bby"]


def test_singles_fill_calls_up_to_the_size_and_bytes() -> None:
    singles: list[tuple[str, UUID | None]] = [(str(n), None) for n in range(5)]
    assert runs(singles, 2) == ["01", "23", "4"]
    assert runs(singles, 100, max_bytes=300) == ["012", "34"]


def test_a_group_larger_than_a_call_still_goes_whole() -> None:
    sends: list[tuple[str, UUID | None]] = [("x", None), ("a", A), ("a", A), ("a", A)]
    assert runs(sends, 2) == ["x", "aaa"]
