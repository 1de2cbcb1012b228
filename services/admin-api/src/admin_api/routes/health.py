"""/admin/health and /admin/properties/{id}/health: each property's health, lag each way
included (the console's property page shows the same figures)."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import Response

from admin_api.deps import deps
from admin_api.endpoint import Endpoint, answer
from admin_api.errors import NotFound
from admin_api.parsing import parse_query, path_uuid
from admin_api.queries import health
from admin_api.schemas.health import HealthList, Lag, ListHealthQuery, PropertyHealth


def _lag(waiting_since: datetime | None, now: datetime) -> Lag:
    age = 0.0 if waiting_since is None else max(0.0, (now - waiting_since).total_seconds())
    return Lag(waiting_since=waiting_since, seconds=round(age, 3))


def _view(found: health.PropertyHealth, now: datetime) -> PropertyHealth:
    return PropertyHealth(
        property_id=found.property_id,
        name=found.name,
        beds24_property_id=found.beds24_property_id,
        account_id=found.account_id,
        poll_enabled=found.poll_enabled,
        last_polled_at=found.last_polled_at,
        last_webhook_at=found.last_webhook_at,
        credits_left=found.credits_left,
        credits_reset_at=found.credits_reset_at,
        waiting=found.waiting,
        failed=found.failed,
        inbound_lag=_lag(found.inbound_waiting_since, now),
        outbound_lag=_lag(found.outbound_waiting_since, now),
    )


async def list_health(request: Request) -> Response:
    query = parse_query(request, ListHealthQuery)
    found = await deps(request).query(health.list_health, limit=query.limit)
    now = datetime.now(UTC)
    return answer(HealthList(properties=[_view(h, now) for h in found]))


async def property_health(request: Request) -> Response:
    property_id = path_uuid(request, "property_id")
    found = await deps(request).query(health.health_of, property_id)
    if found is None:
        raise NotFound(f"no property {property_id}")
    return answer(_view(found, datetime.now(UTC)))


ENDPOINTS = [
    Endpoint(
        "GET",
        "/admin/health",
        list_health,
        "Every property's health: last webhook and poll, credits, events waiting, dead "
        "letters, and lag each way",
        query=ListHealthQuery,
        response=HealthList,
        errors=(400,),
    ),
    Endpoint(
        "GET",
        "/admin/properties/{property_id}/health",
        property_health,
        "One property's health: last webhook and poll, credits, events waiting, dead "
        "letters, and lag each way",
        response=PropertyHealth,
        errors=(400, 404),
    ),
]
