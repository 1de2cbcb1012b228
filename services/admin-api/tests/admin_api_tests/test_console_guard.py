"""The console's guard without a browser: every page needs a session (walked from the route
table, so a page added later is covered), sessions expire, guest data is masked, and a
login's `next` stays inside the console."""

from __future__ import annotations

import re
import uuid

import httpx
from admin_api.console.login import safe_next
from admin_api.console.masking import MASK, has_personal, mask
from admin_api.console.session import SessionStore
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from .conftest import TOKEN, Admin

OPEN = {"/login", "/"}


def _console_routes(admin: Admin) -> list[tuple[str, str]]:
    console = next(r for r in admin.app.routes if isinstance(r, Mount) and r.path == "/console")
    found = []
    for route in console.routes:
        if isinstance(route, Route) and route.path not in OPEN:
            found += [
                (m, "/console" + route.path) for m in sorted(route.methods or ()) if m != "HEAD"
            ]
    return found


async def test_every_console_page_needs_a_session(admin: Admin) -> None:
    routes = _console_routes(admin)
    assert len(routes) >= 15  # the table really was read
    async with httpx.AsyncClient(base_url=admin.url) as anonymous:
        for method, path in routes:
            concrete = re.sub(r"{\w+}", lambda _: str(uuid.uuid4()), path)
            response = await anonymous.request(method, concrete, data={"csrf_token": "x"})
            if method == "GET":
                assert response.status_code == 303, path
                assert response.headers["location"].startswith("/console/login?next="), path
            else:
                assert response.status_code == 401, (method, path)
            assert response.headers["x-frame-options"] == "DENY"
        static = await anonymous.get("/console/static/console.css")
        assert static.status_code == 200  # public, and nothing secret in it


def _request(cookie: str | None = None, scheme: str = "http") -> Request:
    headers = [(b"cookie", f"console_session={cookie}".encode())] if cookie else []
    port = 443 if scheme == "https" else 80
    return Request(
        {
            "type": "http",
            "scheme": scheme,
            "server": ("console.example", port),
            "method": "GET",
            "path": "/console",
            "headers": headers,
        }
    )


def test_session_cookies_are_strict_and_secure_over_https() -> None:
    store = SessionStore("fingerprint", idle_s=60, max_age_s=120, signing_key=TOKEN)
    response = Response()
    store.write(_request(scheme="https"), response, "a-token")
    set_cookie = Headers(raw=response.raw_headers)["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie
    assert (
        "secure" in set_cookie.lower()
        and "Max-Age=120" in set_cookie
        and "Path=/console" in set_cookie
    )
    plain = Response()
    store.write(_request(scheme="http"), plain, "a-token")
    assert "; secure" not in Headers(raw=plain.raw_headers)["set-cookie"].lower()


def test_the_login_forms_token_is_signed() -> None:
    store = SessionStore("fingerprint", idle_s=60, max_age_s=120, signing_key=TOKEN)
    response = Response()
    token = store.login_form_token(_request(), response)
    value = Headers(raw=response.raw_headers)["set-cookie"].split(";")[0].split("=", 1)[1]
    assert store.login_form_token_of(_login_request(value)) == token
    assert store.login_form_token_of(_login_request(value[:-2] + "xx")) is None
    other = SessionStore("fingerprint", idle_s=60, max_age_s=120, signing_key="another-token")
    assert other.login_form_token_of(_login_request(value)) is None


def _login_request(cookie: str) -> Request:
    return Request(
        {
            "type": "http",
            "scheme": "http",
            "server": ("console.example", 80),
            "method": "GET",
            "path": "/console/login",
            "headers": [(b"cookie", f"console_login={cookie}".encode())],
        }
    )


def test_guest_personal_data_is_masked_at_any_depth() -> None:
    payload = {
        "booking": {"id": 9, "firstName": "Ada", "Email": "a@x.org", "numAdult": 2},
        "guests": [{"name": "Bob"}],
        "infoItems": [{"code": "NOTE", "guest_comments": "late arrival"}],
        "empty": {"phone": ""},
    }
    masked = mask(payload)
    assert masked["booking"] == {"id": 9, "firstName": MASK, "Email": MASK, "numAdult": 2}
    assert masked["guests"] == MASK
    assert masked["infoItems"][0]["guest_comments"] == MASK
    assert masked["empty"] == {"phone": ""}
    assert has_personal(payload) and not has_personal({"booking": {"id": 9}})


def test_next_after_login_stays_in_the_console() -> None:
    assert safe_next("/console/dead-letters") == "/console/dead-letters"
    for hostile in ("https://evil.example", "//evil.example", "/console//evil.example", None, ""):
        assert safe_next(hostile) == "/console/events"
