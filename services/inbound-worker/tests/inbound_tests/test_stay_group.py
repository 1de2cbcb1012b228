"""Which stay a Beds24 booking belongs to, read from the booking alone."""

from __future__ import annotations

from typing import Any

import pytest
from channel_sync.errors import PermanentError
from inbound_worker.stays.group import Group, stay_group


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, None),
        ({"roomQty": 1, "masterId": None, "bookingGroup": None}, None),
        ({"roomQty": 3}, Group(10, (), 3)),
        ({"masterId": 7}, Group(7, (), 1)),
        ({"masterId": 10}, Group(10, (), 1)),  # the master itself
        ({"bookingGroup": {"master": 7, "ids": [12, 7, 10]}}, Group(7, (7, 10, 12), 1)),
        ({"masterId": None, "bookingGroup": {"ids": [12, 10]}}, Group(10, (10, 12), 1)),
        ({"masterId": 7, "roomQty": 2}, Group(7, (), 2)),
    ],
)
def test_the_stay_is_keyed_by_the_groups_master_else_the_booking(
    raw: dict[str, Any], expected: Group | None
) -> None:
    assert stay_group(raw, 10) == expected


@pytest.mark.parametrize("qty", [-1, 101, "3", True, 2.5])
def test_a_room_qty_the_pms_cannot_hold_is_refused(qty: Any) -> None:
    with pytest.raises(PermanentError, match="roomQty"):
        stay_group({"roomQty": qty}, 10)
