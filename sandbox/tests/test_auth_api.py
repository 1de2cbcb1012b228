"""Authentication paths answer Beds24's shapes (docs/beds24.md#authentication) and status codes."""

from __future__ import annotations

import httpx
from beds24_sandbox.handle import ApiSession as Api
from beds24_sandbox.handle import SandboxHandle


async def test_setup_token_and_details_shapes(beds24_sandbox: SandboxHandle) -> None:
    account = await beds24_sandbox.create_account(token_ttl_s=3600)
    async with httpx.AsyncClient(base_url=beds24_sandbox.url) as http:
        setup = await http.get(
            "/authentication/setup", headers={"code": account.invite_code, "deviceName": "t"}
        )
        assert setup.status_code == 200
        assert set(setup.json()) == {"token", "expiresIn", "refreshToken"}
        assert setup.json()["expiresIn"] == 3600
        assert setup.json()["refreshToken"] == account.refresh_token

        token = await http.get(
            "/authentication/token", headers={"refreshToken": account.refresh_token}
        )
        assert set(token.json()) == {"token", "expiresIn"}

        good = await http.get("/authentication/details", headers={"token": token.json()["token"]})
        assert good.status_code == 200 and good.json()["validToken"] is True
        details = good.json()["token"]
        # Every field of the official tokenDetails, the device named at setup included.
        assert set(details) == {
            "ownerId",
            "expiresIn",
            "created",
            "scopes",
            "deviceName",
            "linkedProperties",
            "onlyPropertyId",
            "whiteListOnly",
            "whiteList",
        }
        assert details["deviceName"] == "t" and details["onlyPropertyId"] is None
        assert 3590 <= details["expiresIn"] <= 3600 and details["created"].endswith("Z")
        assert good.json()["diagnostics"]["requestIp"] == "127.0.0.1"
        bad = await http.get("/authentication/details", headers={"token": "nope"})
        assert bad.status_code == 200 and bad.json() == {"validToken": False}


async def test_missing_or_expired_token_gets_401_error_body(
    api: Api, beds24_sandbox: SandboxHandle
) -> None:
    anonymous = await api.http.get("/bookings", headers={"token": ""})
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "success": False,
        "type": "error",
        "code": 401,
        "error": "Token is missing, invalid or expired",
    }
    assert (await api.http.get("/bookings")).status_code == 200
    await beds24_sandbox.expire_tokens(api.prop.account.account_id)
    assert (await api.http.get("/bookings")).status_code == 401


async def test_revoked_refresh_token_stops_working(api: Api) -> None:
    headers = {"refreshToken": api.prop.account.refresh_token}
    assert (await api.http.delete("/authentication/token", headers=headers)).status_code == 200
    refused = await api.http.get("/authentication/token", headers=headers)
    assert refused.status_code == 400 and refused.json()["success"] is False


async def test_api_also_answers_under_v2(api: Api, beds24_sandbox: SandboxHandle) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.get(
            f"{beds24_sandbox.base}/v2/properties", headers={"token": api.token}
        )
    assert answer.status_code == 200 and answer.json()["count"] == 1
