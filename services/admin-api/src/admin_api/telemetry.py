"""One log line and one Prometheus count per answer, by route template (not the raw path,
so ids do not explode the label set; query strings are never logged)."""

from __future__ import annotations

import logging
import time

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

ANSWERS = Counter(
    "admin_api_responses_total",
    "admin-api answers by method, route and status",
    ["method", "route", "status"],
)


class RequestMetricsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        status = 500  # what the client gets if nothing is sent
        started = time.monotonic()

        async def record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, record)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            ANSWERS.labels(scope["method"], template, str(status)).inc()
            logger.info(
                "%s %s %d",
                scope["method"],
                template,
                status,
                extra={"duration_ms": round((time.monotonic() - started) * 1000, 1)},
            )
