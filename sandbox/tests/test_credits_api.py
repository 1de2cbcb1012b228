"""Credits per account: the documented cost model, the three headers in the live spelling
on every charged answer, refusal past the limit, a window that resets."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import httpx
from beds24_sandbox.handle import ApiSession as Api
from beds24_sandbox.handle import SandboxHandle
from channel_sync_testing.waiting import wait_for

SOON = date.today() + timedelta(days=10)


async def test_headers_and_cost_model(api: Api, beds24_sandbox: SandboxHandle) -> None:
    await beds24_sandbox.configure(page_size=100)
    room = api.prop.room_ids[0]
    items = [
        {
            "roomId": room,
            "arrival": (SOON + timedelta(days=i)).isoformat(),
            "departure": (SOON + timedelta(days=i + 1)).isoformat(),
        }
        for i in range(100)
    ]
    write = await api.http.post("/bookings", json=items)
    assert write.headers["x-request-cost"] == "2"  # 1 + 0.01 per item
    read = await api.http.get("/bookings")
    assert read.json()["count"] == 100
    assert read.headers["x-request-cost"] == "1.5"  # 1 + 0.005 per record
    # token 1 + write 2 + read 1.5
    assert read.headers["x-five-min-limit-remaining"] == "95.5"
    assert 299 <= int(read.headers["x-five-min-limit-resets-in"]) <= 300
    raw_names = [k for k, _ in read.headers.raw]
    assert b"x-five-min-limit-remaining" in raw_names, "lower-case live spelling on the wire"
    details = await api.http.get("/authentication/details")
    assert "x-request-cost" not in details.headers, "details is free"


async def test_openapi_spelling_on_request(api: Api, beds24_sandbox: SandboxHandle) -> None:
    await beds24_sandbox.configure(credit_headers="openapi")
    answer = await api.http.get("/properties")
    assert answer.headers["X-FiveMinCreditLimit-Remaining"] == "97.99"
    assert answer.headers["X-FiveMinCreditLimit"] == "100", "the four names the file gives"
    assert answer.headers["X-RequestCost"] == "1.01"
    assert 299 <= int(answer.headers["X-FiveMinCreditLimit-ResetsIn"]) <= 300
    assert "x-five-min-limit-remaining" not in answer.headers
    await beds24_sandbox.configure(credit_headers="both")
    both = await api.http.get("/properties")
    assert (
        both.headers["x-five-min-limit-remaining"] == both.headers["X-FiveMinCreditLimit-Remaining"]
    )
    await beds24_sandbox.configure(credit_headers="none")
    assert "X-FiveMinCreditLimit" not in (await api.http.get("/properties")).headers


async def test_refusal_past_the_limit_is_free_and_shared_by_tokens(
    beds24_sandbox: SandboxHandle,
) -> None:
    prop = await beds24_sandbox.seed(credit_limit=4.5)
    tokens = [await beds24_sandbox.token(prop.account.refresh_token) for _ in range(2)]
    other = await beds24_sandbox.seed(credit_limit=4.5)
    async with httpx.AsyncClient(base_url=beds24_sandbox.url) as http:
        first = await http.get("/properties", headers={"token": tokens[0]})
        second = await http.get("/properties", headers={"token": tokens[1]})
        assert (first.status_code, second.status_code) == (200, 200)
        refused = await http.get("/properties", headers={"token": tokens[0]})
        assert refused.status_code == 429
        assert refused.json() == {
            "success": False,
            "type": "error",
            "code": 429,
            "error": "Credit limit exceeded (five minute limit)",
        }
        assert refused.headers["x-request-cost"] == "0"
        assert refused.headers["x-five-min-limit-remaining"] == "0.48"
        other_token = await beds24_sandbox.token(other.account.refresh_token)
        fine = await http.get("/properties", headers={"token": other_token})
        assert fine.status_code == 200, "each account has its own pool"
    view = await beds24_sandbox.credits(prop.account.account_id)
    assert (view["refused"], view["used"]) == (1, 4.02)


async def test_window_resets(beds24_sandbox: SandboxHandle) -> None:
    prop = await beds24_sandbox.seed(credit_limit=1.5, window_s=1)
    token = await beds24_sandbox.token(prop.account.refresh_token)
    async with httpx.AsyncClient(base_url=beds24_sandbox.url, headers={"token": token}) as http:
        assert (await http.get("/properties")).status_code == 429

        async def allowed() -> bool:
            return (await http.get("/properties")).status_code == 200

        await wait_for(allowed, timeout=3, what="the credit window to reset")


async def test_concurrent_calls_never_overspend(beds24_sandbox: SandboxHandle) -> None:
    prop = await beds24_sandbox.seed(credit_limit=11)
    token = await beds24_sandbox.token(prop.account.refresh_token)
    async with httpx.AsyncClient(base_url=beds24_sandbox.url, headers={"token": token}) as http:
        answers = await asyncio.gather(*(http.get("/properties") for _ in range(30)))
    codes = [a.status_code for a in answers]
    assert codes.count(200) == 9 and codes.count(429) == 21  # 10 left after the token, 1.01 each
    view = await beds24_sandbox.credits(prop.account.account_id)
    assert view["used"] <= 11


async def test_a_new_window_on_request_restores_the_whole_budget(
    beds24_sandbox: SandboxHandle,
) -> None:
    prop = await beds24_sandbox.seed(credit_limit=2.5)
    token = await beds24_sandbox.token(prop.account.refresh_token)
    async with httpx.AsyncClient(base_url=beds24_sandbox.url, headers={"token": token}) as http:
        assert (await http.get("/properties")).status_code == 200
        assert (await http.get("/properties")).status_code == 429
        view = await beds24_sandbox.new_credit_window(prop.account.account_id)
        assert (view["used"], view["remaining"], view["refused"]) == (0, 2.5, 0)
        again = await http.get("/properties")
        assert again.status_code == 200
        assert again.headers["x-five-min-limit-remaining"] == "1.49"


async def test_a_new_window_can_change_the_limit_and_refuses_a_bad_one(
    beds24_sandbox: SandboxHandle,
) -> None:
    prop = await beds24_sandbox.seed(credit_limit=10_000)
    view = await beds24_sandbox.new_credit_window(prop.account.account_id, credit_limit=100)
    assert (view["limit"], view["remaining"]) == (100, 100)
    window = f"{beds24_sandbox.control_url}/accounts/{prop.account.account_id}/credits/new-window"
    async with httpx.AsyncClient() as http:
        for bad in ({"credit_limit": -1}, {"credit_limit": "100"}, {"credit_limit": True}):
            assert (await http.post(window, json=bad)).status_code == 400, bad
    assert (await beds24_sandbox.credits(prop.account.account_id))["limit"] == 100
