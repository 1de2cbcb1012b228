"""Booking fields: their defaults, checks and timestamps as Beds24 shows them."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, timedelta
from typing import Any

STATUSES = ("confirmed", "request", "new", "cancelled", "black", "inquiry")
# Enumerated booking fields carry one of the values the official file lists, never "".
SUB_STATUSES = (
    "none",
    "actionRequired",
    "allotment",
    "cancelledByGuest",
    "cancelledByHost",
    "noShow",
    "waitlist",
    "walkin",
    "nonPayment",
)
# Channel codes the file names, for the booking field and for the GET filter (the filter
# list adds `direct`, which bookings made on our side carry, and `bookingpage`).
CHANNELS = frozenset(
    [
        "agoda",
        "airbnb",
        "airbnbical",
        "asiatravel",
        "atraveode",
        "bedandbreakfasteu",
        "bedandbreakfastnl",
        "bookeasycomau",
        "booking",
        "bookingpage",
        "bookitconz",
        "despegar",
        "direct",
        "edreamsodigeo",
        "expedia",
        "feratel",
        "flipkey",
        "goibibo",
        "googleads",
        "googlecal",
        "guestlinkcouk",
        "holidaylettingscouk",
        "hometogo",
        "hostelinternational",
        "hostelsclub",
        "hostelworld",
        "hotelbeds",
        "housetripcom",
        "hrs",
        "icalimport1",
        "icalimport2",
        "icalimport3",
        "jomres",
        "lastminute",
        "marriott",
        "nzaa",
        "ostrovokru",
        "ota",
        "reserva",
        "rezintelnet",
        "tablethotels",
        "tiket",
        "tomastravel",
        "traum",
        "traumferienwohnungen",
        "traveloka",
        "travia",
        "trip",
        "tripadvisorrentals",
        "trivagocom",
        "vacationstay",
        "visitscotlandcom",
        "vrbo",
        "vrboical",
        "webroomsconz",
    ]
)
LANGUAGES = frozenset(
    [
        "en",
        "ar",
        "bg",
        "ca",
        "cs",
        "da",
        "de",
        "el",
        "es",
        "et",
        "fi",
        "fr",
        "hr",
        "he",
        "hu",
        "id",
        "is",
        "it",
        "ja",
        "ko",
        "lt",
        "mn",
        "my",
        "nl",
        "no",
        "pl",
        "pt",
        "ro",
        "ru",
        "sk",
        "sl",
        "sr",
        "sv",
        "th",
        "tr",
        "vi",
        "zh",
        "zt",
    ]
)
ENUMS: dict[str, frozenset[str]] = {
    "subStatus": frozenset(SUB_STATUSES),
    "channel": CHANNELS,
    "lang": LANGUAGES,
}
# Changes that touch availability: only these fire a webhook under `allowWebhooks`.
AVAILABILITY_FIELDS = frozenset({"status", "arrival", "departure", "roomId", "unitId", "roomQty"})
MAX_LENGTH = {"comments": 1000, "notes": 2000, "apiReference": 100, "message": 1000}
STR_FIELDS = frozenset(
    {
        "title",
        "firstName",
        "lastName",
        "email",
        "phone",
        "mobile",
        "fax",
        "company",
        "address",
        "city",
        "state",
        "postcode",
        "country",
        "country2",
        "comments",
        "notes",
        "message",
        "referer",
        "channel",
        "apiSource",
        "apiReference",
        "subStatus",
        "arrivalTime",
        "lang",
        *(f"custom{i}" for i in range(1, 11)),
        # The rest of the official newBooking's text fields.
        "voucher",
        "groupNote",
        "flagColor",
        "flagText",
        "refererEditable",
        "rateDescription",
        "stripeToken",
        "pcibookingToken",
        "apiMessage",
    }
)
INT_FIELDS = frozenset(
    {"numAdult", "numChild", "roomQty", "unitId", "masterId", "apiSourceId", "invoiceeId"}
)
# May be written as null (the official file marks them nullable).
NULLABLE = frozenset(
    {"masterId", "unitId", "invoiceeId", "groupNote", "country2", "stripeToken", "pcibookingToken"}
)
# "Must be a 6 character hexadecimal color or an empty string."
_HEX_COLOR = frozenset("0123456789abcdefABCDEF")
NUM_FIELDS = frozenset({"price", "deposit", "tax", "commission"})
LIST_FIELDS = frozenset({"infoItems", "invoiceItems"})
# What the official booking schema shows beyond newBooking, with the values a booking
# made through the API starts with; read-only here (a write leaves them as they are).
READ_ONLY_DEFAULTS: dict[str, Any] = {
    "statusCode": 0,
    "offerId": 0,
    "reference": "",
    "allowChannelUpdate": "all",
    "allowAutoAction": "enable",
    "allowReview": "default",
    "allowCancellation": {"type": "propertyDefault", "daysBeforeArrivalValue": None},
}
# Read-only: `bookingGroup` is derived from `masterId` (see booking_groups).
READ_ONLY = frozenset(
    {"bookingTime", "modifiedTime", "cancelTime", "bookingGroup", *READ_ONLY_DEFAULTS}
)
# What a `twoNoPersonalData` webhook leaves out.
PERSONAL_FIELDS = frozenset(
    {
        "title",
        "firstName",
        "lastName",
        "email",
        "phone",
        "mobile",
        "fax",
        "company",
        "address",
        "city",
        "state",
        "postcode",
        "country",
        "country2",
        "comments",
        "notes",
        "message",
    }
)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def fmt_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def stamp(booking: dict[str, Any], frozen: str | None = None) -> None:
    """Bump modifiedTime; strictly later than before, so every version has its own stamp,
    unless `frozen` (config `frozen_modified_time`) gives the stamp of every change."""
    if frozen is not None:
        booking["modifiedTime"] = fmt_time(parse_time(frozen))
        return
    now = utc_now()
    previous = booking.get("modifiedTime")
    if previous and parse_time(previous) >= now:
        now = parse_time(previous) + timedelta(seconds=1)
    booking["modifiedTime"] = fmt_time(now)


def blank_booking() -> dict[str, Any]:
    booking: dict[str, Any] = {
        "id": None,
        "propertyId": None,
        "roomId": None,
        "unitId": None,
        "roomQty": 1,
        "status": "confirmed",
        "arrival": None,
        "departure": None,
        "numAdult": 1,
        "numChild": 0,
        "price": 0,
        "deposit": 0,
        "tax": 0,
        "commission": 0,
        "masterId": None,
        "apiSourceId": 0,
        "bookingTime": None,
        "modifiedTime": None,
        "cancelTime": None,
        "infoItems": [],
        "invoiceItems": [],
    }
    booking.update({name: "" for name in sorted(STR_FIELDS)})
    booking.update(invoiceeId=None, **copy.deepcopy(READ_ONLY_DEFAULTS))
    # Enumerations start at a listed value: API-made bookings are `direct`.
    booking.update(subStatus="none", lang="en", channel="direct")
    return booking


def check_field(key: str, value: Any) -> tuple[Any, str | None]:
    """(normalised value, None) or (None, Beds24-style message)."""
    if value is None and key in NULLABLE:
        return None, None
    if key in STR_FIELDS:
        if not isinstance(value, str):
            return None, "must be a string"
        if key == "flagColor" and value and not (len(value) == 6 and set(value) <= _HEX_COLOR):
            return None, "must be a 6 character hexadecimal color or empty"
        if key in ENUMS and value not in ENUMS[key]:
            return None, "is not one of the values Beds24 lists"
        limit = MAX_LENGTH.get(key, 255)
        return (value, None) if len(value) <= limit else (None, f"longer than {limit}")
    if key in INT_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return None, "must be a whole number >= 0"
        if key == "roomQty" and value < 1:
            return None, "must be at least 1"
        return value, None
    if key in NUM_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None, "must be a number"
        return value, None
    if key in ("arrival", "departure"):
        try:
            return date.fromisoformat(str(value)).isoformat(), None
        except ValueError:
            return None, "must be a date YYYY-MM-DD"
    if key == "status":
        return (value, None) if value in STATUSES else (None, f"must be one of {STATUSES}")
    if key in LIST_FIELDS:
        ok = isinstance(value, list) and all(isinstance(v, dict) for v in value)
        return (value, None) if ok else (None, "must be an array of objects")
    return None, "unknown field"
