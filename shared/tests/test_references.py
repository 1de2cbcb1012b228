"""Our `pms-<reservation id>` reference, as apiReference and as an info item."""

from __future__ import annotations

import uuid

from channel_sync.references import (
    REFERENCE_INFO_CODE,
    reference_info_item,
    reservation_of_info_items,
    reservation_of_reference,
)


def test_an_info_item_round_trips_to_its_reservation() -> None:
    res = uuid.uuid4()
    item = reference_info_item(res)
    assert item == {"code": REFERENCE_INFO_CODE, "text": f"pms-{res}"}
    assert reservation_of_reference(item["text"]) == res
    assert reservation_of_info_items([{"code": "X", "text": "y"}, item, None]) == res


def test_info_items_not_naming_exactly_one_reservation_are_not_ours() -> None:
    one, two = uuid.uuid4(), uuid.uuid4()
    assert reservation_of_info_items(None) is None
    assert reservation_of_info_items({"code": REFERENCE_INFO_CODE}) is None
    assert reservation_of_info_items([{"code": "OTHER", "text": f"pms-{one}"}]) is None
    assert reservation_of_info_items([{"code": REFERENCE_INFO_CODE, "text": "pms-x"}]) is None
    both = [reference_info_item(one), reference_info_item(two)]
    assert reservation_of_info_items(both) is None
    assert reservation_of_info_items([reference_info_item(one)] * 2) == one
