"""pytest fixtures for the Beds24 sandbox (registered by the root conftest).

- `beds24_sandbox_server` (session): a real uvicorn server on a free 127.0.0.1 port, in a
  background thread.
- `beds24_sandbox` (function): a `SandboxHandle` on that server, state reset before and
  after the test (pending webhook deliveries cancelled).
- `beds24_webhook_receiver` (function): a `WebhookReceiver` (a real HTTP server recording
  what it receives) to point a property's webhook at; emptied before and after the test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from beds24_sandbox.handle import SandboxHandle, shared_ssl_context
from beds24_sandbox.receiver import WebhookReceiver
from beds24_sandbox.server import SandboxServer


@pytest.fixture(scope="session")
def beds24_sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
async def beds24_sandbox(beds24_sandbox_server: SandboxServer) -> AsyncIterator[SandboxHandle]:
    async with httpx.AsyncClient(timeout=10, verify=shared_ssl_context()) as http:
        handle = SandboxHandle(beds24_sandbox_server.base, http)
        await handle.reset()
        yield handle
        await handle.reset()


@pytest.fixture(scope="session")
def beds24_webhook_receiver_server() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def beds24_webhook_receiver(
    beds24_webhook_receiver_server: WebhookReceiver,
) -> Iterator[WebhookReceiver]:
    beds24_webhook_receiver_server.clear()
    yield beds24_webhook_receiver_server
    beds24_webhook_receiver_server.clear()
