"""Authentication paths: setup from an invite code, token from a refresh token, details."""

from __future__ import annotations

import time

from beds24_sandbox import credits
from beds24_sandbox.pipeline import Answer, Call, Refused, error_body


def auth_setup(call: Call) -> Answer:
    state = call.sandbox.state
    account = state.redeem_invite_code(call.request.headers.get("code", ""))
    if account is None:
        return Answer(400, error_body(400, "Invalid or expired invite code"))
    call.account = account
    if not account.pool.can_afford(credits.AUTH_COST):
        account.pool.refuse()
        raise Refused(429, "Credit limit exceeded (five minute limit)")
    account.device_name = call.request.headers.get("deviceName", "")[:100]
    token, expires_in = state.issue_token(account)
    body = {"token": token, "expiresIn": expires_in, "refreshToken": account.refresh_token}
    return Answer(200, body, cost=credits.AUTH_COST)


def auth_token(call: Call) -> Answer:
    state = call.sandbox.state
    account_id = state.refresh_tokens.get(call.request.headers.get("refreshToken", ""))
    account = state.accounts.get(account_id) if account_id is not None else None
    if account is None:
        return Answer(400, error_body(400, "Invalid refresh token"))
    call.account = account
    if not account.pool.can_afford(credits.AUTH_COST):
        account.pool.refuse()
        raise Refused(429, "Credit limit exceeded (five minute limit)")
    token, expires_in = state.issue_token(account)
    return Answer(200, {"token": token, "expiresIn": expires_in}, cost=credits.AUTH_COST)


def auth_revoke(call: Call) -> Answer:
    revoked = call.sandbox.state.revoke_refresh_token(call.request.headers.get("refreshToken", ""))
    if not revoked:
        return Answer(400, error_body(400, "Invalid refresh token"))
    return Answer(200, None)  # the official file gives this answer no content


def auth_details(call: Call) -> Answer:
    state = call.sandbox.state
    token = call.request.headers.get("token", "")
    account = state.account_for_token(token)
    if account is None:  # Beds24 answers 200 even for a bad token
        return Answer(200, {"validToken": False})
    issued = state.tokens[token]
    client = call.request.client
    return Answer(
        200,
        {
            "validToken": True,
            "token": {
                "ownerId": account.id,
                "expiresIn": int(issued.expires_at - time.monotonic()),
                "created": issued.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "scopes": ["all:bookings", "all:inventory", "all:properties", "bookings-personal"],
                "deviceName": account.device_name,
                "linkedProperties": False,
                "onlyPropertyId": None,
                "whiteListOnly": False,
                "whiteList": [],
            },
            "diagnostics": {"requestIp": client.host if client else ""},
        },
    )
