"""Room mappings: validated against the property's own rooms, replaced as a whole."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
from admin_api.schemas.properties import MAX_MAPPINGS

from .factories import connect_beds24, insert_property, insert_room, insert_room_type


async def _outbound_events(db: asyncpg.Pool) -> int:
    async with db.acquire() as conn:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM channel_events WHERE direction = 'outbound'"
        )
    return count


async def test_replace_and_read_back(api: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        await connect_beds24(conn, prop, 5001)
        double = await insert_room_type(conn, prop, "Double")
        r101 = await insert_room(conn, prop, "101")
        r102 = await insert_room(conn, prop, "102")
    url = f"/admin/properties/{prop}/mappings"
    first = [
        {
            "mapping_type": "room",
            "internal_id": str(r101),
            "external_id": "7001",
            "external_unit_id": "1",
        },
        {
            "mapping_type": "room",
            "internal_id": str(r102),
            "external_id": "7001",
            "external_unit_id": "2",
        },
        {"mapping_type": "room_type", "internal_id": str(double), "external_id": "7002"},
    ]
    response = await api.put(url, json={"mappings": first})
    assert response.status_code == 200, response.text
    listed = (await api.get(url)).json()["mappings"]
    assert {
        (
            m["mapping_type"],
            m["internal_id"],
            m["external_id"],
            m["external_unit_id"],
            m["internal_name"],
        )
        for m in listed
    } == {
        ("room", str(r101), "7001", "1", "101"),
        ("room", str(r102), "7001", "2", "102"),
        ("room_type", str(double), "7002", None, "Double"),
    }
    events_after_first = await _outbound_events(db)
    assert events_after_first > 0  # the capture trigger asked for availability pushes

    # The same mappings again change nothing, so no availability push is recorded.
    assert (await api.put(url, json={"mappings": first})).status_code == 200
    assert await _outbound_events(db) == events_after_first

    # Drop 102, move the room type: only those rows change.
    second = [first[0], {**first[2], "external_id": "7003"}]
    body = (await api.put(url, json={"mappings": second})).json()["mappings"]
    assert {(m["internal_id"], m["external_id"]) for m in body} == {
        (str(r101), "7001"),
        (str(double), "7003"),
    }
    assert await _outbound_events(db) > events_after_first

    assert (await api.put(url, json={"mappings": []})).json()["mappings"] == []


async def test_mappings_are_validated(api: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn, "Here")
        other = await insert_property(conn, "Elsewhere")
        mine = await insert_room(conn, prop, "1")
        foreign = await insert_room(conn, other, "9")
        foreign_type = await insert_room_type(conn, other, "Suite")
        await conn.execute(
            "INSERT INTO channel_mappings (property_id, mapping_type, internal_id, external_id) "
            "VALUES ($1, 'room', $2, '7001')",
            prop,
            mine,
        )
    url = f"/admin/properties/{prop}/mappings"

    def room(internal: uuid.UUID, external: str = "7001", **extra: str) -> dict[str, str]:
        return {
            "mapping_type": "room",
            "internal_id": str(internal),
            "external_id": external,
            **extra,
        }

    # 400: the body breaks the OpenAPI document; 422: it keeps to it, but a rule about the
    # data (whose rooms they are, each mapped once) refuses it.
    cases = [
        ([room(foreign)], 422, f"not a room of property {prop}: {foreign}"),
        (
            [{"mapping_type": "room_type", "internal_id": str(foreign_type), "external_id": "1"}],
            422,
            f"not a room_type of property {prop}",
        ),
        ([room(mine), room(mine, "7002")], 422, "mapped more than once"),
        ([room(mine, "abc")], 400, "'mappings.0.external_id'"),
        ([room(mine, "0")], 400, "'mappings.0.external_id'"),
        (
            [{"mapping_type": "unit", "internal_id": str(mine), "external_id": "1"}],
            400,
            "'mappings.0.mapping_type'",
        ),
        ([room(mine, external_unit_id="x1")], 400, "'mappings.0.external_unit_id'"),
        ([room(mine)] * (MAX_MAPPINGS + 1), 400, "'mappings'"),
    ]
    for mappings, status, message in cases:
        response = await api.put(url, json={"mappings": mappings})
        assert response.status_code == status, mappings
        assert message in response.json()["error"], response.json()
    r2 = await _room(db, prop, "2")
    twice = await api.put(
        url, json={"mappings": [room(mine, external_unit_id="1"), room(r2, external_unit_id="1")]}
    )
    assert twice.status_code == 422 and "mapped twice" in twice.json()["error"]
    # Nothing was changed by the refused requests.
    assert [
        (m["internal_id"], m["external_id"]) for m in (await api.get(url)).json()["mappings"]
    ] == [(str(mine), "7001")]
    assert (
        await api.put(f"/admin/properties/{uuid.uuid4()}/mappings", json={"mappings": []})
    ).status_code == 404
    assert (await api.get(f"/admin/properties/{uuid.uuid4()}/mappings")).status_code == 404


async def _room(db: asyncpg.Pool, prop: uuid.UUID, name: str) -> uuid.UUID:
    async with db.acquire() as conn:
        return await insert_room(conn, prop, name)


async def test_property_listing_and_detail(api: httpx.AsyncClient, db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        linked = await insert_property(conn, "A linked")
        await connect_beds24(conn, linked, 5002)
        plain = await insert_property(conn, "B plain")
    listed = (await api.get("/admin/properties")).json()["properties"]
    assert [p["name"] for p in listed] == ["A linked", "B plain"]
    assert listed[0]["beds24_property_id"] == 5002 and listed[0]["account_id"] == "acct-1"
    assert listed[1]["beds24_property_id"] is None
    assert "refresh_token" not in str(listed) and "rt-secret" not in str(listed)
    page = (await api.get("/admin/properties", params={"limit": "1", "offset": "1"})).json()
    assert [p["property_id"] for p in page["properties"]] == [str(plain)]
    one = (await api.get(f"/admin/properties/{linked}")).json()
    assert one["property_id"] == str(linked)
    assert (await api.get(f"/admin/properties/{uuid.uuid4()}")).status_code == 404
    assert (await api.get("/admin/properties", params={"limit": "5000"})).status_code == 400


async def _rate_plan(db: asyncpg.Pool, prop: uuid.UUID, code: str, name: str) -> uuid.UUID:
    async with db.acquire() as conn:
        plan: uuid.UUID = await conn.fetchval(
            "INSERT INTO rate_plans (property_id, code, name) VALUES ($1, $2, $3) RETURNING id",
            prop,
            code,
            name,
        )
    return plan


def _plan(plan: uuid.UUID, slot: str, **extra: str) -> dict[str, str]:
    return {"mapping_type": "rate_plan", "internal_id": str(plan), "external_id": slot, **extra}


async def _stored(db: asyncpg.Pool, prop: uuid.UUID) -> set[tuple[str, str, str]]:
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT mapping_type, internal_id, external_id FROM channel_mappings "
            "WHERE property_id = $1",
            prop,
        )
    return {(r["mapping_type"], str(r["internal_id"]), r["external_id"]) for r in rows}


async def test_rate_plans_map_to_price_slots_and_room_only_bodies_keep_them(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn)
        await connect_beds24(conn, prop, 5003)
        double = await insert_room_type(conn, prop, "Double")
        await insert_room(conn, prop, "101", double)
    bar = await _rate_plan(db, prop, "BAR", "Best available rate")
    flex = await _rate_plan(db, prop, "FLEX", "FLEX")
    url = f"/admin/properties/{prop}/mappings"
    room_type = {"mapping_type": "room_type", "internal_id": str(double), "external_id": "7001"}

    response = await api.put(
        url, json={"mappings": [room_type, _plan(bar, "price1"), _plan(flex, "price16")]}
    )
    assert response.status_code == 200, response.text
    listed = {
        (m["mapping_type"], m["internal_name"], m["external_id"], m["external_unit_id"])
        for m in response.json()["mappings"]
    }
    assert listed == {
        ("room_type", "Double", "7001", None),
        ("rate_plan", "BAR (Best available rate)", "price1", None),
        ("rate_plan", "FLEX", "price16", None),
    }
    assert response.json() == (await api.get(url)).json()
    async with db.acquire() as conn:
        price_events = await conn.fetchval(
            "SELECT count(*) FROM channel_events WHERE event_type = 'pms.rates.update'"
        )
    assert price_events > 0, "mapping a slot sends the property's prices"

    # A client that knows nothing of rate plans sends its rooms alone: the slots stay.
    assert (await api.put(url, json={"mappings": [room_type]})).status_code == 200
    assert await _stored(db, prop) == {
        ("room_type", str(double), "7001"),
        ("rate_plan", str(bar), "price1"),
        ("rate_plan", str(flex), "price16"),
    }
    # A body holding rate plans replaces them all: here the two swap slots, in one request.
    swapped = await api.put(
        url, json={"mappings": [room_type, _plan(bar, "price16"), _plan(flex, "price1")]}
    )
    assert swapped.status_code == 200, swapped.text
    assert await _stored(db, prop) == {
        ("room_type", str(double), "7001"),
        ("rate_plan", str(bar), "price16"),
        ("rate_plan", str(flex), "price1"),
    }
    # ... and one left out is unmapped; rooms are replaced as ever (none given: none kept).
    assert (await api.put(url, json={"mappings": [_plan(bar, "price2")]})).status_code == 200
    assert await _stored(db, prop) == {("rate_plan", str(bar), "price2")}

    # What a client reads in the document.
    document = (await api.get("/openapi.json")).json()
    said = document["paths"]["/admin/properties/{property_id}/mappings"]["put"]["description"]
    assert "are replaced only when the body holds at least one" in " ".join(said.split())
    assert (
        "rate_plan"
        in document["components"]["schemas"]["Mapping"]["properties"]["mapping_type"]["enum"]
    )


async def test_rate_plan_mappings_are_validated_and_nothing_is_stored_on_error(
    api: httpx.AsyncClient, db: asyncpg.Pool
) -> None:
    async with db.acquire() as conn:
        prop = await insert_property(conn, "Here")
        other = await insert_property(conn, "Elsewhere")
        double = await insert_room_type(conn, prop, "Double")
    bar = await _rate_plan(db, prop, "BAR", "BAR")
    flex = await _rate_plan(db, prop, "FLEX", "FLEX")
    foreign = await _rate_plan(db, other, "OTA", "OTA")
    url = f"/admin/properties/{prop}/mappings"
    room_type = {"mapping_type": "room_type", "internal_id": str(double), "external_id": "7001"}
    assert (await api.put(url, json={"mappings": [room_type, _plan(bar, "price1")]})).is_success
    kept = await _stored(db, prop)

    cases = [
        ([room_type, _plan(bar, "price17")], 422, "must be mapped to a Beds24 price slot"),
        ([_plan(bar, "price0")], 422, "price1..price16, not 'price0'"),
        ([_plan(bar, "7002")], 422, "price1..price16, not '7002'"),
        (
            [{**room_type, "external_id": "price3"}],
            422,
            "a room_type is mapped to a Beds24 room id, not 'price3'",
        ),
        ([_plan(bar, "price1", external_unit_id="1")], 422, "has no Beds24 unit"),
        ([_plan(foreign, "price2")], 422, f"not a rate_plan of property {prop}: {foreign}"),
        (
            [_plan(bar, "price4"), _plan(flex, "price4")],
            422,
            "price slot price4 is given to 2 rate plans",
        ),
        ([_plan(bar, "price1"), _plan(bar, "price2")], 422, "mapped more than once"),
        ([_plan(bar, "slot1")], 400, "'mappings.0.external_id'"),  # breaks the document
        ([_plan(bar, "Price1")], 400, "'mappings.0.external_id'"),
    ]
    for given, status, message in cases:
        response = await api.put(url, json={"mappings": given})
        assert response.status_code == status, (given, response.text)
        assert message in response.json()["error"], (given, response.json())
        assert await _stored(db, prop) == kept, given
    assert await _stored(db, other) == set()
