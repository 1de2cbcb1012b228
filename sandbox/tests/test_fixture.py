"""The pytest fixture serves a reset sandbox over real HTTP."""

from __future__ import annotations

import httpx
from beds24_sandbox.handle import SandboxHandle


async def test_fixture_serves_a_fresh_sandbox(beds24_sandbox: SandboxHandle) -> None:
    assert await beds24_sandbox.bookings() == []
    prop = await beds24_sandbox.seed(rooms=[{"name": "Twin", "qty": 3}])
    assert prop.rooms[0]["qty"] == 3
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{beds24_sandbox.url}/bookings")
    assert answer.status_code == 401
    assert answer.json()["success"] is False
