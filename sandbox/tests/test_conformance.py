"""Conformance: every path the sandbox serves answers in the shapes Beds24's official
OpenAPI file (`apiV2.yaml`) describes. The models below restate those shapes in the
project's own words; `extra="forbid"` makes any field the file does not allow fail the
test, and enumerations accept only the values the file lists. A model may list fewer
fields than the file allows (the ones the sandbox can produce), never more.

A field declared `T = ABSENT` may be left out but, when present, must be a T (null only
where the file says the field may be null)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Literal

import httpx
import pytest
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

ABSENT: Any = Field(default=None)
SOON = date.today() + timedelta(days=40)


class Shape(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# -- envelopes ------------------------------------------------------------------------------
class ErrorAnswer(Shape):
    """A refusal: `{success: false, type: "error", code, error}`, all four required."""

    success: Literal[False]
    type: Literal["error"]
    code: int
    error: str


class Pages(Shape):
    nextPageExists: bool
    nextPageLink: str | None = ABSENT  # a string in the file; measured live as null too


class Message(Shape):
    """One entry of a write result's `errors`, `warnings` or `info`."""

    action: str = ABSENT
    field: str = ABSENT
    message: str = ABSENT


class WriteResult(Shape):
    """One item of a POST (or DELETE) answer: 201 with one of these per item."""

    success: bool = ABSENT
    new: dict[str, Any] = ABSENT
    modified: dict[str, Any] = ABSENT
    errors: list[Message] = ABSENT
    warnings: list[Message] = ABSENT
    info: list[Message] = ABSENT


def listing(kind: str, record: type[Shape]) -> type[Shape]:
    """The envelope of a successful GET: `{success, type, count, pages, data: [record]}`."""
    return create_model(
        f"{kind.title()}Listing",
        __base__=Shape,
        success=(Literal[True], ...),
        type=(Literal[kind], ABSENT),
        count=(int, ABSENT),
        pages=(Pages, ABSENT),
        data=(list[record], ABSENT),
    )


# -- authentication -------------------------------------------------------------------------
class SetupAnswer(Shape):
    token: str = ABSENT
    expiresIn: int = ABSENT
    refreshToken: str = ABSENT


class TokenAnswer(Shape):
    token: str = ABSENT
    expiresIn: int = ABSENT


class TokenFacts(Shape):
    ownerId: int = ABSENT
    expiresIn: int = ABSENT
    created: datetime = ABSENT
    scopes: list[str] = ABSENT
    deviceName: str = ABSENT
    linkedProperties: bool = ABSENT
    onlyPropertyId: int | None = ABSENT
    whiteListOnly: bool = ABSENT
    whiteList: list[str] = ABSENT


class Diagnostics(Shape):
    requestIp: str = ABSENT


class DetailsAnswer(Shape):
    validToken: bool = ABSENT
    token: TokenFacts = ABSENT
    diagnostics: Diagnostics = ABSENT


# -- bookings -------------------------------------------------------------------------------
Status = Literal["confirmed", "request", "new", "cancelled", "black", "inquiry"]
# Channel codes the file lists for the booking field and for the GET filter (the filter's
# list adds `direct` and `bookingpage`), and the language codes it lists.
CHANNELS = frozenset((
    "agoda", "airbnb", "airbnbical", "asiatravel", "atraveode", "bedandbreakfasteu",
    "bedandbreakfastnl", "bookeasycomau", "booking", "bookingpage", "bookitconz", "despegar",
    "direct", "edreamsodigeo", "expedia", "feratel", "flipkey", "goibibo", "googleads",
    "googlecal", "guestlinkcouk", "holidaylettingscouk", "hometogo", "hostelinternational",
    "hostelsclub", "hostelworld", "hotelbeds", "housetripcom", "hrs", "icalimport1",
    "icalimport2", "icalimport3", "jomres", "lastminute", "marriott", "nzaa", "ostrovokru",
    "ota", "reserva", "rezintelnet", "tablethotels", "tiket", "tomastravel", "traum",
    "traumferienwohnungen", "traveloka", "travia", "trip", "tripadvisorrentals", "trivagocom",
    "vacationstay", "visitscotlandcom", "vrbo", "vrboical", "webroomsconz",
))  # fmt: skip
LANGUAGES = frozenset((
    "en", "ar", "bg", "ca", "cs", "da", "de", "el", "es", "et", "fi", "fr", "hr", "he", "hu",
    "id", "is", "it", "ja", "ko", "lt", "mn", "my", "nl", "no", "pl", "pt", "ro", "ru", "sk",
    "sl", "sr", "sv", "th", "tr", "vi", "zh", "zt",
))  # fmt: skip
SubStatus = Literal[
    "actionRequired",
    "allotment",
    "cancelledByGuest",
    "cancelledByHost",
    "noShow",
    "waitlist",
    "walkin",
    "none",
    "nonPayment",
]


class BookingGroup(Shape):
    master: int = ABSENT
    ids: list[int] = ABSENT


class InfoItem(Shape):
    """As read: the item's own id and creation time besides what a write sends."""

    id: int = ABSENT
    createTime: datetime = ABSENT
    code: str = ABSENT
    text: str = ABSENT
    bookingId: int = ABSENT


class InvoiceItem(Shape):
    id: int = ABSENT
    type: Literal["charge", "payment"] = ABSENT
    bookingId: int = ABSENT
    invoiceeId: int | None = ABSENT
    description: str = ABSENT
    status: str = ABSENT
    qty: float = ABSENT
    amount: float = ABSENT
    vatRate: float = ABSENT
    createdBy: int = ABSENT
    lineTotal: float = ABSENT
    createTime: datetime = ABSENT
    invoiceId: int | None = ABSENT
    subType: int = ABSENT


class Guest(Shape):
    id: int = ABSENT
    firstName: str = ABSENT
    lastName: str = ABSENT
    email: str = ABSENT


class CancellationRule(Shape):
    type: Literal["propertyDefault", "never", "always", "daysBeforeArrival"] = ABSENT
    daysBeforeArrivalValue: int | None = ABSENT


class BookingBase(Shape):
    id: int = ABSENT
    propertyId: int = ABSENT
    roomId: int = ABSENT
    unitId: int = ABSENT
    roomQty: int = ABSENT
    masterId: int | None = ABSENT  # null: not in a group
    bookingGroup: BookingGroup | None = ABSENT
    status: Status = ABSENT
    subStatus: SubStatus = ABSENT
    statusCode: int = ABSENT
    offerId: int = ABSENT
    arrival: date = ABSENT
    departure: date = ABSENT
    numAdult: int = ABSENT
    numChild: int = ABSENT
    channel: str = ABSENT
    apiSourceId: int = ABSENT
    apiSource: str = ABSENT
    apiReference: str = ABSENT
    referer: str = ABSENT
    reference: str = ABSENT
    lang: str = ABSENT
    country2: str | None = ABSENT
    groupNote: str | None = ABSENT
    invoiceeId: int | None = ABSENT
    stripeToken: str | None = ABSENT
    pcibookingToken: str | None = ABSENT
    price: float = ABSENT
    deposit: float = ABSENT
    tax: float = ABSENT
    commission: float = ABSENT
    allowChannelUpdate: Literal["none", "all", "allExceptRoomChange"] = ABSENT
    allowAutoAction: Literal["disable", "enable"] = ABSENT
    allowReview: Literal["default", "disable", "enable"] = ABSENT
    allowCancellation: CancellationRule = ABSENT
    bookingTime: datetime = ABSENT
    modifiedTime: datetime = ABSENT
    cancelTime: datetime | None = ABSENT
    infoItems: list[InfoItem] = ABSENT
    invoiceItems: list[InvoiceItem] = ABSENT
    guests: list[Guest] = ABSENT

    @field_validator("channel")
    @classmethod
    def _listed_channel(cls, value: str) -> str:
        # The file lists channel codes for the field and for the GET filter (which adds
        # `direct` and `bookingpage`): one of those, never "".
        if value not in CHANNELS:
            raise ValueError(f"channel {value!r} is not a listed channel")
        return value

    @field_validator("lang")
    @classmethod
    def _listed_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"lang {value!r} is not a listed language")
        return value


_TEXTS = (
    "title", "firstName", "lastName", "email", "phone", "mobile", "fax", "company", "address",
    "city", "state", "postcode", "country", "arrivalTime", "voucher", "comments", "notes",
    "message", "flagColor", "flagText", "refererEditable", "rateDescription", "apiMessage",
)  # fmt: skip
Booking = create_model(
    "Booking",
    __base__=BookingBase,
    **{name: (str, ABSENT) for name in _TEXTS},
    **{f"custom{i}": (str, ABSENT) for i in range(1, 11)},
)


# -- inventory and properties ---------------------------------------------------------------
Override = Literal[
    "none", "blackout", "exception", "noCheckIn", "noCheckOut", "noCheckInOrCheckOut"
]
LimitedChannel = Literal[
    "agoda", "airbnb", "asiatravel", "atraveode", "booking", "despegar", "edreamsodigeo",
    "expedia", "feratel", "goibibo", "hometogo", "hostelworld", "hotelbeds", "hrs", "jomres",
    "marriott", "ostrovokru", "ota", "reserva", "tiket", "tomastravel", "traveloka", "travia",
    "traum", "trip", "tripadvisorrentals", "vacationstay", "vrbo",
]  # fmt: skip


class ChannelLimit(Shape):
    maxBookings: int | None = ABSENT


class CalendarRangeBase(Shape):
    from_: date = Field(default=None, alias="from")
    to: date = ABSENT
    numAvail: int = ABSENT  # negative when overbooked
    minStay: int = ABSENT
    maxStay: int = ABSENT
    multiplier: float = ABSENT
    override: Override = ABSENT
    channels: dict[LimitedChannel, ChannelLimit] = ABSENT


CalendarRange = create_model(
    "CalendarRange",
    __base__=CalendarRangeBase,
    **{f"price{i}": (float, ABSENT) for i in range(1, 17)},
)


class RoomCalendar(Shape):
    roomId: int = ABSENT
    propertyId: int = ABSENT
    calendar: list[CalendarRange] = ABSENT


class RoomAvailability(Shape):
    roomId: int = ABSENT
    propertyId: int = ABSENT
    name: str = ABSENT
    availability: dict[date, bool] = ABSENT


class Unit(Shape):
    id: int = ABSENT
    name: str = ABSENT
    statusColor: str = ABSENT
    statusText: str = ABSENT
    note: str = ABSENT


class Room(Shape):
    id: int = ABSENT
    propertyId: int = ABSENT
    name: str = ABSENT
    qty: int = ABSENT
    minPrice: float = ABSENT
    maxPeople: int = ABSENT
    minStay: int | None = ABSENT
    maxStay: int | None = ABSENT
    units: list[Unit] = ABSENT


class Property(Shape):
    id: int = ABSENT
    name: str = ABSENT
    # A subset of the file's list: the kinds of place a sandbox property can be.
    propertyType: Literal[
        "apartment",
        "bedAndBreakfast",
        "cabin",
        "guesthouse",
        "hostel",
        "hotel",
        "house",
        "villa",
        "aparthotel",
        "boutiqueHotel",
        "resort",
        "servicedApartment",
        "studio",
    ] = ABSENT
    currency: str = ABSENT
    address: str = ABSENT
    city: str = ABSENT
    country: str = ABSENT
    roomTypes: list[Room] = ABSENT


# -- the paths ------------------------------------------------------------------------------
OFFICIAL_CREDIT_HEADERS = {
    "x-fivemincreditlimit",
    "x-fivemincreditlimit-remaining",
    "x-fivemincreditlimit-resetsin",
    "x-requestcost",
}


def check(answer: httpx.Response, status: int, shape: Any) -> Any:
    """The answer has the official status and shape; a charged one the four credit headers."""
    assert answer.status_code == status, answer.text
    if status == 400:
        shape = ErrorAnswer
    if shape is None:
        assert answer.content == b"", "the file gives this answer no content"
        return None
    body = answer.json()
    if isinstance(body, list):
        return [shape.model_validate(item) for item in body]
    return shape.model_validate(body)


def charged(answer: httpx.Response) -> None:
    names = {k.lower() for k in answer.headers if k.lower().startswith("x-")}
    credit_names = {n for n in names if "credit" in n or "cost" in n}
    assert credit_names == OFFICIAL_CREDIT_HEADERS, credit_names


@pytest.fixture
async def prop(beds24_sandbox: SandboxHandle) -> SandboxProperty:
    await beds24_sandbox.configure(credit_headers="openapi")
    return await beds24_sandbox.seed(
        rooms=[{"name": "Double", "qty": 2}, {"name": "Single", "qty": 1, "minStay": 2}]
    )


async def test_authentication_paths(beds24_sandbox: SandboxHandle, prop: SandboxProperty) -> None:
    invite = await beds24_sandbox.new_invite_code(prop.account.account_id)
    async with httpx.AsyncClient(base_url=beds24_sandbox.url) as http:
        setup = await http.get("/authentication/setup", headers={"code": invite})
        check(setup, 200, SetupAnswer)
        charged(setup)
        check(await http.get("/authentication/setup", headers={"code": invite}), 400, None)
        refresh = {"refreshToken": prop.account.refresh_token}
        token = await http.get("/authentication/token", headers=refresh)
        check(token, 200, TokenAnswer)
        charged(token)
        bad = {"refreshToken": "nope"}
        check(await http.get("/authentication/token", headers=bad), 400, None)
        details = await http.get(
            "/authentication/details", headers={"token": token.json()["token"]}
        )
        assert check(details, 200, DetailsAnswer).validToken is True
        unknown = await http.get("/authentication/details", headers={"token": "nope"})
        assert check(unknown, 200, DetailsAnswer).validToken is False
        check(await http.delete("/authentication/token", headers=bad), 400, None)
        check(await http.delete("/authentication/token", headers=refresh), 200, None)


async def test_bookings_paths(beds24_sandbox: SandboxHandle, prop: SandboxProperty) -> None:
    double, single = prop.room_ids
    stay = {"arrival": SOON.isoformat(), "departure": (SOON + timedelta(days=2)).isoformat()}
    group = {"actions": {"makeGroup": True, "checkAvailability": True}}
    async with beds24_sandbox.api_session(prop) as api:
        written = await api.http.post(
            "/bookings",
            json=[
                {"roomId": double, **stay, **group, "infoItems": [{"code": "A", "text": "1"}]},
                {"roomId": double, **stay, **group, "firstName": "Ana", "apiReference": "R-1"},
                {"roomId": 1, **stay},
            ],
        )
        results = check(written, 201, WriteResult)
        charged(written)
        first, second = results[0].new["id"], results[1].new["id"]
        modified = await api.http.post(
            "/bookings",
            json=[
                {"id": first, "infoItems": [{"code": "B", "text": "2"}], "roomQty": 1},
                {"id": second, "status": "cancelled", "subStatus": "cancelledByGuest"},
            ],
        )
        check(modified, 201, WriteResult)
        await beds24_sandbox.guest_group(
            [{"roomId": double}, {"roomId": single}], SOON, SOON + timedelta(days=3)
        )
        await beds24_sandbox.guest_booking(
            single, SOON + timedelta(days=9), SOON + timedelta(days=10), roomQty=1, lang="de"
        )
        flags = ("includeInfoItems", "includeInvoiceItems", "includeGuests", "includeBookingGroup")
        every = [("arrivalFrom", "2000-01-01"), *(("status", s) for s in Status.__args__)]
        for params in ([], every, [*every, *((f, "true") for f in flags)]):
            answer = await api.http.get("/bookings", params=params)
            body = check(answer, 200, listing("booking", Booking))
            charged(answer)
            assert body.data, params
        check(await api.http.get("/bookings", params={"status": "x"}), 400, None)
        deleted = await api.http.delete("/bookings", params=[("id", first), ("id", 1)])
        check(deleted, 201, WriteResult)
        charged(deleted)


async def test_inventory_and_property_paths(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty
) -> None:
    double, single = prop.room_ids
    days = {"startDate": "2031-09-01", "endDate": "2031-09-05"}
    async with beds24_sandbox.api_session(prop) as api:
        for _ in range(3):  # overbook the single room
            await beds24_sandbox.guest_booking(single, "2031-09-02", "2031-09-03")
        pushed = await api.http.post(
            "/inventory/rooms/calendar",
            json=[
                {
                    "roomId": double,
                    "calendar": [
                        {"from": "2031-09-01", "to": "2031-09-02", "numAvail": 1, "price1": 90.5},
                        {"from": "2031-09-03", "to": "2031-09-03", "override": "blackout"},
                        {
                            "from": "2031-09-04",
                            "to": "2031-09-05",
                            "override": "noCheckInOrCheckOut",
                            "minStay": 3,
                            "multiplier": 1.5,
                            "channels": {"booking": {"maxBookings": 1}},
                        },
                    ],
                },
                {"roomId": 1, "calendar": [{"from": "2031-09-01", "numAvail": 1}]},
            ],
        )
        check(pushed, 201, WriteResult)
        charged(pushed)
        flags = [
            "includeNumAvail",
            "includeMinStay",
            "includeMaxStay",
            "includeMultiplier",
            "includeOverride",
            "includePrices",
            "includeLinkedPrices",
            "includeChannels",
        ]
        for extra in ({}, dict.fromkeys(flags, "true")):
            answer = await api.http.get("/inventory/rooms/calendar", params={**days, **extra})
            body = check(answer, 200, listing("calendar", RoomCalendar))
            charged(answer)
            assert len(body.data) == 2
        bad_dates = {"startDate": "2031-09-05", "endDate": "2031-09-01"}
        check(await api.http.get("/inventory/rooms/calendar", params=bad_dates), 400, None)
        for params in (days, {**days, "propertyId": prop.id, "roomId": double}):
            answer = await api.http.get("/inventory/rooms/availability", params=params)
            check(answer, 200, listing("availability", RoomAvailability))
            charged(answer)
        for params in (
            {},
            {"includeAllRooms": "true"},
            {"includeAllRooms": "true", "roomId": single},
        ):
            answer = await api.http.get("/properties", params=params)
            check(answer, 200, listing("property", Property))
            charged(answer)
        check(await api.http.get("/properties", params={"id": "x"}), 400, None)
        # Served as seen live rather than as the file describes it: a bare 500.
        bare = await api.http.get("/properties/rooms")
        assert bare.status_code == 500 and bare.text == "Internal Server Error"


def test_the_models_refuse_what_the_file_does_not_allow() -> None:
    """The models are strict enough to catch the sandbox's former deviations."""
    stamp = "2031-01-01T00:00:00Z"
    base = {"id": 1, "arrival": "2031-01-01", "bookingTime": stamp}
    Booking.model_validate(base)
    for wrong in (
        {"subStatus": ""},
        {"lang": ""},
        {"channel": ""},
        {"bookingGroup": 5},
        {"deleted": {"id": 1}},
        {"infoItems": [{"id": 1, "colour": "red"}]},
        {"unitId": None},
    ):
        with pytest.raises(ValueError):
            Booking.model_validate({**base, **wrong})
    with pytest.raises(ValueError):
        CalendarRange.model_validate({"from": "2031-01-01", "override": "noCheckInOut"})
    with pytest.raises(ValueError):
        RoomCalendar.model_validate({"roomId": 1, "name": "Double", "calendar": []})
    with pytest.raises(ValueError):
        WriteResult.model_validate({"success": True, "deleted": {"id": 1}})
