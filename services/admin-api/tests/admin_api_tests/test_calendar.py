"""GET /admin/properties/{id}/calendar against the Beds24 sandbox: a room's nights with the
PMS's values (free units; with a rate plan mapped, prices per slot and restrictions) beside
what Beds24 shows, read in ONE Beds24 call, and the fields that differ; refused ranges,
rooms and properties, and Beds24 out of reach, each with a clear error."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from beds24_sandbox.server import SandboxServer
from channel_sync.beds24 import Beds24Client, calendar_item

from .conftest import Admin, admin_settings, serve
from .factories import connect_beds24, insert_property, insert_room, insert_room_type

FIRST = date.today() + timedelta(days=30)
CALENDAR_GET = {"method": "GET", "path": "/inventory/rooms/calendar"}


def day(n: int) -> date:
    return FIRST + timedelta(days=n)


@pytest.fixture(scope="module")
async def admin_b24(
    database_url: str, amqp_url: str, beds24_sandbox_server: SandboxServer
) -> AsyncIterator[Admin]:
    settings = admin_settings(database_url, amqp_url, beds24_api_url=beds24_sandbox_server.api_url)
    async with serve(settings) as running:
        yield running


@pytest.fixture
async def b24_api(admin_b24: Admin, db: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_b24.client() as client:
        yield client


class Hotel:
    def __init__(self, property_id: UUID, room_type: UUID, rooms: list[UUID], room_id: int):
        self.property_id = property_id
        self.room_type = room_type
        self.rooms = rooms
        self.room_id = room_id

    def calendar_url(self) -> str:
        return f"/admin/properties/{self.property_id}/calendar"

    def query(self, first: date, last: date, room_id: int | str | None = None) -> dict[str, str]:
        return {
            "room_id": str(room_id or self.room_id),
            "from": first.isoformat(),
            "to": last.isoformat(),
        }


async def _hotel(db: asyncpg.Pool, seeded: SandboxProperty) -> Hotel:
    """A PMS property on the sandbox's: two rooms of one type sold as its Beds24 room."""
    room_id = seeded.room_ids[0]
    async with db.acquire() as conn:
        prop = await insert_property(conn, "Calendar Hotel")
        await conn.execute(
            """INSERT INTO beds24_properties (property_id, beds24_property_id, account_id,
                   refresh_token) VALUES ($1, $2, $3, $4)""",
            prop,
            seeded.id,
            str(seeded.account.account_id),
            seeded.account.refresh_token,
        )
        double = await insert_room_type(conn, prop, "Double")
        rooms = [await insert_room(conn, prop, name, double) for name in ("11", "12")]
        await conn.execute(
            """INSERT INTO channel_mappings (property_id, mapping_type, internal_id, external_id)
               VALUES ($1, 'room_type', $2, $3)""",
            prop,
            double,
            str(room_id),
        )
    return Hotel(prop, double, rooms, room_id)


async def _rate_plan(db: asyncpg.Pool, prop: UUID, code: str, name: str) -> UUID:
    async with db.acquire() as conn:
        plan: UUID = await conn.fetchval(
            "INSERT INTO rate_plans (property_id, code, name) VALUES ($1, $2, $3) RETURNING id",
            prop,
            code,
            name,
        )
    return plan


async def _write_beds24(
    sandbox: SandboxHandle, seeded: SandboxProperty, days: dict[date, dict[str, Any]]
) -> None:
    async with Beds24Client(sandbox.url, seeded.account.refresh_token) as client:
        results = await client.write_calendar([calendar_item(seeded.room_ids[0], days)])
    assert all(r.success for r in results), results


async def test_the_pms_and_beds24_side_by_side_with_what_differs(
    b24_api: httpx.AsyncClient, db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    seeded = await beds24_sandbox.seed(rooms=[{"name": "Double", "qty": 2}])
    hotel = await _hotel(db, seeded)
    async with db.acquire() as conn:  # room 11 is taken the night of day 2
        await conn.execute(
            """INSERT INTO reservations (property_id, room_id, arrival, departure)
               VALUES ($1, $2, $3, $4)""",
            hotel.property_id,
            hotel.rooms[0],
            day(2),
            day(3),
        )
    # Beds24 as the sync would have left it, but for one field on three nights.
    await _write_beds24(
        beds24_sandbox,
        seeded,
        {
            day(0): {"numAvail": 2, "price1": 100, "price3": 90.5, "override": "noCheckOut"},
            day(1): {"numAvail": 1, "price1": 110, "price3": 90.5, "minStay": 3},
            day(2): {"numAvail": 1, "price1": 120, "price3": 90.5, "override": "noCheckIn"},
            day(3): {"numAvail": 2, "price1": 130, "price3": 90.5, "override": "blackout"},
            day(4): {"numAvail": 2, "price1": 999, "price3": 90.5},
        },
    )
    url = hotel.calendar_url()

    # No rate plan mapped yet: the property does not set prices; availability alone compares.
    before = await b24_api.get(url, params=hotel.query(day(0), day(4)))
    assert before.status_code == 200, before.text
    body = before.json()
    assert body["manages_ari"] is False and body["rate_plans"] == []
    assert [n["pms"]["free_units"] for n in body["nights"]] == [2, 2, 1, 2, 2]
    assert {n["night"]: n["differs"] for n in body["nights"] if n["differs"]} == {
        str(day(1)): ["numAvail"],  # Beds24 shows 1, the PMS has 2 free
        str(day(3)): ["numAvail"],  # a blackout in Beds24 the PMS knows nothing of
    }
    assert all(n["pms"]["prices"] == [] and n["pms"]["min_stay"] is None for n in body["nights"])
    assert body["nights"][4]["beds24"]["prices"] == {"price1": 999, "price3": 90.5}

    # Map two rate plans (with the room type, as a PMS vendor sends them all) and set ARI.
    bar = await _rate_plan(db, hotel.property_id, "BAR", "Best available rate")
    flex = await _rate_plan(db, hotel.property_id, "FLEX", "FLEX")
    mapped = await b24_api.put(
        f"/admin/properties/{hotel.property_id}/mappings",
        json={
            "mappings": [
                {
                    "mapping_type": "room_type",
                    "internal_id": str(hotel.room_type),
                    "external_id": str(hotel.room_id),
                },
                {"mapping_type": "rate_plan", "internal_id": str(bar), "external_id": "price1"},
                {"mapping_type": "rate_plan", "internal_id": str(flex), "external_id": "price3"},
            ]
        },
    )
    assert mapped.status_code == 200, mapped.text
    async with db.acquire() as conn, conn.transaction():
        await conn.execute(
            """INSERT INTO room_rates (rate_plan_id, room_type_id, night, property_id, price)
               SELECT $1::uuid, $2::uuid, $3::date + n, $4::uuid, 100 + 10 * n
               FROM generate_series(0, 4) n
               UNION ALL
               SELECT $5::uuid, $2::uuid, $3::date + n, $4::uuid, 90.5
               FROM generate_series(0, 4) n""",
            bar,
            hotel.room_type,
            day(0),
            hotel.property_id,
            flex,
        )
        await conn.execute(
            """INSERT INTO room_restrictions (room_type_id, night, property_id, min_stay,
                   closed_to_arrival, stop_sell)
               VALUES ($1, $3, $2, 3, false, false), ($1, $4, $2, NULL, true, false),
                      ($1, $5, $2, NULL, false, true)""",
            hotel.room_type,
            hotel.property_id,
            day(1),
            day(2),
            day(3),
        )
    await beds24_sandbox.clear_calls()

    response = await b24_api.get(url, params=hotel.query(day(0), day(4)))
    assert response.status_code == 200, response.text
    body = response.json()
    [call] = await beds24_sandbox.calls(**CALENDAR_GET)  # ONE Beds24 call, every flag
    for flag in ("NumAvail", "Prices", "MinStay", "MaxStay", "Override"):
        assert f"include{flag}=true" in call["query"], call["query"]
    assert body["property_id"] == str(hotel.property_id)
    assert (body["room_id"], body["beds24_property_id"]) == (str(hotel.room_id), seeded.id)
    assert (body["first_night"], body["last_night"]) == (str(day(0)), str(day(4)))
    assert body["manages_ari"] is True and body["beds24_room_shown"] is True
    assert [(s["slot"], s["code"], s["name"]) for s in body["rate_plans"]] == [
        ("price1", "BAR", "Best available rate"),
        ("price3", "FLEX", "FLEX"),
    ]
    nights = {n["night"]: n for n in body["nights"]}
    assert list(nights) == [str(day(n)) for n in range(5)]

    first = nights[str(day(0))]
    assert first["pms"] == {
        "free_units": 2,
        "num_avail": 2,
        "prices": [
            {"slot": "price1", "rate_plan_code": "BAR", "price": 100},
            {"slot": "price3", "rate_plan_code": "FLEX", "price": 90.5},
        ],
        "min_stay": 1,
        "max_stay": None,
        "override": "none",
    }
    assert first["beds24"] == {
        "num_avail": 2,
        "prices": {"price1": 100, "price3": 90.5},
        "min_stay": 1,
        "max_stay": 365,
        "override": "noCheckOut",
    }
    stop_sell = nights[str(day(3))]["pms"]
    assert (stop_sell["free_units"], stop_sell["num_avail"], stop_sell["override"]) == (
        2,
        0,
        "blackout",
    )
    assert nights[str(day(1))]["pms"]["min_stay"] == 3
    assert nights[str(day(2))]["pms"]["override"] == "noCheckIn"
    assert {night: n["differs"] for night, n in nights.items()} == {
        str(day(0)): ["override"],
        str(day(1)): ["numAvail"],
        str(day(2)): [],
        str(day(3)): [],  # stop-sell in the PMS: Beds24's blackout and 0 agree now
        str(day(4)): ["price1"],
    }
    assert body["differing_nights"] == 3


async def test_refused_ranges_rooms_and_properties(
    b24_api: httpx.AsyncClient, db: asyncpg.Pool, beds24_sandbox: SandboxHandle
) -> None:
    seeded = await beds24_sandbox.seed(rooms=[{"name": "Double", "qty": 2}])
    hotel = await _hotel(db, seeded)
    url = hotel.calendar_url()
    await beds24_sandbox.clear_calls()
    cases: list[tuple[dict[str, str], int, str]] = [
        (hotel.query(day(5), day(4)), 422, f"'to' ({day(4)}) is before 'from' ({day(5)})"),
        (hotel.query(day(0), day(63)), 422, "at most 62 days"),
        ({**hotel.query(day(0), day(1)), "from": "2031-5-1"}, 400, "'from'"),
        ({**hotel.query(day(0), day(1)), "to": "1900000000"}, 400, "'to'"),
        ({"room_id": str(hotel.room_id), "from": day(0).isoformat()}, 400, "'to'"),
        (hotel.query(day(0), day(1), room_id="abc"), 400, "'room_id'"),
        ({**hotel.query(day(0), day(1)), "extra": "1"}, 400, "'extra'"),
        (
            hotel.query(day(0), day(1), room_id=hotel.room_id + 1000),
            404,
            f"Beds24 room {hotel.room_id + 1000} is not mapped for property",
        ),
    ]
    for params, status, message in cases:
        response = await b24_api.get(url, params=params)
        assert response.status_code == status, (params, response.text)
        assert message in response.json()["error"], (params, response.json())
    assert await beds24_sandbox.calls(**CALENDAR_GET) == [], "refused before Beds24 is asked"

    # The longest span is read (63 nights, from..to inclusive).
    longest = await b24_api.get(url, params=hotel.query(day(0), day(62)))
    assert longest.status_code == 200, longest.text
    assert len(longest.json()["nights"]) == 63

    missing = await b24_api.get(
        f"/admin/properties/{uuid.uuid4()}/calendar", params=hotel.query(day(0), day(1))
    )
    assert missing.status_code == 404 and "no property" in missing.json()["error"]

    # A Beds24 room selling PMS rooms of two room types has no one price: said, not guessed.
    async with db.acquire() as conn:
        suite = await insert_room_type(conn, hotel.property_id, "Suite")
        odd = await insert_room(conn, hotel.property_id, "S1", suite)
        await conn.execute(
            """INSERT INTO channel_mappings (property_id, mapping_type, internal_id, external_id)
               VALUES ($1, 'room', $2, $3)""",
            hotel.property_id,
            odd,
            str(hotel.room_id),
        )
        plan = await conn.fetchval(
            "INSERT INTO rate_plans (property_id, code, name) VALUES ($1, 'BAR', 'BAR') "
            "RETURNING id",
            hotel.property_id,
        )
        await conn.execute(
            """INSERT INTO channel_mappings (property_id, mapping_type, internal_id, external_id)
               VALUES ($1, 'rate_plan', $2, 'price1')""",
            hotel.property_id,
            plan,
        )
    ambiguous = await b24_api.get(url, params=hotel.query(day(0), day(1)))
    assert ambiguous.status_code == 422, ambiguous.text
    assert "2 room types" in ambiguous.json()["error"]


async def test_without_beds24_access_the_error_says_why(
    b24_api: httpx.AsyncClient,
    api: httpx.AsyncClient,
    db: asyncpg.Pool,
    beds24_sandbox: SandboxHandle,
) -> None:
    seeded = await beds24_sandbox.seed(rooms=[{"name": "Double", "qty": 2}])
    hotel = await _hotel(db, seeded)
    params = hotel.query(day(0), day(1))

    # Beds24 out of reach (the `api` server's Beds24 address answers nothing): 502.
    unreachable = await api.get(hotel.calendar_url(), params=params)
    assert unreachable.status_code == 502, unreachable.text
    assert unreachable.json()["error"].startswith("Beds24")

    # Credentials Beds24 refuses: 502, naming how to replace them.
    async with db.acquire() as conn:
        await conn.execute(
            "UPDATE beds24_properties SET refresh_token = 'revoked' WHERE property_id = $1",
            hotel.property_id,
        )
    refused = await b24_api.get(hotel.calendar_url(), params=params)
    assert refused.status_code == 502, refused.text
    assert f"PUT /admin/properties/{hotel.property_id}/credentials" in refused.json()["error"]

    # Not registered with Beds24 at all: 404, naming the registration.
    async with db.acquire() as conn:
        alone = await insert_property(conn, "Not on Beds24")
    unregistered = await b24_api.get(f"/admin/properties/{alone}/calendar", params=params)
    assert unregistered.status_code == 404
    assert "not registered with Beds24" in unregistered.json()["error"]

    # A room of another account's property: Beds24 shows nothing of it, and the answer says so.
    other = await beds24_sandbox.seed(rooms=[{"name": "Twin", "qty": 1}])
    async with db.acquire() as conn:
        elsewhere = await insert_property(conn, "Elsewhere")
        await connect_beds24(conn, elsewhere, other.id)
        await conn.execute(
            "UPDATE beds24_properties SET account_id = $2, refresh_token = $3 "
            "WHERE property_id = $1",
            elsewhere,
            str(other.account.account_id),
            other.account.refresh_token,
        )
        twin = await insert_room(conn, elsewhere, "T1")
        await conn.execute(
            """INSERT INTO channel_mappings (property_id, mapping_type, internal_id, external_id)
               VALUES ($1, 'room', $2, $3)""",
            elsewhere,
            twin,
            str(hotel.room_id),  # the first account's room
        )
    foreign = await b24_api.get(f"/admin/properties/{elsewhere}/calendar", params=params)
    assert foreign.status_code == 200, foreign.text
    assert foreign.json()["beds24_room_shown"] is False
    assert all(n["beds24"] is None and n["differs"] == [] for n in foreign.json()["nights"])
