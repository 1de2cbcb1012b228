"""Booking webhooks to each URL a property configured, with its custom header: V2 (JSON
POST), or V1 (GET ?bookid=&status=). Deliveries can be late, duplicated, dropped or
array-wrapped on request; a failed delivery (>= 400 or no answer) is retried like Beds24
does, after the configured delays."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from beds24_sandbox import booking_groups
from beds24_sandbox.booking_fields import PERSONAL_FIELDS, fmt_time, utc_now
from beds24_sandbox.state import Property, SandboxState

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """How to deliver one change (the `delivery` object of the control API)."""

    delay_s: float = 0.0
    duplicates: int = 0
    array_wrapped: bool = False
    drop: bool = False

    @classmethod
    def parse(cls, raw: Any) -> Delivery:
        if raw is None:
            return cls()
        if not isinstance(raw, dict) or set(raw) - {
            "delay_s",
            "duplicates",
            "array_wrapped",
            "drop",
        }:
            raise ValueError("delivery takes delay_s, duplicates, array_wrapped, drop")
        delivery = cls(
            float(raw.get("delay_s", 0)),
            int(raw.get("duplicates", 0)),
            bool(raw.get("array_wrapped", False)),
            bool(raw.get("drop", False)),
        )
        if delivery.delay_s < 0 or not 0 <= delivery.duplicates <= 20:
            raise ValueError("delay_s >= 0 and 0 <= duplicates <= 20")
        return delivery


def custom_headers(text: str) -> dict[str, str]:
    """`Header-Name: value`, one per line, as typed in the Beds24 UI."""
    headers = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip():
            headers[name.strip()] = value.strip()
    return headers


def v2_body(booking: dict[str, Any], *, personal: bool, retries: int = 0) -> dict[str, Any]:
    shown = {k: v for k, v in booking.items() if k not in ("infoItems", "invoiceItems")}
    if not personal:
        shown = {k: v for k, v in shown.items() if k not in PERSONAL_FIELDS}
    return {
        "timeStamp": fmt_time(utc_now()),
        "booking": shown,
        "infoItems": list(booking.get("infoItems") or []),
        "invoiceItems": list(booking.get("invoiceItems") or []) if personal else [],
        "messages": [],
        "retries": retries,
    }


class WebhookSender:
    def __init__(self, state: SandboxState):
        self._state = state
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self.log: list[dict[str, Any]] = []
        self._http: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        await self.cancel_all()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    def clear_log(self) -> None:
        self.log = []
        self._ids = itertools.count(1)

    def booking_changed(
        self, prop: Property, booking: dict[str, Any], change: str, delivery: Delivery
    ) -> int:
        """Schedule the property's webhooks for a change ("new"|"modify"|"cancel")."""
        version = "v1" if prop.webhook.version == "one" else "v2"
        return self.send(prop, booking, version=version, v1_status=change, delivery=delivery)

    def send(
        self,
        prop: Property,
        booking: dict[str, Any],
        *,
        version: str,
        v1_status: str,
        delivery: Delivery,
    ) -> int:
        """Schedule deliveries of `booking` (a snapshot) to every URL; returns how many."""
        # The official V2 body carries the group (`bookingGroup {master, ids}` or null).
        snapshot = {**booking, "bookingGroup": booking_groups.group_of(self._state, booking)}
        personal = prop.webhook.version != "twoNoPersonalData"
        count = 0
        for url in prop.webhook.urls:
            for copy in range(1 + delivery.duplicates):
                if delivery.drop:
                    self._record(
                        url, version, snapshot["id"], None, None, "dropped on request", copy, 0
                    )
                    continue
                job = self._deliver(
                    url,
                    custom_headers(prop.webhook.custom_header),
                    version,
                    snapshot,
                    v1_status,
                    personal,
                    delivery,
                    copy,
                )
                task = asyncio.get_running_loop().create_task(job)
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                count += 1
        return count

    async def _deliver(
        self,
        url: str,
        headers: dict[str, str],
        version: str,
        booking: dict[str, Any],
        v1_status: str,
        personal: bool,
        delivery: Delivery,
        copy: int,
    ) -> None:
        if delivery.delay_s:
            await asyncio.sleep(delivery.delay_s)
        delays = list(self._state.config.webhook_retry_delays_s)
        for attempt in range(len(delays) + 1):
            body: Any = None
            if version == "v2":
                body = v2_body(booking, personal=personal, retries=attempt)
                if delivery.array_wrapped:
                    body = [body]
            status, error = await self._attempt(
                url, headers, version, booking["id"], v1_status, body
            )
            self._record(url, version, booking["id"], body, status, error, copy, attempt)
            if status is not None and status < 400:
                return
            if attempt < len(delays):
                await asyncio.sleep(delays[attempt])

    async def _attempt(
        self,
        url: str,
        headers: dict[str, str],
        version: str,
        booking_id: int,
        v1_status: str,
        body: Any,
    ) -> tuple[int | None, str | None]:
        if self._http is None:
            self._http = httpx.AsyncClient()
        timeout = self._state.config.webhook_timeout_s
        try:
            if version == "v2":
                response = await self._http.post(url, json=body, headers=headers, timeout=timeout)
            else:
                response = await self._http.get(
                    url,
                    params={"bookid": booking_id, "status": v1_status},
                    headers=headers,
                    timeout=timeout,
                )
        except httpx.HTTPError as exc:
            return None, type(exc).__name__
        return response.status_code, None

    def _record(
        self,
        url: str,
        version: str,
        booking_id: int,
        body: Any,
        status: int | None,
        error: str | None,
        copy: int,
        attempt: int,
    ) -> None:
        self.log.append(
            {
                "id": next(self._ids),
                "booking_id": booking_id,
                "url": url,
                "version": version,
                "copy": copy,
                "attempt": attempt,
                "status_code": status,
                "error": error,
                "sent_at": fmt_time(utc_now()),
                "body": body,
            }
        )
