"""The audit trail as a page: who changed what, when, and how it went, with the API's
filters (GET /admin/audit reads the same query)."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from admin_api.console.forms import filled, validate
from admin_api.console.render import page
from admin_api.deps import deps
from admin_api.errors import BadRequest
from admin_api.queries import audit, properties
from admin_api.schemas.audit import AuditQuery, AuditRecord

PAGE_SIZE = 50


async def list_audit(request: Request) -> Response:
    values = filled(request.query_params)
    filters = {k: v for k, v in values.items() if k not in ("cursor", "limit")}
    d = deps(request)
    async with d.pool.acquire() as conn:
        names = {
            p.property_id: p.name for p in await properties.list_page(conn, limit=1000, offset=0)
        }
        try:
            query = validate(AuditQuery, {**values, "limit": str(PAGE_SIZE)})
        except BadRequest as exc:
            return page(request, "audit.html", 400, filters=filters, error=exc.message, names=names)
        before = min(int(query.cursor), 2**63 - 1) if query.cursor else None
        found, total = await audit.list_page(
            conn, query.to_filter(), limit=PAGE_SIZE + 1, before=before
        )
    records = [AuditRecord.of(r) for r in found[:PAGE_SIZE]]
    next_url = None
    if len(found) > PAGE_SIZE:
        next_url = "/console/audit?" + urlencode({**filters, "cursor": str(records[-1].id)})
    return page(
        request,
        "audit.html",
        records=records,
        total=total,
        filters=filters,
        names=names,
        next_url=next_url,
        first_url="/console/audit?" + urlencode(filters) if query.cursor else None,
    )
