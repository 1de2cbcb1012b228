"""/admin/properties/{id}/holds: the property's live inventory holds, their age and who
placed them (placing and ending holds is the PMS's: `channel_sync.holds`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin_api.deps import deps
from admin_api.endpoint import Endpoint, answer
from admin_api.errors import NotFound
from admin_api.parsing import parse_query, path_uuid
from admin_api.queries import holds, properties
from admin_api.schemas.holds import HoldList, ListHoldsQuery


async def list_holds(request: Request) -> Response:
    property_id = path_uuid(request, "property_id")
    query = parse_query(request, ListHoldsQuery)
    async with deps(request).pool.acquire() as conn:
        if await properties.get(conn, property_id) is None:
            raise NotFound(f"no property {property_id}")
        found, total = await holds.live(conn, property_id, query.limit)
    return answer(HoldList(holds=found, total=total))


ENDPOINTS = [
    Endpoint(
        "GET",
        "/admin/properties/{property_id}/holds",
        list_holds,
        "The property's live inventory holds (oldest first): what, which nights, since and "
        "until when, for whom and placed by whom",
        query=ListHoldsQuery,
        response=HoldList,
        errors=(400, 404),
    ),
]
