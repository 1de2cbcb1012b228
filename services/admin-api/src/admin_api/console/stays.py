"""Multi-room stays: the newest stays, and one stay with its rooms (where each came from in
Beds24, which one waits for a room) and their events; through the code GET /admin/stays
uses. No guest data is shown."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin_api.console.forms import path_id
from admin_api.console.render import page
from admin_api.deps import deps
from admin_api.errors import NotFound
from admin_api.queries import stays

LISTED = 100


async def list_stays(request: Request) -> Response:
    found = await deps(request).query(stays.listing, None, LISTED)
    return page(request, "stays.html", stays=found)


async def show_stay(request: Request) -> Response:
    stay_id = path_id(request.path_params["stay_id"], "stay")
    found = await deps(request).query(stays.detail, stay_id)
    if found is None:
        raise NotFound(f"There is no stay {stay_id}.")
    return page(request, "stay.html", s=found)
