"""Answers shaped like Beds24's, and the dropped connection of a lost response."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"success": False, "type": "error", "code": status, "error": message}
    return JSONResponse(body, status_code=status, headers=headers)


def listing(kind: str, data: list[Any], pages: dict[str, Any]) -> dict[str, Any]:
    return {"success": True, "type": kind, "count": len(data), "pages": pages, "data": data}


class DroppedResponse(Response):
    """Start an answer, send part of it, and stop: the client sees the connection close
    mid-body (uvicorn closes it when the app returns without completing the response)."""

    def __init__(self) -> None:
        super().__init__(status_code=201)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")],
            }
        )
        await send({"type": "http.response.body", "body": b'[{"success"', "more_body": True})
