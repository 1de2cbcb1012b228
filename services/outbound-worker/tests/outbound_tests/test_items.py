"""Pure mapping rules: PMS reservation → Beds24 item; availability event → nights."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from outbound_worker.availability import nights_of
from outbound_worker.items import Unmappable, booking_item
from outbound_worker.outcomes import MAX_CALL_BYTES, chunks
from outbound_worker.pms_state import GUEST_COLUMNS, Reservation

RES = Reservation(
    id=uuid.UUID("00000000-0000-4000-8000-000000000042"),
    property_id=uuid.uuid4(),
    arrival=date(2031, 5, 1),
    departure=date(2031, 5, 3),
    status="blocked",
    adults=2,
    children=1,
    beds24_booking_id=None,
    beds24_property_id=77,
    beds24_room_id="501",
    beds24_unit_id="2",
    guest={c: None for c in GUEST_COLUMNS} | {"guest_last_name": "Hopper"},
    price=Decimal("199.50"),
    deposit=None,
    comments=None,
    notes="late arrival",
)


def test_create_item_maps_fields_and_carries_our_reference() -> None:
    item = booking_item(RES, None)
    assert item == {
        "propertyId": 77,
        "roomId": 501,
        "unitId": 2,
        "arrival": "2031-05-01",
        "departure": "2031-05-03",
        "status": "black",
        "numAdult": 2,
        "numChild": 1,
        "apiReference": "pms-00000000-0000-4000-8000-000000000042",
        "lastName": "Hopper",
        "notes": "late arrival",
        "price": 199.5,
        "infoItems": [{"code": "PMSREF", "text": "pms-00000000-0000-4000-8000-000000000042"}],
    }


@pytest.mark.parametrize(
    ("pms", "beds24"),
    [
        ("confirmed", "confirmed"),
        ("tentative", "request"),
        ("inquiry", "inquiry"),
        ("blocked", "black"),
        ("cancelled", "cancelled"),
    ],
)
def test_status_mapping(pms: str, beds24: str) -> None:
    assert booking_item(replace(RES, status=pms), 9)["status"] == beds24


def test_modify_names_the_booking_and_empties_cleared_fields() -> None:
    item = booking_item(RES, 123)
    assert item["id"] == 123
    assert "infoItems" not in item  # each write of one adds another: creates only
    assert "apiReference" not in item  # a channel's code there stays (a push never owns it)
    assert item["firstName"] == "" and item["comments"] == "" and item["lastName"] == "Hopper"


def test_unmapped_room_or_odd_ids_are_refused_with_a_reason() -> None:
    with pytest.raises(Unmappable, match="not mapped to a Beds24 room"):
        booking_item(replace(RES, beds24_room_id=None), None)
    with pytest.raises(Unmappable, match="not a number"):
        booking_item(replace(RES, beds24_room_id="R-1"), None)
    with pytest.raises(Unmappable, match="not connected"):
        booking_item(replace(RES, beds24_property_id=None), None)


def test_nights_are_clipped_to_yesterday_and_open_ranges_to_the_horizon() -> None:
    today = date(2031, 1, 10)
    assert nights_of({"from": "2031-01-01", "to": "2031-01-10"}, today=today, horizon_days=30) == {
        date(2031, 1, 9),
        date(2031, 1, 10),
    }
    open_ended = nights_of({"from": "2031-01-10", "to": None}, today=today, horizon_days=30)
    assert min(open_ended) == today and len(open_ended) == 30
    assert (
        nights_of({"from": "2030-12-01", "to": "2030-12-05"}, today=today, horizon_days=30) == set()
    )
    with pytest.raises(ValueError):
        nights_of({"from": "soon"}, today=today, horizon_days=30)


def test_chunks_respect_item_count_and_bytes() -> None:
    assert chunks([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    big = MAX_CALL_BYTES // 2 + 1
    assert chunks(["a", "b", "c"], 10, weight=lambda _: big) == [["a"], ["b"], ["c"]]
    assert chunks([], 3) == []
