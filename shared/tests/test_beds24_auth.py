"""Token life cycle against the sandbox over HTTP: invite setup, cached token, one refresh
on 401 shared by concurrent callers, refused credentials."""

from __future__ import annotations

import asyncio

import pytest
from beds24_sandbox.handle import SandboxHandle, SandboxProperty
from channel_sync.beds24 import Beds24AuthError, Beds24Client


@pytest.fixture
async def prop(beds24_sandbox: SandboxHandle) -> SandboxProperty:
    return await beds24_sandbox.seed()


async def _token_calls(sandbox: SandboxHandle) -> int:
    return len(await sandbox.calls(method="GET", path="/authentication/token"))


async def test_setup_from_invite_gives_a_working_refresh_token(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty
) -> None:
    setup = await Beds24Client.setup_from_invite(
        beds24_sandbox.url, prop.account.invite_code, "tests"
    )
    assert setup.refresh_token == prop.account.refresh_token
    assert setup.expires_in == 86_400 and setup.token
    assert setup.token not in repr(setup) and setup.refresh_token not in repr(setup)
    async with Beds24Client(
        beds24_sandbox.url,
        setup.refresh_token,
        token=setup.token,
        token_expires_in=setup.expires_in,
    ) as client:
        assert [p["id"] for p in await client.get_properties()] == [prop.id]
    assert await _token_calls(beds24_sandbox) == 0, "the setup token was reused"


async def test_an_invite_code_works_once(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty
) -> None:
    await Beds24Client.setup_from_invite(beds24_sandbox.url, prop.account.invite_code)
    with pytest.raises(Beds24AuthError, match="invite code"):
        await Beds24Client.setup_from_invite(beds24_sandbox.url, prop.account.invite_code)
    with pytest.raises(Beds24AuthError):
        await Beds24Client.setup_from_invite(beds24_sandbox.url, "not-a-code")


async def test_token_is_fetched_once_and_cached(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty
) -> None:
    async with Beds24Client(beds24_sandbox.url, prop.account.refresh_token) as client:
        for _ in range(3):
            await client.get_bookings(property_ids=[prop.id])
    assert await _token_calls(beds24_sandbox) == 1


async def test_expired_token_is_refreshed_once_and_the_call_retried(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty
) -> None:
    async with Beds24Client(beds24_sandbox.url, prop.account.refresh_token) as client:
        await client.get_properties()
        await beds24_sandbox.expire_tokens(prop.account.account_id)
        assert [p["id"] for p in await client.get_properties()] == [prop.id]
    calls = await beds24_sandbox.calls(path="/properties")
    assert [c["status"] for c in calls] == [200, 401, 200]
    assert await _token_calls(beds24_sandbox) == 2


async def test_concurrent_callers_share_one_refresh(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty
) -> None:
    async with Beds24Client(beds24_sandbox.url, prop.account.refresh_token) as client:
        await asyncio.gather(*(client.get_properties() for _ in range(8)))
        assert await _token_calls(beds24_sandbox) == 1
        await beds24_sandbox.expire_tokens(prop.account.account_id)
        results = await asyncio.gather(*(client.get_properties() for _ in range(8)))
    assert all(r[0]["id"] == prop.id for r in results)
    assert await _token_calls(beds24_sandbox) == 2


async def test_refresh_token_refused_is_an_auth_error(beds24_sandbox: SandboxHandle) -> None:
    async with Beds24Client(beds24_sandbox.url, "revoked-or-wrong") as client:
        with pytest.raises(Beds24AuthError, match="refresh token") as caught:
            await client.get_bookings()
    assert caught.value.status_code == 400


async def test_short_lived_tokens_are_refreshed_before_expiry(
    beds24_sandbox: SandboxHandle,
) -> None:
    prop = await beds24_sandbox.seed(token_ttl_s=1)
    async with Beds24Client(beds24_sandbox.url, prop.account.refresh_token) as client:
        await client.get_properties()
        await asyncio.sleep(1.0)  # sleep-ok: let a one-second token run out
        await client.get_properties()
    statuses = [c["status"] for c in await beds24_sandbox.calls(path="/properties")]
    assert statuses == [200, 200], "refreshed ahead of expiry, not after a 401"
    assert await _token_calls(beds24_sandbox) == 2


async def test_details_reports_a_valid_token(
    beds24_sandbox: SandboxHandle, prop: SandboxProperty
) -> None:
    async with Beds24Client(beds24_sandbox.url, prop.account.refresh_token) as client:
        details = await client.get_details()
    assert details["validToken"] is True
