"""One declaration per route: the handler plus what /openapi.json says about it.

Routes are built from these declarations, so the OpenAPI document cannot forget a route.
Endpoints sharing a path become ONE starlette route, so that a method the path does not
serve gets 405 with an `Allow` header naming every method it does serve. A path that names
a segment literally owns it: `/admin/events/{event_id}` does not take `retry`, so that
`GET /admin/events/retry` is that path's 405 (it serves POST), not an event id "retry".
Every route that changes anything names its `action`: it then needs the operator role and
lands in the audit trail (admin_api.audit), whatever its outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from channel_sync.http_errors import unexpected
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from admin_api.audit import audited
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
    # What the audit trail calls this change (e.g. "event.retry"); None only for reads.
    action: str | None = None

    def __post_init__(self) -> None:
        if (self.method == "GET") != (self.action is None):
            raise ValueError(f"{self.method} {self.path}: a change names its action, a read none")


def routes(endpoints: list[Endpoint]) -> list[Route]:
    by_path: dict[str, dict[str, Endpoint]] = {}
    for endpoint in endpoints:
        by_path.setdefault(endpoint.path, {})[endpoint.method] = endpoint
    built = {
        path: _PathRoute(path, _dispatch(handlers), methods=list(handlers))
        for path, handlers in by_path.items()
    }
    for path, route in built.items():
        route.yields_to = [other for p, other in built.items() if _more_specific(p, path)]
    return list(built.values())


class _PathRoute(Route):
    """A route that matches no request path that a more specific route matches (whatever
    the method), so that starlette answers such a request from the specific one (405 when
    it does not serve the method) instead of taking a literal segment for a parameter."""

    def __init__(self, path: str, endpoint: Handler, *, methods: list[str]) -> None:
        super().__init__(path, endpoint, methods=methods)
        self.yields_to: list[Route] = []

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE and any(
            other.matches(scope)[0] is not Match.NONE for other in self.yields_to
        ):
            return Match.NONE, {}
        return match, child_scope


def _more_specific(specific: str, general: str) -> bool:
    """Whether `specific` is `general` with some parameters spelt as literal segments
    (`/admin/events/retry` beside `/admin/events/{event_id}`)."""
    mine, theirs = specific.split("/"), general.split("/")
    return (
        mine != theirs
        and len(mine) == len(theirs)
        and all(
            a == b or (_is_parameter(b) and not _is_parameter(a))
            for a, b in zip(mine, theirs, strict=True)
        )
    )


def _is_parameter(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _dispatch(declared: dict[str, Endpoint]) -> Handler:
    async def endpoint(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        chosen = declared[method]
        try:
            if chosen.action is None:
                return await chosen.handler(request)
            pool = request.state.deps.pool
            return await audited(request, chosen.action, chosen.handler, pool=pool, via="api")
        except ANSWERED:
            raise  # the app's exception handlers answer these
        except Exception as exc:
            return unexpected(request, exc)  # logged once here, never re-raised

    return endpoint


def answer(model: BaseModel | list[BaseModel], status: int = 200) -> Response:
    if isinstance(model, list):
        return JSONResponse([m.model_dump(mode="json") for m in model], status_code=status)
    return JSONResponse(model.model_dump(mode="json"), status_code=status)
