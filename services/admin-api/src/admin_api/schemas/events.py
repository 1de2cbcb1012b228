"""Models for listing, inspecting and retrying channel events."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from channel_sync.events import ChannelEvent, Direction, EventStatus
from channel_sync.pms_limits import BIGINT_MAX
from pydantic import BaseModel, ConfigDict, Field

from admin_api.attempts import tries_of
from admin_api.failure_kinds import classify
from admin_api.parsing import QueryBool, QueryDateTime, QueryInt, QueryUUID
from admin_api.queries.events import CURSOR_PATTERN, EventFilter

MAX_PAGE = 500
MAX_BULK = 1000


class EventFilters(BaseModel):
    """The listing's filters; times without a zone are taken as UTC."""

    model_config = ConfigDict(extra="forbid")

    status: EventStatus | None = None
    direction: Direction | None = None
    event_type: str | None = Field(default=None, min_length=1, max_length=100)
    property_id: QueryUUID | None = None
    beds24_booking_id: str | None = Field(
        default=None, pattern=r"^[0-9]{1,19}$", description="the Beds24 booking id (digits)"
    )
    since: QueryDateTime | None = Field(default=None, description="received_at >= since")
    until: QueryDateTime | None = Field(default=None, description="received_at < until")
    entity_type: Literal["booking", "availability"] | None = Field(
        default=None,
        description="booking: bookings only; availability: a Beds24 room's availability, "
        "prices and restrictions",
    )

    def to_filter(self) -> EventFilter:
        return EventFilter(
            status=self.status,
            direction=self.direction,
            event_type=self.event_type,
            property_id=self.property_id,
            since=self.since,
            until=self.until,
            entity_external_id=self.beds24_booking_id,
            entity_type=self.entity_type,
        )


class ListEventsQuery(EventFilters):
    limit: QueryInt = Field(
        default=50, ge=1, le=BIGINT_MAX, description=f"page size, capped at {MAX_PAGE}"
    )
    cursor: str | None = Field(
        default=None,
        pattern=CURSOR_PATTERN,
        description="next_cursor of the previous page: the position after which this page "
        "starts (microseconds since 0001-01-01T00:00:00Z, a dot, an event id in hex)",
    )


class BulkRetryQuery(EventFilters):
    status: Literal[EventStatus.FAILED] | None = Field(
        default=None, description="only failed events are retried in bulk"
    )
    limit: QueryInt = Field(default=MAX_BULK, ge=1, le=MAX_BULK, description="most events per call")


class RetryOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    replay: QueryBool = Field(default=False, description="required to run a `done` event again")


class FailureAdvice(BaseModel):
    """What a failed event's reason means (admin_api.failure_kinds)."""

    retryable: bool = Field(description="a retry, as things are now, may succeed")
    fix_first: bool = Field(description="retry once the fix in `next_step` is made")
    next_step: str


class EventSummary(BaseModel):
    """One line of the listing: the event's own fields plus property and entity ids."""

    id: UUID
    event_type: str
    direction: Direction
    status: EventStatus
    last_error: str | None
    received_at: datetime
    attempts: int
    max_attempts: int
    property_id: UUID
    entity_type: str
    entity_external_id: str | None
    entity_internal_id: UUID | None
    processed_at: datetime | None
    correlation_id: str | None
    outcome_note: str | None
    tries: int = Field(
        description="how often a worker tried it: `attempts` counts only the failed tries "
        "that could be retried; a success or a permanent failure adds the final one"
    )
    tries_said: str = Field(description="e.g. `failed for good on try 1`, `gave up after 3 tries`")
    resolved_at: datetime | None = Field(
        description="a dead letter an operator resolved (it stays failed)"
    )
    resolved_by: str | None
    resolution_note: str | None

    @classmethod
    def of(cls, event: ChannelEvent) -> EventSummary:
        return cls.model_validate(_fields(event, cls))


class EventDetail(EventSummary):
    idempotency_key: str
    payload: dict[str, Any] | list[Any]
    next_attempt_at: datetime | None
    published_at: datetime | None
    updated_at: datetime | None
    failure: FailureAdvice | None = Field(description="for a failed event: what to do next")

    @classmethod
    def of(cls, event: ChannelEvent) -> EventDetail:
        return cls.model_validate(_fields(event, cls))


def _fields(event: ChannelEvent, model: type[BaseModel]) -> dict[str, Any]:
    tries = tries_of(event)
    values = event.model_dump(include=set(model.model_fields))
    values.update(tries=tries.count, tries_said=tries.said)
    for name in ("resolved_at", "resolved_by", "resolution_note"):
        values.setdefault(name, None)
    if "failure" in model.model_fields:
        values["failure"] = advice_of(event)
    return values


def advice_of(event: ChannelEvent) -> FailureAdvice | None:
    if event.status is not EventStatus.FAILED:
        return None
    kind = classify(event.last_error, used_up_attempts=tries_of(event).gave_up)
    return FailureAdvice(
        retryable=kind.retryable, fix_first=kind.fix_first, next_step=kind.next_step
    )


class EventPage(BaseModel):
    events: list[EventSummary]
    total: int = Field(description="every event matching the filters")
    next_cursor: str | None = Field(
        description="pass as `cursor` for the next page; null at the end"
    )


class RetryAnswer(BaseModel):
    event: EventSummary
    replay: bool
    published: bool = Field(description="false: the relay publishes it within seconds")


class BulkRetryAnswer(BaseModel):
    requeued: int
    published: int
    remaining: int = Field(description="failed events still matching (call again for more)")
