"""An operator's decision on an open drift record (`POST /admin/drift/{id}/decision`), against
real Postgres: a possible match linked (the reservation takes the Beds24 id as Beds24's write:
nothing is echoed) or said to differ; a difference kept on one side through an event of the
normal paths, or dismissed; a booking gone from the PMS imported again or cancelled in
Beds24. Every refusal (404, 409, 422, 400) stores nothing. (That the sync honours the
decisions is the inbound worker's test: inbound_tests/test_drift_decisions_honoured.py.)"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from admin_api.routes import sync as sync_routes

from .factories import connect_beds24, insert_property, insert_room, insert_room_type

BEDS24_ROOM = "5001"
B24 = 90001  # the Beds24 booking the records name
ARRIVAL, DEPARTURE = date(2031, 6, 1), date(2031, 6, 4)


async def _hotel(db: asyncpg.Pool) -> tuple[UUID, UUID]:
    """A property linked to Beds24, one room type mapped to Beds24 room 5001, one room
    (mapped before the link: nothing is captured for the set-up)."""
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        double = await insert_room_type(conn, prop, "Double")
        await conn.execute(
            """INSERT INTO channel_mappings (property_id, mapping_type, internal_id, external_id)
               VALUES ($1, 'room_type', $2, $3)""",
            prop,
            double,
            BEDS24_ROOM,
        )
        room = await insert_room(conn, prop, "101", double)
        await connect_beds24(conn, prop, 515151)
    return prop, room


async def _reservation(db: asyncpg.Pool, prop: UUID, room: UUID | None, **columns: Any) -> UUID:
    """A reservation the PMS held before it was connected (no event captured for it)."""
    values = {
        "property_id": prop,
        "room_id": room,
        "arrival": ARRIVAL,
        "departure": DEPARTURE,
        "guest_last_name": "Hopper",
        "adults": 2,
        **columns,
    }
    names = list(values)
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("SELECT set_config('channel_sync.origin', 'beds24', true)")
        reservation: UUID = await conn.fetchval(
            f"INSERT INTO reservations ({', '.join(names)}) VALUES "
            f"({', '.join(f'${i}' for i in range(1, len(names) + 1))}) RETURNING id",
            *values.values(),
        )
        # Held before the link: the nights it takes were in the first availability sent.
        await conn.execute("DELETE FROM channel_events WHERE entity_internal_id = $1", reservation)
    return reservation


SUMMARY = {
    "arrival": ARRIVAL.isoformat(),
    "departure": DEPARTURE.isoformat(),
    "status": "confirmed",
    "roomId": int(BEDS24_ROOM),
    "numAdult": 2,
    "numChild": 0,
    "channel": "direct",
}


async def _open(
    db: asyncpg.Pool,
    prop: UUID,
    kind: str,
    *,
    pms_value: Any,
    beds24_value: Any = None,
    subject: str = f"booking {B24}",
) -> UUID:
    """An open record, as a run leaves it for an operator."""
    async with db.acquire() as conn:
        drift_id: UUID = await conn.fetchval(
            """INSERT INTO drift_records (property_id, kind, subject, beds24_value, pms_value,
                   status, resolution)
               VALUES ($1, $2, $3, $4, $5, 'open', 'an operator must decide') RETURNING id""",
            prop,
            kind,
            subject,
            SUMMARY if beds24_value is None else beds24_value,
            pms_value,
        )
    return drift_id


async def _look_alike(db: asyncpg.Pool) -> tuple[UUID, list[UUID], UUID]:
    """A property, two unlinked reservations proposed for Beds24 booking 90001, the record."""
    prop, room = await _hotel(db)
    first = await _reservation(db, prop, room)
    second = await _reservation(db, prop, room, guest_first_name="Grace")
    proposed = sorted([first, second], key=str)
    drift_id = await _open(
        db, prop, "possible_match", pms_value={"reservation_ids": [str(r) for r in proposed]}
    )
    return prop, proposed, drift_id


async def _state(db: asyncpg.Pool) -> tuple[list[Any], list[Any], list[Any]]:
    """Every drift record, reservation and event, as stored: a refusal changes none."""
    async with db.acquire() as conn:
        drift = await conn.fetch("SELECT * FROM drift_records ORDER BY id")
        reservations = await conn.fetch("SELECT * FROM reservations ORDER BY id")
        events = await conn.fetch("SELECT * FROM channel_events ORDER BY id")
    return [dict(r) for r in drift], [dict(r) for r in reservations], [dict(r) for r in events]


async def _events(db: asyncpg.Pool) -> list[asyncpg.Record]:
    async with db.acquire() as conn:
        return list(await conn.fetch("SELECT * FROM channel_events ORDER BY event_type"))


def _url(drift_id: UUID | str) -> str:
    return f"/admin/drift/{drift_id}/decision"


async def test_a_linked_possible_match_gives_the_reservation_the_beds24_id_without_an_echo(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    _prop, [chosen, other], drift_id = await _look_alike(db)

    response = await api.post(
        _url(drift_id),
        json={"decision": "link", "reservation_id": str(chosen), "note": "same guest, rang her"},
    )

    assert response.status_code == 200, response.text
    record = response.json()
    assert (record["id"], record["status"]) == (str(drift_id), "decided")
    assert record["decision"] == {
        "decision": "link",
        "by": "admin-token",
        "note": "same guest, rang her",
        "reservation_ids": [str(chosen)],
    }
    assert record["resolution"].startswith("decided link by admin-token: ")
    assert record["resolution"].endswith("; note: same guest, rang her")
    assert record["resolved_at"] is not None
    # Both sides' values are kept as found.
    assert record["beds24_value"] == SUMMARY
    assert record["pms_value"] == {"reservation_ids": [str(chosen), str(other)]}
    async with db.acquire() as conn:
        linked = await conn.fetch(
            "SELECT id, beds24_booking_id, made_by FROM reservations ORDER BY id"
        )
    assert {r["id"]: (r["beds24_booking_id"], r["made_by"]) for r in linked} == {
        chosen: (B24, "beds24"),  # matched as the inbound worker matches a channel's booking
        other: (None, "pms"),
    }
    assert await _events(db) == []  # nothing echoed to Beds24, nothing imported
    listed = await api.get("/admin/drift", params={"status": "decided", "kind": "possible_match"})
    assert [d["id"] for d in listed.json()["drift"]] == [str(drift_id)]

    before = await _state(db)
    again = await api.post(_url(drift_id), json={"decision": "differ"})
    assert again.status_code == 409, again.text
    assert "decided, not open" in again.json()["error"]
    assert await _state(db) == before


async def test_a_possible_match_said_to_differ_writes_nothing_but_the_decision(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    _, proposed, drift_id = await _look_alike(db)
    before = await _state(db)

    response = await api.post(_url(drift_id), json={"decision": "differ"})

    assert response.status_code == 200, response.text
    record = response.json()
    assert record["status"] == "decided"
    assert record["decision"] == {
        "decision": "differ",
        "by": "admin-token",
        "note": None,
        "reservation_ids": [str(r) for r in proposed],  # every one proposed
    }
    after = await _state(db)
    assert after[1:] == before[1:]  # no reservation changed, no event recorded


async def test_one_proposed_reservation_can_be_said_to_differ(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    _, [first, _second], drift_id = await _look_alike(db)

    response = await api.post(
        _url(drift_id), json={"decision": "differ", "reservation_id": str(first)}
    )

    assert response.status_code == 200, response.text
    assert response.json()["decision"]["reservation_ids"] == [str(first)]


async def test_refused_decisions_store_nothing(api: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    prop, [chosen, _], drift_id = await _look_alike(db)
    other_prop, other_room = await _hotel_without_link(db)
    foreign = await _reservation(db, other_prop, other_room)
    async with db.acquire() as conn:  # proposed, but of another property (a corrupt record)
        await conn.execute(
            """UPDATE drift_records SET pms_value = jsonb_set(pms_value, '{reservation_ids}',
                   pms_value->'reservation_ids' || to_jsonb($2::text)) WHERE id = $1""",
            drift_id,
            str(foreign),
        )
    linked = await _reservation(db, prop, None, beds24_booking_id=70001)
    missing_in_beds24 = await _open(
        db,
        prop,
        "missing_in_beds24",
        subject="booking 70001",
        beds24_value=None,
        pms_value={"reservation_id": str(linked)},
    )
    differs = await _open(db, prop, "booking_differs", pms_value={"departure": "2031-06-05"})
    async with db.acquire() as conn:
        await conn.execute("UPDATE drift_records SET status = 'resolved' WHERE id = $1", differs)
    before = await _state(db)

    refused = {
        "unknown record": (uuid.uuid4(), {"decision": "dismiss"}, 404, "no drift record"),
        "not open": (differs, {"decision": "dismiss"}, 409, "is resolved, not open"),
        "dismiss a possible match": (
            drift_id,
            {"decision": "dismiss"},
            422,
            "cannot be decided 'dismiss'; it can be: link, differ",
        ),
        "keep a side of a missing booking": (
            missing_in_beds24,
            {"decision": "keep_pms"},
            422,
            "it can be: dismiss",
        ),
        "link without a reservation": (drift_id, {"decision": "link"}, 422, "needs reservation_id"),
        "link one not proposed": (
            drift_id,
            {"decision": "link", "reservation_id": str(uuid.uuid4())},
            422,
            "was not proposed",
        ),
        "link one of another property": (
            drift_id,
            {"decision": "link", "reservation_id": str(foreign)},
            422,
            "is not of property",
        ),
        "a reservation with dismiss": (
            missing_in_beds24,
            {"decision": "dismiss", "reservation_id": str(chosen)},
            422,
            "goes with link or differ only",
        ),
        "an unknown decision": (drift_id, {"decision": "maybe"}, 400, "'decision'"),
        "an unknown field": (drift_id, {"decision": "differ", "by": "me"}, 400, "'by'"),
        "a note too long": (drift_id, {"decision": "differ", "note": "x" * 501}, 400, "'note'"),
    }
    for case, (target, body, status, says) in refused.items():
        response = await api.post(_url(target), json=body)
        assert response.status_code == status, (case, response.text)
        assert says in response.json()["error"], (case, response.text)
        assert await _state(db) == before, case
    malformed = await api.post("/admin/drift/not-a-uuid/decision", json={"decision": "dismiss"})
    assert malformed.status_code == 400


async def test_a_link_to_a_reservation_linked_meanwhile_is_a_conflict(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    _prop, [chosen, other], drift_id = await _look_alike(db)
    async with db.acquire() as conn, conn.transaction():  # matched since, by another key
        await conn.execute("SELECT set_config('channel_sync.origin', 'beds24', true)")
        await conn.execute(
            "UPDATE reservations SET beds24_booking_id = 70002 WHERE id = $1", chosen
        )
        await conn.execute(
            "UPDATE reservations SET beds24_booking_id = $2 WHERE id = $1", other, B24
        )
    before = await _state(db)

    taken = await api.post(_url(drift_id), json={"decision": "link", "reservation_id": str(chosen)})
    held = await api.post(_url(drift_id), json={"decision": "link", "reservation_id": str(other)})

    assert taken.status_code == 409 and "linked to Beds24 booking 70002" in taken.text
    assert held.status_code == 409 and "linked to Beds24 booking 90001" in held.text
    assert await _state(db) == before


@pytest.mark.parametrize("kind", ["booking_differs", "match_differs"])
async def test_a_difference_kept_on_either_side_is_repaired_through_its_normal_path(
    api: httpx.AsyncClient, db: asyncpg.Pool, kind: str
) -> None:
    prop, room = await _hotel(db)
    held = await _reservation(db, prop, room, beds24_booking_id=B24, departure=date(2031, 6, 5))
    pms_wins = await _open(db, prop, kind, pms_value={"departure": "2031-06-05"})

    kept_pms = await api.post(_url(pms_wins), json={"decision": "keep_pms"})

    assert kept_pms.status_code == 200, kept_pms.text
    [outbound] = await _events(db)
    assert (outbound["direction"], outbound["event_type"]) == ("outbound", "pms.booking.update")
    assert outbound["entity_internal_id"] == held
    assert outbound["payload"]["beds24_booking_id"] == B24
    assert kept_pms.json()["status"] == "repaired"
    assert kept_pms.json()["event_id"] == str(outbound["id"])

    beds24_wins = await _open(db, prop, kind, pms_value={"departure": "2031-06-05"})
    kept_beds24 = await api.post(_url(beds24_wins), json={"decision": "keep_beds24"})

    assert kept_beds24.status_code == 200, kept_beds24.text
    [inbound] = [e for e in await _events(db) if e["direction"] == "inbound"]
    assert inbound["payload"]["v1"] == {"bookid": B24, "status": "modify"}  # fetched, applied
    assert inbound["entity_external_id"] == str(B24)
    assert kept_beds24.json()["event_id"] == str(inbound["id"])
    assert kept_beds24.json()["status"] == "repaired"


async def test_a_dismissed_difference_sends_nothing(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    prop, room = await _hotel(db)
    await _reservation(db, prop, room, beds24_booking_id=B24, departure=date(2031, 6, 5))
    drift_id = await _open(db, prop, "booking_differs", pms_value={"departure": "2031-06-05"})

    response = await api.post(_url(drift_id), json={"decision": "dismiss", "note": "agreed"})

    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["decision"]["decision"]) == (
        "decided",
        "dismiss",
    )
    assert await _events(db) == []


async def test_a_booking_gone_from_the_pms_is_imported_again_or_cancelled_in_beds24(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    prop, _room = await _hotel(db)
    gone = uuid.uuid4()  # the reservation that held it, deleted since
    async with db.acquire() as conn:  # its version was applied once (the event names it)
        await conn.execute(
            """INSERT INTO channel_events (property_id, direction, event_type, entity_type,
                   entity_external_id, entity_internal_id, idempotency_key, payload, status)
               VALUES ($1, 'inbound', 'beds24.booking.created', 'booking', $2, $3,
                   'beds24:test:1', '{}'::jsonb, 'done')""",
            prop,
            str(B24),
            gone,
        )
    cancel = await _open(db, prop, "missing_in_pms", pms_value=None)
    before = await _state(db)

    dismissed = await api.post(_url(cancel), json={"decision": "dismiss"})
    assert dismissed.status_code == 422
    assert "it can be: keep_beds24, keep_pms" in dismissed.json()["error"]
    assert await _state(db) == before

    kept_pms = await api.post(_url(cancel), json={"decision": "keep_pms"})

    assert kept_pms.status_code == 200, kept_pms.text
    sent = [e for e in await _events(db) if e["direction"] == "outbound"]
    assert [(e["event_type"], e["entity_internal_id"]) for e in sent] == [
        ("pms.availability.update", gone),
        ("pms.booking.cancel", gone),
    ]
    assert sent[1]["payload"]["beds24_booking_id"] == B24  # the outbound worker cancels it
    assert sent[0]["payload"] == {
        "beds24_room_id": BEDS24_ROOM,
        "from": "2031-06-01",
        "to": "2031-06-03",
    }
    assert kept_pms.json()["event_id"] == str(sent[1]["id"])

    imported = await _open(db, prop, "missing_in_pms", pms_value=None)
    kept_beds24 = await api.post(_url(imported), json={"decision": "keep_beds24"})

    assert kept_beds24.status_code == 200, kept_beds24.text
    refetch = [e for e in await _events(db) if e["idempotency_key"].startswith("drift:")]
    assert [e["payload"]["v1"]["bookid"] for e in refetch] == [B24]
    assert kept_beds24.json()["status"] == "repaired"


async def test_a_booking_held_again_is_no_longer_missing(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    prop, room = await _hotel(db)
    drift_id = await _open(db, prop, "missing_in_pms", pms_value=None)
    await _reservation(db, prop, room, beds24_booking_id=B24)  # imported meanwhile
    before = await _state(db)

    response = await api.post(_url(drift_id), json={"decision": "keep_beds24"})

    assert response.status_code == 409, response.text
    assert "holds Beds24 booking 90001 again" in response.json()["error"]
    assert await _state(db) == before


async def _hotel_without_link(db: asyncpg.Pool) -> tuple[UUID, UUID]:
    async with db.acquire() as conn:
        prop = await insert_property(conn, "Other Hotel")
        room = await insert_room(conn, prop, "201")
    return prop, room


async def test_a_decision_waits_for_a_sync_step_on_the_property(
    api: httpx.AsyncClient, db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's step holds the property's sync lock while it compares: a decision does not
    land in the middle of it (after a short wait it is refused, nothing stored)."""
    prop, _, drift_id = await _look_alike(db)
    monkeypatch.setattr(sync_routes, "SYNC_STEP_WAIT_S", 0.2)
    before = await _state(db)
    async with db.acquire() as step, step.transaction():
        await step.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('beds24-sync:' || $1, 0))", str(prop)
        )
        busy = await api.post(_url(drift_id), json={"decision": "differ"})
    assert busy.status_code == 409, busy.text
    assert "a sync run is comparing property" in busy.json()["error"]
    assert await _state(db) == before

    assert (await api.post(_url(drift_id), json={"decision": "differ"})).status_code == 200
