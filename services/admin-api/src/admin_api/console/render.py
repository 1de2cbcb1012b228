"""Server-rendered pages: one Jinja2 environment (autoescaping on) and the headers every
console answer carries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

TEMPLATES = Path(__file__).parent / "templates"

# Pages are private and never framed; scripts come from our own origin only.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def _when(value: datetime | None) -> str:
    if value is None:
        return "never"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _ago(value: datetime | None) -> str:
    if value is None:
        return "never"
    seconds = int((datetime.now(UTC) - value).total_seconds())
    if seconds < 0:
        return f"in {_span(-seconds)}"
    return f"{_span(seconds)} ago"


def _lag(waiting_since: datetime | None) -> str:
    """How long the oldest waiting event has waited; nothing waiting is no lag."""
    if waiting_since is None:
        return "none"
    return _span(max(int((datetime.now(UTC) - waiting_since).total_seconds()), 0))


def _seconds(seconds: float) -> str:
    """A duration in seconds (e.g. a hold's age), in the unit that reads best."""
    return _span(max(int(seconds), 0))


def _span(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


# What each event type means, in an operator's words (the type itself stays beside it).
EVENT_LABELS = {
    "beds24.booking.created": "Booking made in Beds24",
    "beds24.booking.modified": "Booking changed in Beds24",
    "beds24.booking.cancelled": "Booking cancelled in Beds24",
    "pms.booking.create": "Reservation made in the PMS",
    "pms.booking.update": "Reservation changed in the PMS",
    "pms.booking.cancel": "Reservation cancelled in the PMS",
    "pms.availability.update": "Availability changed in the PMS",
    "pms.rates.update": "Prices changed in the PMS",
    "pms.restrictions.update": "Restrictions changed in the PMS",
}


def _event_label(event_type: str) -> str:
    return EVENT_LABELS.get(event_type, event_type)


_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
_env.filters["when"] = _when
_env.filters["ago"] = _ago
_env.filters["lag"] = _lag
_env.filters["seconds"] = _seconds
_env.filters["event_label"] = _event_label


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    session = getattr(request.state, "console_session", None)
    html = _env.get_template(template).render(
        request=request,
        csrf=getattr(request.state, "csrf", None) or "",
        logged_in=session is not None,
        actor=session.actor if session else None,
        can_change=bool(session and session.actor.can_change),
        **context,
    )
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def redirect(url: str) -> Response:
    """303: after a form POST the browser GETs the result, so a reload never re-posts."""
    return RedirectResponse(url, status_code=303, headers=SECURITY_HEADERS)
