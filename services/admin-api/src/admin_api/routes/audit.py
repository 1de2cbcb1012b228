"""/admin/audit: who changed what, when, and how it went; newest first."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from admin_api.deps import deps
from admin_api.endpoint import Endpoint, answer
from admin_api.parsing import parse_query
from admin_api.queries import audit
from admin_api.schemas.audit import AuditPage, AuditQuery, AuditRecord


async def list_audit(request: Request) -> Response:
    query = parse_query(request, AuditQuery)
    # A cursor is an id; one past the largest id starts from the newest.
    before = min(int(query.cursor), 2**63 - 1) if query.cursor else None
    records, total = await deps(request).query(
        audit.list_page, query.to_filter(), limit=query.limit + 1, before=before
    )
    page, more = records[: query.limit], len(records) > query.limit
    return answer(
        AuditPage(
            records=[AuditRecord.of(r) for r in page],
            total=total,
            next_cursor=str(page[-1]["id"]) if more else None,
        )
    )


ENDPOINTS = [
    Endpoint(
        "GET",
        "/admin/audit",
        list_audit,
        "The audit trail: every change with who, when, what and its outcome (newest first)",
        query=AuditQuery,
        response=AuditPage,
        errors=(400,),
    ),
]
