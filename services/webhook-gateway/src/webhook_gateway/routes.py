"""The webhook routes. Each request, in this order: known property (404) → its secret
(401) → body size (413) → parse and validate (400) → store with the next group commit (503
while Postgres is out of reach) → answer 200; the group's events are published after.
Nothing is stored for any refusal.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from channel_sync.http_errors import database_unavailable
from channel_sync.outages import DATABASE_UNAVAILABLE
from prometheus_client import Counter
from pydantic_core import to_json
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from webhook_gateway import intake
from webhook_gateway.auth import secret_matches
from webhook_gateway.errors import ClientGone, Refused, refusal, unexpected
from webhook_gateway.group_commit import GroupCommitter
from webhook_gateway.intake import Item
from webhook_gateway.properties import WebhookTarget
from webhook_gateway.schemas import Malformed, parse_v1, parse_v2
from webhook_gateway.targets import TargetCache

logger = logging.getLogger(__name__)

REQUESTS = Counter(
    "webhook_gateway_requests_total",
    "Webhook requests by version and HTTP status",
    ["version", "status"],
)
EVENTS = Counter(
    "webhook_gateway_events_total",
    "Booking notices by outcome (stored, duplicate)",
    ["outcome"],
)

_STORED, _DUPLICATE = EVENTS.labels("stored"), EVENTS.labels("duplicate")


@functools.cache
def _requests(version: str, status: str) -> Counter:
    """The labelled counter, looked up once per version and status, not per request."""
    return REQUESTS.labels(version, status)


_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")
_ID_PREFIX = uuid.uuid4().hex[:16]
_ids = itertools.count()


@dataclass(frozen=True)
class Gateway:
    """What the routes need, built once by the app's lifespan."""

    pool: asyncpg.Pool
    committer: GroupCommitter
    targets: TargetCache
    max_body_bytes: int
    db_timeout_s: float


WEBHOOK_PATH = re.compile(r"/webhooks/beds24/(?P<property_id>[^/]+)")


class WebhooksFirst:
    """The ASGI app: the webhook path goes straight to its handler, everything else (health,
    metrics, 404s) through the Starlette app. The handler answers every outcome itself
    (refusals, 503, 500, with the same answers as the app's exception handlers), and at
    thousands of webhooks a second Starlette's router and middleware would cost about a
    tenth of the gateway's CPU."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._webhooks = _WebhookPath()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (match := WEBHOOK_PATH.fullmatch(scope["path"])):
            scope["path_params"] = match.groupdict()
            await self._webhooks(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class _WebhookPath:
    """Both versions on one path, as a plain ASGI app so that every method reaches it:
    any but these two gets 405 with an `Allow` header naming exactly them (a HEAD probe
    too: it must store nothing)."""

    def __init__(self) -> None:
        self._by_method = {
            "POST": _counted("v2", receive_v2),
            "GET": _counted("v1", receive_v1_ping),
        }
        self._allow = ", ".join(sorted(self._by_method))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        handler = self._by_method.get(request.method)
        response: Response
        if handler is None:
            response = refusal(405, "method not allowed", {"Allow": self._allow})
        else:
            response = await handler(request)
        await response(scope, receive, send)


async def receive_v2(request: Request, gw: Gateway) -> Response:
    target = await _authenticated_target(request, gw)
    body = await _read_body(request, gw.max_body_bytes)
    try:
        webhooks = parse_v2(body)
    except Malformed as exc:
        raise Refused(400, str(exc)) from exc
    intake_items: list[Item] = []
    for raw, hook in webhooks:
        booking = hook.booking
        if target.beds24_property_id is not None and booking.propertyId not in (
            None,
            target.beds24_property_id,
        ):
            raise Refused(
                400,
                f"booking {booking.id} belongs to Beds24 property "
                f"{booking.propertyId}, not to this property's "
                f"{target.beds24_property_id}",
            )
        intake_items.append(intake.v2_item(target.property_id, raw, booking.id, booking.status))
    return await _accept(request, gw, target, intake_items)


async def receive_v1_ping(request: Request, gw: Gateway) -> Response:
    target = await _authenticated_target(request, gw)
    try:
        ping = parse_v1(dict(request.query_params))
    except Malformed as exc:
        raise Refused(400, str(exc)) from exc
    # A ping names a booking but not its version: every ping is its own event, and the
    # worker's modifiedTime check makes a repeated one harmless.
    item = Item(
        booking_id=ping.bookid,
        status="cancelled" if ping.status == "cancel" else None,
        idempotency_key=f"beds24:{target.property_id}:v1:{ping.bookid}:{uuid.uuid4().hex}",
        payload={"v1": {"bookid": ping.bookid, "status": ping.status}},
    )
    return await _accept(request, gw, target, [item])


async def _accept(
    request: Request, gw: Gateway, target: WebhookTarget, items: list[Item]
) -> Response:
    correlation_id = _correlation_id(request)
    recorded = await gw.committer.record(target.property_id, items, correlation_id)
    stored, duplicates = recorded.stored, recorded.duplicates
    _STORED.inc(len(stored))
    _DUPLICATE.inc(duplicates)
    event_ids = [str(event_id) for event_id in stored]
    if logger.isEnabledFor(logging.INFO):  # its fields are built only when logged
        logger.info(
            "webhook accepted: %d stored, %d duplicate",
            len(stored),
            duplicates,
            extra={
                "property_id": str(target.property_id),
                "correlation_id": correlation_id,
                "event_ids": event_ids,
                "booking_ids": [i.booking_id for i in items],
            },
        )
    answer = {
        "status": "stored" if stored else "duplicate",
        "stored": len(stored),
        "duplicates": duplicates,
        "event_ids": event_ids,
    }
    return Response(to_json(answer), media_type="application/json")


async def _authenticated_target(request: Request, gw: Gateway) -> WebhookTarget:
    try:
        property_id = UUID(request.path_params["property_id"])
    except ValueError as exc:
        raise Refused(404, "unknown property") from exc
    target = await gw.targets.get(property_id)
    if target is None:
        raise Refused(404, "unknown property")
    if not secret_matches(request.headers.get("authorization"), target.secret_digests):
        raise Refused(401, "missing or wrong webhook secret")
    return target


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes `limit` (declared or streamed)."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not (declared.isascii() and declared.isdigit()):
            raise Refused(400, "invalid Content-Length")
        if len(declared) > 18 or int(declared) > limit:
            raise Refused(413, f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise Refused(413, f"body larger than {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise ClientGone() from None
    return b"".join(chunks)


def _correlation_id(request: Request) -> str:
    given = request.headers.get("x-request-id", "")
    if _REQUEST_ID.fullmatch(given):
        return given
    # Unique, not secret: a random per-process half and a counter (32 hex digits, as a
    # UUID's) spare a system call for randomness on every webhook.
    return f"{_ID_PREFIX}{next(_ids):016x}"


def _counted(
    version: str, handler: Callable[[Request, Gateway], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        status = "500"
        try:
            response = await handler(request, request.state.gateway)
            status = str(response.status_code)
            return response
        except Refused as exc:
            status = str(exc.status)
            logger.info(
                "webhook refused (%d): %s", exc.status, exc.reason, extra={"path": request.url.path}
            )
            return refusal(exc.status, exc.reason)
        except ClientGone:
            status = "499"  # nginx's name for it: nothing to answer, nothing went wrong
            logger.info(
                "client closed the connection mid-request", extra={"path": request.url.path}
            )
            return refusal(400, "client closed the connection")
        except DATABASE_UNAVAILABLE as exc:
            status = "503"
            return await database_unavailable(request, exc)
        except Exception as exc:
            # Logged here once (bounded); answered here too, so that nothing re-raises it
            # for the server to log a second time.
            return unexpected(request, exc)
        finally:
            _requests(version, status).inc()

    return endpoint
