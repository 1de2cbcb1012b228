"""Models for property onboarding, webhook secrets, room mappings and the Beds24 room import."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from channel_sync.pms_calendar import PRICE_SLOTS
from channel_sync.pms_limits import BIGINT_MAX
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, model_validator

from admin_api.parsing import QueryBool, QueryInt

# The largest valid mappings body (every item at its longest, even indented by 2) stays
# under the default request body limit (64 KiB), so a valid body is never refused with 413;
# and one item over this is still small enough to be read and refused with 400.
MAX_MAPPINGS = 300

# The rules of the model validators below, as JSON Schema, so that /openapi.json states
# them (and a client or a schema-driven test can tell a valid body from an invalid one).
# "Given" is present and not null; null stands for absent, as in the models.
_EXACTLY_ONE_CREDENTIAL: dict[str, Any] = {
    "oneOf": [
        {"required": ["invite_code"], "properties": {"invite_code": {"type": "string"}}},
        {"required": ["refresh_token"], "properties": {"refresh_token": {"type": "string"}}},
    ]
}
_NAME_FOR_A_NEW_PROPERTY: dict[str, Any] = {
    "anyOf": [
        {"required": ["property_id"], "properties": {"property_id": {"type": "string"}}},
        {"required": ["name"], "properties": {"name": {"type": "string"}}},
    ]
}


# Invite codes and refresh tokens travel to Beds24 in HTTP headers: visible ASCII only.
_HEADER_TEXT = r"^[!-~]+$"


def _header_text(value: Any) -> Any:
    if isinstance(value, str) and not re.fullmatch(_HEADER_TEXT, value):
        raise ValueError("must be visible ASCII characters only (no spaces)")
    return value


Beds24Credential = Annotated[
    SecretStr,
    BeforeValidator(_header_text),
    Field(min_length=1, max_length=2000, json_schema_extra={"pattern": _HEADER_TEXT}),
]


class Credentials(BaseModel):
    """Exactly one of an invite code (exchanged once for a refresh token) or a refresh token."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_EXACTLY_ONE_CREDENTIAL)

    invite_code: Beds24Credential | None = None
    refresh_token: Beds24Credential | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Credentials:
        if (self.invite_code is None) == (self.refresh_token is None):
            raise ValueError("give exactly one of invite_code or refresh_token")
        return self


class RegisterProperty(Credentials):
    """Exactly one of `invite_code` or `refresh_token`; `name` unless `property_id` is given."""

    model_config = ConfigDict(
        json_schema_extra={"allOf": [_EXACTLY_ONE_CREDENTIAL, _NAME_FOR_A_NEW_PROPERTY]}
    )

    property_id: UUID | None = Field(
        default=None, description="an existing hotel_settings id; omit to create the property"
    )
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="required when creating the property",
    )
    timezone: str = Field(default="UTC", min_length=1, max_length=64)
    beds24_property_id: int = Field(gt=0, le=BIGINT_MAX)
    account_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Beds24 account (credit pool) id; default: the property's owner in Beds24",
    )
    poll_enabled: bool = True

    @model_validator(mode="after")
    def _name_for_new(self) -> RegisterProperty:
        if self.property_id is None and self.name is None:
            raise ValueError("name is required when property_id is not given")
        return self


class WebhookSetup(BaseModel):
    """Paste `url` and `custom_header` into Beds24; the secret is shown only this once."""

    url: str
    custom_header: str
    secret_id: UUID


class SecretInfo(BaseModel):
    id: UUID
    created_at: datetime
    revoked_at: datetime | None


class PropertyInfo(BaseModel):
    property_id: UUID
    name: str
    timezone: str
    beds24_property_id: int | None
    account_id: str | None
    poll_enabled: bool | None
    last_polled_at: datetime | None
    active_webhook_secrets: int
    mappings: int


class PropertyList(BaseModel):
    properties: list[PropertyInfo]


class Beds24Room(BaseModel):
    id: int
    name: str | None
    qty: int | None
    units: list[dict[str, Any]]
    mapped_to: list[UUID] = Field(description="PMS rooms/room types mapped to this room")


class Registered(BaseModel):
    property: PropertyInfo
    webhook: WebhookSetup
    beds24_rooms: list[Beds24Room] = Field(description="room types Beds24 reported")


class SecretList(BaseModel):
    secrets: list[SecretInfo]


class NewSecret(BaseModel):
    webhook: WebhookSetup
    secrets: list[SecretInfo]


class RevokeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    force: QueryBool = Field(default=False, description="allow revoking the last active secret")


class Mapping(BaseModel):
    """A PMS room or room type sold as a Beds24 room, or a PMS rate plan whose prices fill a
    Beds24 price slot."""

    model_config = ConfigDict(extra="forbid")

    mapping_type: Literal["room", "room_type", "rate_plan"]
    internal_id: UUID = Field(description="PMS room, room type or rate plan id")
    external_id: str = Field(
        # A Beds24 room id, or the name of a price slot; which one a mapping type takes, and
        # that a slot is one of the 16 Beds24 has, is checked with the data (422).
        pattern=r"^([1-9][0-9]{0,18}|price[0-9]{1,2})$",
        description="'room', 'room_type': the Beds24 room id; 'rate_plan': the Beds24 price "
        f"slot, {PRICE_SLOTS[0]}..{PRICE_SLOTS[-1]} (any other is refused with 422)",
    )
    external_unit_id: str | None = Field(
        default=None, pattern=r"^[0-9]{1,19}$", description="Beds24 unit id ('room' mappings)"
    )


class MappingOut(BaseModel):
    """A stored mapping (it may predate this API's validation, so no patterns here)."""

    mapping_type: str
    internal_id: UUID
    internal_name: str | None
    external_id: str
    external_unit_id: str | None
    is_active: bool | None


class Mappings(BaseModel):
    """Room mappings ('room', 'room_type') are always replaced by those given (none given:
    every room is unmapped). Rate plan mappings ('rate_plan') are replaced only when the
    body holds at least one: a body of room mappings alone leaves the price slots as they
    are."""

    model_config = ConfigDict(extra="forbid")

    mappings: list[Mapping] = Field(max_length=MAX_MAPPINGS)


class MappingList(BaseModel):
    mappings: list[MappingOut]
    next_step: str | None = Field(
        default=None,
        description="once rooms are mapped and no initial sync is done: how to start it",
    )


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: QueryInt = Field(default=100, ge=1, le=1000)
    offset: QueryInt = Field(default=0, ge=0, le=BIGINT_MAX)


class Beds24Rooms(BaseModel):
    beds24_property_id: int
    rooms: list[Beds24Room]
