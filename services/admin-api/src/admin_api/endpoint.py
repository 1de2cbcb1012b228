"""One declaration per route: the handler plus what /openapi.json says about it.

Routes are built from these declarations, so the OpenAPI document cannot forget a route.
Endpoints sharing a path become ONE starlette route, so that a method the path does not
serve gets 405 with an `Allow` header naming every method it does serve.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from channel_sync.http_errors import unexpected
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from admin_api.errors import ANSWERED

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_optional: bool = False
    response: type[BaseModel] | None = None
    status: int = 200
    errors: tuple[int, ...] = field(default=())


def routes(endpoints: list[Endpoint]) -> list[Route]:
    by_path: dict[str, dict[str, Handler]] = {}
    for endpoint in endpoints:
        by_path.setdefault(endpoint.path, {})[endpoint.method] = endpoint.handler
    return [
        Route(path, _dispatch(handlers), methods=list(handlers))
        for path, handlers in by_path.items()
    ]


def _dispatch(handlers: dict[str, Handler]) -> Handler:
    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        try:
            return await handlers[method](request)
        except ANSWERED:
            raise  # the app's exception handlers answer these
        except Exception as exc:
            return unexpected(request, exc)  # logged once here, never re-raised

    return endpoint


def answer(model: BaseModel | list[BaseModel], status: int = 200) -> Response:
    if isinstance(model, list):
        return JSONResponse([m.model_dump(mode="json") for m in model], status_code=status)
    return JSONResponse(model.model_dump(mode="json"), status_code=status)
