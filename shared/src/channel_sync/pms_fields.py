"""The PMS reservation's fields as the sync sees them: the one place that names them.

Each field says which `reservations` column it is, which Beds24 booking field it travels as,
what kind of value it holds (and how long a text may be), which way it is synced, and
whether it is a guest's personal data. Everything else follows this table:

- the inbound worker reads a Beds24 booking into these columns (`inbound_worker.booking`)
  and writes no other column (`inbound_worker.reservations`);
- the outbound worker loads these columns (`outbound_worker.pms_state`) and writes them as
  Beds24 fields (`outbound_worker.items`);
- the capture trigger (`sql/capture_reservation.sql`) sends a booking to Beds24 when one of
  the OUTBOUND columns changes (a test holds the trigger to `OUTBOUND_COLUMNS`);
- log redaction and the console's masking hide every PERSONAL key.

Adding a guest field: add its row here, its column in a migration, and a migration that
installs the capture trigger again (`capture_reservation_sql()`) once its watch list names it,
and names the SQL file's new digest (see sql/capture_reservation.sql).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from importlib import resources


class Kind(Enum):
    DATE = "date"
    STATUS = "status"
    PLACEMENT = "placement"  # the property and room: resolved through the property link
    TEXT = "text"  # None and "" both mean "no value"
    COUNTRY = "country"  # text; read from `country2` (the ISO code) before `country`
    COUNT = "count"  # a whole number >= 0 (INTEGER)
    MONEY = "money"  # NUMERIC(12, 2)
    ID = "id"  # Beds24's own ids and times, kept as bookkeeping
    GROUP = "group"  # the stay: sent as its Beds24 group's master (`masterId`), written apart


class Direction(Enum):
    BOTH = "both"  # PMS -> Beds24 and Beds24 -> PMS
    INBOUND = "inbound"  # Beds24 -> PMS only (Beds24's data, never sent back)


@dataclass(frozen=True)
class Field:
    column: str  # reservations column
    beds24: str  # Beds24 booking field
    kind: Kind
    direction: Direction = Direction.BOTH
    personal: bool = False  # a guest's personal data: never logged, masked in the console
    limit: int | None = None  # most characters a text column holds, where it is bounded

    @property
    def outbound(self) -> bool:
        return self.direction is Direction.BOTH

    @property
    def guest(self) -> bool:
        return self.column.startswith("guest_")


FIELDS: tuple[Field, ...] = (
    Field("arrival", "arrival", Kind.DATE),
    Field("departure", "departure", Kind.DATE),
    Field("room_id", "roomId", Kind.PLACEMENT),
    Field("status", "status", Kind.STATUS),
    Field("property_id", "propertyId", Kind.PLACEMENT),
    Field("guest_title", "title", Kind.TEXT, personal=True),
    Field("guest_first_name", "firstName", Kind.TEXT, personal=True),
    Field("guest_last_name", "lastName", Kind.TEXT, personal=True),
    Field("guest_email", "email", Kind.TEXT, personal=True),
    Field("guest_phone", "phone", Kind.TEXT, personal=True),
    Field("guest_mobile", "mobile", Kind.TEXT, personal=True),
    Field("guest_address", "address", Kind.TEXT, personal=True),
    Field("guest_city", "city", Kind.TEXT, personal=True),
    Field("guest_postcode", "postcode", Kind.TEXT, personal=True),
    Field("guest_country", "country", Kind.COUNTRY, personal=True),
    Field("adults", "numAdult", Kind.COUNT),
    Field("children", "numChild", Kind.COUNT),
    Field("price", "price", Kind.MONEY),
    Field("deposit", "deposit", Kind.MONEY),
    Field("comments", "comments", Kind.TEXT, personal=True),
    Field("notes", "notes", Kind.TEXT, personal=True),
    Field("stay_id", "masterId", Kind.GROUP),
    Field("channel", "channel", Kind.TEXT, Direction.INBOUND, limit=50),
    Field("channel_reference", "apiReference", Kind.TEXT, Direction.INBOUND, limit=100),
    Field("beds24_booking_id", "id", Kind.ID, Direction.INBOUND),
    Field("beds24_modified_time", "modifiedTime", Kind.ID, Direction.INBOUND),
    Field("beds24_room_id", "roomId", Kind.ID, Direction.INBOUND),
)


def _of(kind: Kind) -> tuple[Field, ...]:
    return tuple(f for f in FIELDS if f.kind is kind)


TEXT_FIELDS = _of(Kind.TEXT)
COUNT_FIELDS = _of(Kind.COUNT)
MONEY_FIELDS = _of(Kind.MONEY)
COUNTRY_FIELD = _of(Kind.COUNTRY)[0]
GUEST_FIELDS = tuple(f for f in FIELDS if f.guest)

# A change of one of these columns is a change Beds24 must be sent (the trigger's watch list).
OUTBOUND_COLUMNS: tuple[str, ...] = tuple(f.column for f in FIELDS if f.outbound)
# The columns the inbound worker writes from a booking (placement and stays written apart).
INBOUND_COLUMNS = frozenset(f.column for f in FIELDS if f.kind not in (Kind.PLACEMENT, Kind.GROUP))
# Every name personal data goes by, as a column and as a Beds24 field.
PERSONAL_KEYS = frozenset(name for f in FIELDS if f.personal for name in (f.column, f.beds24)) | {
    "country2"
}


def capture_reservation_sql() -> str:
    """The capture trigger's function (`CREATE OR REPLACE`), as migrations install it."""
    return (
        resources.files("channel_sync")
        .joinpath("sql/capture_reservation.sql")
        .read_text(encoding="utf-8")
    )
