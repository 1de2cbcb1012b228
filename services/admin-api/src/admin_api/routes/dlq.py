"""/admin/dlq/sweep: drop dead letters of events that were retried, are done, or that an
operator resolved."""

from __future__ import annotations

from uuid import UUID

from channel_sync.amqp.topology import WORK_QUEUES
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from admin_api.deps import deps
from admin_api.dlq import sweep
from admin_api.endpoint import Endpoint, answer
from admin_api.errors import Unavailable
from admin_api.parsing import QueryInt, parse_query
from admin_api.queries import dead_letters


class SweepQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: QueryInt = Field(default=1000, ge=1, le=10_000, description="most messages per DLQ")


class SweepCount(BaseModel):
    removed: int
    kept: int


class SweepAnswer(BaseModel):
    queues: dict[str, SweepCount]


async def sweep_dlqs(request: Request) -> Response:
    """Messages whose event is still `failed` (or that name no event) are kept."""
    limit = parse_query(request, SweepQuery).limit
    d = deps(request)
    connection = d.amqp.connection
    if connection is None or connection.is_closed:
        raise Unavailable("RabbitMQ is not reachable; try again shortly")

    async def still_failed(ids: list[UUID]) -> set[UUID]:
        async with d.pool.acquire() as conn:
            return await dead_letters.unresolved_among(conn, ids)

    counts = {}
    for work in WORK_QUEUES:
        swept = await sweep(connection, work.dlq, still_failed, limit=limit)
        counts[work.dlq] = SweepCount(removed=swept.removed, kept=swept.kept)
    return answer(SweepAnswer(queues=counts))


ENDPOINTS = [
    Endpoint(
        "POST",
        "/admin/dlq/sweep",
        sweep_dlqs,
        "Drop DLQ messages whose events are no longer failed (retried, done or gone)",
        query=SweepQuery,
        response=SweepAnswer,
        errors=(400, 503),
        action="dlq.sweep",
    ),
]
