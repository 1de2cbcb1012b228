"""One declaration per route: the handler plus what /openapi.json says about it.

Routes are built from these declarations, so the OpenAPI document cannot forget a route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

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

    def route(self) -> Route:
        return Route(self.path, self.handler, methods=[self.method])


def answer(model: BaseModel | list[BaseModel], status: int = 200) -> Response:
    if isinstance(model, list):
        return JSONResponse([m.model_dump(mode="json") for m in model], status_code=status)
    return JSONResponse(model.model_dump(mode="json"), status_code=status)
