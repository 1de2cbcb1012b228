"""A webhook receiver for tests: a real HTTP server that records every request it gets and
answers the statuses it is told to (e.g. 503 twice, then 200)."""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from beds24_sandbox.server import ThreadServer


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    answered: int


class WebhookReceiver:
    """`with WebhookReceiver() as hook:`; point webhooks at `hook.url`, read `hook.received`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: deque[int] = deque()
        self.received: list[Received] = []
        app = Starlette(routes=[Route("/{path:path}", self._record, methods=["GET", "POST"])])
        self._server = ThreadServer(app)

    @property
    def url(self) -> str:
        return f"{self._server.base}/hook"

    def clear(self) -> None:
        """Forget what was received and any statuses still queued."""
        with self._lock:
            self.received = []
            self._answers.clear()

    def answer_next(self, *statuses: int) -> None:
        """The next requests get these statuses, in order; then 200 again."""
        with self._lock:
            self._answers.extend(statuses)

    async def _record(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        with self._lock:
            status = self._answers.popleft() if self._answers else 200
            self.received.append(
                Received(
                    request.method,
                    request.url.path,
                    dict(request.query_params),
                    {k.lower(): v for k, v in request.headers.items()},
                    body,
                    status,
                )
            )
        return JSONResponse({"ok": status < 400}, status_code=status)

    def __enter__(self) -> WebhookReceiver:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
