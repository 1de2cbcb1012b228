"""/admin/stats: what the sync is doing at a glance."""

from __future__ import annotations

from channel_sync.amqp.topology import WORK_QUEUES
from channel_sync.events import Direction, EventStatus
from starlette.requests import Request
from starlette.responses import Response

from admin_api.deps import deps
from admin_api.endpoint import Endpoint, answer
from admin_api.queries import dead_letters
from admin_api.schemas.stats import OldestUnfinished, Stats


async def stats(request: Request) -> Response:
    d = deps(request)
    async with d.pool.acquire() as conn:
        counts = await d.events.count_by_direction_and_status(conn)
        oldest = await d.events.oldest_unfinished(conn)
        unresolved = await dead_letters.count_by_direction(conn)
    by_direction = {
        str(direction): {str(status): counts.get((direction, status), 0) for status in EventStatus}
        for direction in Direction
    }
    unfinished = {
        str(direction): OldestUnfinished(
            received_at=oldest[direction][0], age_s=oldest[direction][1]
        )
        if direction in oldest
        else None
        for direction in Direction
    }
    dlq = {work.dlq: await d.amqp.queue_depth(work.dlq) for work in WORK_QUEUES}
    return answer(
        Stats(
            counts=by_direction,
            oldest_unfinished=unfinished,
            dlq=dlq,
            dead_letters={str(d): unresolved.get(d, 0) for d in Direction},
        )
    )


ENDPOINTS = [
    Endpoint(
        "GET",
        "/admin/stats",
        stats,
        "Counts by direction and status, oldest unfinished event, DLQ depths",
        response=Stats,
    ),
]
