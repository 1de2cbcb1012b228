"""One HTTP exchange with Beds24, its answer translated into data or a Beds24Error.

Knows the status codes, the error body `{"success": false, "error": ...}`, the credit headers
and the credit refusal; knows nothing about tokens or endpoints.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from channel_sync.beds24.credits import parse_credit_headers, resets_in_seconds
from channel_sync.beds24.errors import (
    Beds24AuthError,
    Beds24CreditsExhausted,
    Beds24Rejected,
    Beds24Unavailable,
)
from channel_sync.beds24.models import CreditStatus

logger = logging.getLogger(__name__)

# Beds24's refusal status is unconfirmed: 429, or any error body speaking of credits.
_CREDIT_WORDS = re.compile(r"credit|rate.?limit|too many requests", re.IGNORECASE)
# Without a reset time, wait one whole five-minute window.
DEFAULT_CREDIT_WAIT = timedelta(minutes=5)

CreditsCallback = Callable[[CreditStatus], Awaitable[None]]
# Called with (method, path, json body) before each request: may wait, or raise to hold it.
BeforeSend = Callable[[str, str, Any], Awaitable[None]]


class Transport:
    def __init__(self, http: httpx.AsyncClient, base_url: str, timeout_s: float):
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.timeout = httpx.Timeout(timeout_s)
        self.credits: CreditStatus | None = None
        self.on_credits: CreditsCallback | None = None
        self.before_send: BeforeSend | None = None

    async def send(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        params: Sequence[tuple[str, str]] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        """Send one request; network trouble becomes Beds24Unavailable."""
        if self.before_send is not None:
            await self.before_send(method, path, json)
        started = time.monotonic()
        try:
            response = await self.http.request(
                method,
                self.base_url + path,
                headers=headers,
                params=httpx.QueryParams(list(params or ())),
                json=json,
                timeout=self.timeout,
            )
        except httpx.TimeoutException as exc:
            logger.warning("beds24 %s %s timed out", method, path)
            raise Beds24Unavailable(f"Beds24 did not answer {method} {path} in time") from exc
        except httpx.HTTPError as exc:
            logger.warning("beds24 %s %s failed: %s", method, path, type(exc).__name__)
            raise Beds24Unavailable(f"Beds24 {method} {path} failed: {type(exc).__name__}") from exc
        credits = parse_credit_headers(response.headers)
        logger.info(
            "beds24 %s %s -> %s in %.0f ms (cost %s, remaining %s)",
            method,
            path,
            response.status_code,
            (time.monotonic() - started) * 1000,
            credits.request_cost if credits else None,
            credits.remaining if credits else None,
        )
        if credits is not None:
            await self._record(credits)
        return response

    async def _record(self, credits: CreditStatus) -> None:
        self.credits = credits
        if self.on_credits is None:
            return
        try:
            await self.on_credits(credits)
        except Exception:  # a bookkeeping failure must not fail the Beds24 call
            logger.exception("on_credits callback failed")

    def decode(self, response: httpx.Response, what: str) -> Any:
        """The JSON body of a successful answer, or the matching Beds24Error."""
        status = response.status_code
        body = _json_or_none(response)
        message = _error_message(body) or response.reason_phrase or f"HTTP {status}"
        refused = isinstance(body, dict) and body.get("success") is False
        if status == 429 or (refused and _CREDIT_WORDS.search(message)):
            raise Beds24CreditsExhausted(
                f"Beds24 credits exhausted on {what}: {message}",
                self._credit_wait(response),
                status_code=status,
            )
        if status >= 500 or status in (408, 425):
            raise Beds24Unavailable(
                f"Beds24 failed on {what}: {status} {message}", status_code=status
            )
        if status in (401, 403):
            raise Beds24AuthError(
                f"Beds24 refused the credentials on {what}: {message}", status_code=status
            )
        if status >= 400:
            raise Beds24Rejected(f"Beds24 rejected {what}: {message}", status_code=status)
        if body is None:
            raise Beds24Unavailable(
                f"Beds24 answered {what} with an unreadable body", status_code=status
            )
        if refused:
            raise Beds24Rejected(f"Beds24 rejected {what}: {message}", status_code=status)
        return body

    def _credit_wait(self, response: httpx.Response) -> datetime:
        now = datetime.now(UTC)
        seconds = resets_in_seconds(response.headers)
        if seconds is not None:
            return now + timedelta(seconds=seconds)
        if self.credits is not None and self.credits.resets_at > now:
            return self.credits.resets_at
        return now + DEFAULT_CREDIT_WAIT


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _error_message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("error", "message", "errors"):
            value = body.get(key)
            if value:
                return str(value)[:500]
    return ""
