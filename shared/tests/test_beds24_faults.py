"""The client survives each fault the sandbox injects, and a create whose answer was lost is
found again by its reference instead of being created twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from channel_sync.beds24 import Beds24Client, Beds24Unavailable
from channel_sync.errors import TransientError

ARRIVAL = date.today() + timedelta(days=40)


def _create(room_id: int, reference: str) -> dict[str, object]:
    return {
        "roomId": room_id,
        "arrival": ARRIVAL.isoformat(),
        "departure": (ARRIVAL + timedelta(days=2)).isoformat(),
        "apiReference": reference,
    }


@pytest.fixture
async def prop(beds24_sandbox: SandboxHandle) -> SandboxProperty:
    return await beds24_sandbox.seed()


@pytest.fixture
async def client(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty
) -> AsyncIterator[Beds24Client]:
    async with Beds24Client(
        beds24_sandbox.url, prop.account.refresh_token, timeout_s=0.5
    ) as client:
        await client.get_properties()  # token in hand: faults hit the calls under test
        yield client


async def create_once(client: Beds24Client, item: dict[str, object], reference: str) -> int:
    """What the outbound worker does: on an unknown outcome, search before creating again."""
    try:
        result = (await client.write_bookings([item]))[0]
    except Beds24Unavailable:
        found = await client.find_bookings_by_reference(reference)
        if found:
            return int(found[0]["id"])
        result = (await client.write_bookings([item]))[0]
    result.raise_for_error()
    assert result.id is not None
    return result.id


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_transient_and_the_client_carries_on(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty, client: Beds24Client, status: int
) -> None:
    await beds24_sandbox.inject_fault("http_500", path="/bookings", status=status)
    with pytest.raises(Beds24Unavailable) as caught:
        await client.get_bookings()
    assert isinstance(caught.value, TransientError) and caught.value.status_code == status
    assert await client.get_bookings() == []


async def test_timeout_is_transient(beds24_sandbox: SandboxHandle, client: Beds24Client) -> None:
    await beds24_sandbox.inject_fault("timeout", path="/properties", delay_s=2)
    with pytest.raises(Beds24Unavailable, match="in time"):
        await client.get_properties()
    assert len(await client.get_properties()) == 1


async def test_token_endpoint_failure_is_transient(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty, client: Beds24Client
) -> None:
    await beds24_sandbox.expire_tokens(prop.account.account_id)
    await beds24_sandbox.inject_fault("http_500", path="/authentication/token")
    with pytest.raises(Beds24Unavailable):
        await client.get_properties()
    assert len(await client.get_properties()) == 1


@pytest.mark.parametrize(
    "fault", [{"kind": "lost_response"}, {"kind": "timeout", "apply": True, "delay_s": 2}]
)
async def test_create_with_lost_answer_is_found_not_repeated(
    beds24_sandbox: SandboxHandle,
    prop: SandboxProperty,
    client: Beds24Client,
    fault: dict[str, object],
) -> None:
    await beds24_sandbox.inject_fault(method="POST", path="/bookings", **fault)  # type: ignore[arg-type]
    booking_id = await create_once(client, _create(prop.room_ids[0], "PMS-LOST"), "PMS-LOST")
    stored = await beds24_sandbox.bookings()
    assert [b["id"] for b in stored] == [booking_id]
    assert len(await beds24_sandbox.calls(method="POST", path="/bookings")) == 1


async def test_create_that_never_happened_is_made_after_the_search(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty, client: Beds24Client
) -> None:
    await beds24_sandbox.inject_fault("http_500", method="POST", path="/bookings")
    booking_id = await create_once(client, _create(prop.room_ids[0], "PMS-NEW"), "PMS-NEW")
    assert [b["id"] for b in await beds24_sandbox.bookings()] == [booking_id]
    assert len(await beds24_sandbox.calls(method="POST", path="/bookings")) == 2
