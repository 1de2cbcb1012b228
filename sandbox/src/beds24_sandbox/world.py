"""The sandbox as one object: state, faults and the webhook sender, shared by both APIs."""

from __future__ import annotations

from dataclasses import dataclass, field

from beds24_sandbox.faults import FaultBook
from beds24_sandbox.state import SandboxState
from beds24_sandbox.webhooks import WebhookSender


@dataclass
class Sandbox:
    state: SandboxState = field(default_factory=SandboxState)
    faults: FaultBook = field(default_factory=FaultBook)
    sender: WebhookSender = field(init=False)

    def __post_init__(self) -> None:
        self.sender = WebhookSender(self.state)

    async def reset(self) -> None:
        await self.sender.cancel_all()
        self.sender.clear_log()
        self.faults.clear()
        self.state.clear()
