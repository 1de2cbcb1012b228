"""Every /admin route needs the bearer token; the test walks the app's own route table, so
a route added later is covered without editing this file."""

from __future__ import annotations

import re
import uuid

import httpx
from starlette.routing import Mount, Route

from .conftest import Admin

PUBLIC = {"/healthz", "/readyz", "/metrics", "/openapi.json"}


def _routes(admin: Admin) -> list[tuple[str, str]]:
    found = []
    for route in admin.app.routes:
        if isinstance(route, Mount) and route.path == "/console":
            continue  # HTML pages behind a session, not the token: see test_console_access
        assert isinstance(route, Route), f"unexpected route type {route!r}"
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append((method, route.path))
    return found


def _concrete(path: str) -> str:
    return re.sub(r"{\w+(:\w+)?}", lambda _: str(uuid.uuid4()), path)


async def test_every_admin_route_refuses_missing_and_wrong_tokens(admin: Admin) -> None:
    routes = _routes(admin)
    admin_routes = [(m, p) for m, p in routes if p.startswith("/admin")]
    assert len(admin_routes) >= 15  # the table really was read
    assert {p for _, p in routes if not p.startswith("/admin")} == PUBLIC
    bad_headers: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Bearer " + admin.settings.admin_api_token.get_secret_value()[:-1]},
        {"Authorization": "Basic " + admin.settings.admin_api_token.get_secret_value()},
        {"Authorization": admin.settings.admin_api_token.get_secret_value()},
        {"Authorization": "Bearer"},
    ]
    async with admin.client(token=None) as client:
        for method, path in admin_routes:
            for headers in bad_headers:
                response = await client.request(
                    method, _concrete(path), headers=headers, json={"replay": True}
                )
                assert response.status_code == 401, (method, path, headers)
                assert response.json() == {"error": "missing or invalid admin token"}
                assert response.headers["www-authenticate"] == "Bearer"


async def test_unknown_admin_paths_need_the_token_too(admin: Admin) -> None:
    async with admin.client(token=None) as anonymous:
        assert (await anonymous.get("/admin/nothing-here")).status_code == 401
        assert (await anonymous.get("/admin")).status_code == 401
    async with admin.client() as client:
        response = await client.get("/admin/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}


async def test_the_right_token_passes_and_public_routes_need_none(admin: Admin) -> None:
    async with admin.client() as client:
        assert (await client.get("/admin/stats")).status_code == 200
    async with admin.client(token=None) as anonymous:
        for path in PUBLIC:
            response = await anonymous.get(path)
            assert response.status_code == 200, path
        lowercase = await anonymous.get(
            "/admin/stats",
            headers={
                "Authorization": "bearer " + admin.settings.admin_api_token.get_secret_value()
            },
        )
    assert lowercase.status_code == 200


async def test_wrong_method_is_a_json_405(admin: Admin) -> None:
    async with admin.client() as client:
        response = await client.delete("/admin/events")
    assert response.status_code == 405
    assert response.json() == {"error": "Method Not Allowed"}
    assert isinstance(response, httpx.Response)
