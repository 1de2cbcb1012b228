"""The audit trail: every state-changing action, from the API, the console or the command
line, recorded with who, when, what, on which events or property, and its outcome.

Routes declare their action (`Endpoint.action`, the console's `post(..., action=)`), so a
change added later cannot be left out. `audited` runs such a handler: it refuses a viewer
(403, recorded, nothing done), lets the handler add what only it knows (`audit_of`), and
records the outcome, success or the refusal's status, after the handler's own transaction:
an action is never undone because its record could not be written (that is logged).

Never guest data or secrets: ids, counts, a decision's kind and our own refusal texts, which
name ids only. Operators' free-text notes stay with what they annotate, not here.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

import asyncpg
from starlette.requests import Request
from starlette.responses import Response

from admin_api.errors import ApiError, Forbidden, status_of
from admin_api.identity import Actor
from admin_api.queries import audit as audit_sql

logger = logging.getLogger(__name__)

Via = Literal["api", "console", "cli"]
Handler = Callable[[Request], Awaitable[Response]]
# Path parameters that name an event or a property; any other names the action's subject.
_EVENT, _PROPERTY = "event_id", "property_id"
_MAX_REFUSAL_CHARS = 300


@dataclass
class AuditEntry:
    """What an action was about; a handler adds what the path does not say."""

    property_id: UUID | None = None
    event_ids: list[UUID] = field(default_factory=list)
    subject: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_path(cls, params: dict[str, Any]) -> AuditEntry:
        entry = cls()
        for name, value in params.items():
            parsed = _uuid(value)
            if parsed is None:
                continue  # a malformed id: the handler refuses it (400), recorded as such
            if name == _PROPERTY:
                entry.property_id = parsed
            elif name == _EVENT:
                entry.event_ids = [parsed]
            elif entry.subject is None:
                entry.subject = f"{name.removesuffix('_id')} {parsed}"
        return entry


def audit_of(request: Request) -> AuditEntry:
    """The entry of the action this request is; a throwaway one outside `audited`."""
    entry = getattr(request.state, "audit", None)
    return entry if isinstance(entry, AuditEntry) else AuditEntry()


async def audited(
    request: Request, action: str, handler: Handler, *, pool: asyncpg.Pool, via: Via
) -> Response:
    actor: Actor = request.state.actor
    entry = AuditEntry.from_path(dict(request.path_params))
    request.state.audit = entry
    if not actor.can_change:
        refusal = Forbidden(f"{actor.name} is a {actor.role}: a viewer cannot change anything")
        await record(pool, actor, via=via, action=action, entry=entry, status=403, error=refusal)
        raise refusal
    try:
        response = await handler(request)
    except Exception as exc:
        status = status_of(exc)
        await record(pool, actor, via=via, action=action, entry=entry, status=status, error=exc)
        raise
    await record(pool, actor, via=via, action=action, entry=entry, status=response.status_code)
    return response


async def record(
    pool: asyncpg.Pool,
    actor: Actor,
    *,
    via: Via,
    action: str,
    entry: AuditEntry,
    status: int,
    error: BaseException | None = None,
) -> None:
    """One row; a failure to write it is logged, never raised over the action's outcome."""
    detail = dict(entry.detail)
    refused = status >= 400
    if refused:
        # Our own refusals name ids only; anything else (Beds24's words, or a 400's echo of
        # what the client sent, field names included) is left out.
        if isinstance(error, ApiError) and status != 400:
            detail["error"] = error.message[:_MAX_REFUSAL_CHARS]
        else:
            detail["error"] = f"HTTP {status}"
    try:
        async with pool.acquire() as conn:
            await audit_sql.insert(
                conn,
                actor=actor,
                via=via,
                action=action,
                property_id=entry.property_id,
                event_ids=entry.event_ids,
                subject=entry.subject,
                outcome="refused" if refused else "success",
                status=status,
                detail=detail,
            )
    except Exception:
        logger.exception("audit record of %s by %s could not be written", action, actor.name)


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(str(value))
    except ValueError:
        return None
