"""The PMS's restrictions as Beds24's calendar fields, and what counts as a difference."""

from __future__ import annotations

from decimal import Decimal

import pytest
from channel_sync.pms_calendar import Restriction, closed, differences, price_value, unpriced


@pytest.mark.parametrize(
    ("flags", "override"),
    [
        ({}, "none"),
        ({"closed_to_arrival": True}, "noCheckIn"),
        ({"closed_to_departure": True}, "noCheckOut"),
        ({"closed_to_arrival": True, "closed_to_departure": True}, "noCheckInOrCheckOut"),
        ({"stop_sell": True}, "blackout"),
        ({"stop_sell": True, "closed_to_arrival": True, "closed_to_departure": True}, "blackout"),
    ],
)
def test_one_override_with_stop_sell_winning(flags: dict[str, bool], override: str) -> None:
    assert Restriction(**flags).override == override


def test_no_restriction_is_sent_as_no_minimum_and_the_rooms_own_maximum() -> None:
    assert Restriction().beds24() == {"minStay": 1, "maxStay": None, "override": "none"}
    assert Restriction(min_stay=3, max_stay=14).beds24()["minStay"] == 3


def test_prices_are_json_numbers() -> None:
    assert price_value(Decimal("120.00")) == 120 and isinstance(price_value(Decimal("120")), int)
    assert price_value(Decimal("99.50")) == 99.5
    assert price_value(None) is None


def test_differences_name_each_field_with_both_sides() -> None:
    pms = {"price1": 120, "price2": None, "minStay": 2, "maxStay": None, "override": "none"}
    same = {"price1": 120.0, "minStay": 2, "maxStay": 365, "override": "none"}
    assert differences(pms, same) == {}
    assert differences(pms, {**same, "price1": 120.004}) == {}
    edited = {"price1": 99, "price2": 50, "minStay": 1, "maxStay": 30, "override": "noCheckIn"}
    assert differences(pms, edited) == {
        "price1": (99, 120),
        "price2": (50, None),
        "minStay": (1, 2),
        "maxStay": (30, None),
        "override": ("noCheckIn", "none"),
    }
    assert differences({"price1": 120}, {}) == {"price1": (None, 120)}


def test_nights_beds24_shows_as_closed() -> None:
    assert closed({"override": "blackout"}) and not closed({"override": "noCheckIn"})
    assert unpriced({"price1": None}) and not unpriced({"price1": 10}) and not unpriced({})
