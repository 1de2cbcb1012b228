"""The client never logs tokens, refresh tokens or guest personal data."""

from __future__ import annotations

import logging
from datetime import date, timedelta

import pytest
from beds24_sandbox.handle import SandboxHandle
from channel_sync.beds24 import Beds24Client, Beds24Unavailable


async def test_no_secret_or_guest_data_in_logs(
    beds24_sandbox: SandboxHandle, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    prop = await beds24_sandbox.seed()
    arrival = date.today() + timedelta(days=5)
    guest = {
        "firstName": "Zebulon",
        "lastName": "Quarrington",
        "email": "zq@example.invalid",
        "phone": "+4915550123",
    }
    item = {
        "roomId": prop.room_ids[0],
        "arrival": arrival.isoformat(),
        "departure": (arrival + timedelta(days=1)).isoformat(),
        **guest,
    }
    setup = await Beds24Client.setup_from_invite(beds24_sandbox.url, prop.account.invite_code)
    async with Beds24Client(beds24_sandbox.url, setup.refresh_token) as client:
        await client.write_bookings([item])
        found = await client.get_bookings(statuses="all")
        await beds24_sandbox.expire_tokens(prop.account.account_id)
        await beds24_sandbox.inject_fault("lost_response", method="POST", path="/bookings")
        with pytest.raises(Beds24Unavailable):
            await client.write_bookings([item])
    assert found[0]["lastName"] == "Quarrington"
    assert caplog.records, "the client does log its calls"
    text = "\n".join(r.getMessage() for r in caplog.records)
    secrets = [setup.token, setup.refresh_token, *guest.values()]
    assert not [s for s in secrets if s in text]
