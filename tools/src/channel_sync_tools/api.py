"""The admin API (with the stack's token) and the Beds24 sandbox of a running stack, over
one HTTP client. The sandbox side is the sandbox's own typed handle (its control API, and
its Beds24 API V2 for a `Beds24Client`)."""

from __future__ import annotations

from typing import Any

import httpx
from beds24_sandbox.handle import SandboxHandle
from channel_sync.beds24 import Beds24Client

from channel_sync_tools.stack import Ports, StackFailed


class StackApi:
    def __init__(self, http: httpx.AsyncClient, ports: Ports, admin_token: str) -> None:
        self.http = http
        self.ports = ports
        self.admin_headers = {"Authorization": f"Bearer {admin_token}"}
        self.sandbox = SandboxHandle(ports.sandbox_url, http)

    async def admin(self, method: str, path: str, **kwargs: Any) -> Any:
        """The answer's JSON (None when empty); StackFailed on an answer of 400 or more."""
        response = await self.http.request(
            method, f"{self.ports.admin_url}{path}", headers=self.admin_headers, **kwargs
        )
        if response.status_code >= 400:
            raise StackFailed(f"{method} {path} answered {response.status_code}: {response.text}")
        return response.json() if response.content else None

    def beds24(self, refresh_token: str) -> Beds24Client:
        """A Beds24 client of the account owning `refresh_token` (its calls cost credits)."""
        return Beds24Client(self.sandbox.url, refresh_token)

    async def account_calls(self, account_id: int) -> list[dict[str, Any]]:
        """The Beds24 API calls the sandbox logged for one account, oldest first."""
        return [c for c in await self.sandbox.calls() if c.get("account_id") == account_id]


def credits_spent(calls: list[dict[str, Any]]) -> float:
    return sum(float(c.get("cost") or 0) for c in calls)
