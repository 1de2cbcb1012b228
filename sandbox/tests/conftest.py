"""An authenticated raw HTTP client on the sandbox API, to check its answers' exact shapes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from beds24_sandbox.handle import SandboxHandle, SandboxProperty


@dataclass
class Api:
    http: httpx.AsyncClient
    prop: SandboxProperty
    token: str


async def token_for(sandbox: SandboxHandle, refresh_token: str) -> str:
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{sandbox.url}/authentication/token",
                                headers={"refreshToken": refresh_token})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


@pytest.fixture
async def api(beds24_sandbox: SandboxHandle) -> AsyncIterator[Api]:
    prop = await beds24_sandbox.seed(rooms=[{"name": "Double", "qty": 2},
                                            {"name": "Single", "qty": 1}])
    token = await token_for(beds24_sandbox, prop.account.refresh_token)
    async with httpx.AsyncClient(base_url=beds24_sandbox.url, headers={"token": token},
                                 timeout=10) as http:
        yield Api(http, prop, token)
