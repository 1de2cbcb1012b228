"""The sandbox as one object: state, faults and the webhook sender, shared by both APIs."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field

from beds24_sandbox.faults import FaultBook
from beds24_sandbox.state import SandboxState
from beds24_sandbox.webhooks import WebhookSender


@dataclass
class Sandbox:
    state: SandboxState = field(default_factory=SandboxState)
    faults: FaultBook = field(default_factory=FaultBook)
    sender: WebhookSender = field(init=False)
    loop: asyncio.AbstractEventLoop | None = None
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.sender = WebhookSender(self.state)

    async def hold(self, seconds: float) -> None:
        """Hold a call (timeout fault) for `seconds`, or until a reset releases it."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._release.wait(), seconds)

    def release_held(self) -> None:
        self._release.set()
        self._release = asyncio.Event()

    async def reset(self) -> None:
        self.release_held()
        await self.sender.cancel_all()
        self.sender.clear_log()
        self.faults.clear()
        self.state.clear()
