"""Beds24 API V2 client: token life cycle, bookings, calendar, properties, credits.

Every method is one or a few HTTP calls; errors are the classes in `errors.py`. Tokens and
guest data are never logged (only method, path, status, duration and credits are).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from types import TracebackType
from typing import Any

import httpx

from channel_sync.beds24.calendar import compress_calendar
from channel_sync.beds24.errors import Beds24AuthError, Beds24Rejected, Beds24Unavailable
from channel_sync.beds24.info_items import info_items_with_code
from channel_sync.beds24.models import CreditStatus, ItemResult, SetupResult
from channel_sync.beds24.queries import BookingFilter, Params, Statuses, booking_params
from channel_sync.beds24.tokens import TokenCache
from channel_sync.beds24.transport import BeforeSend, CreditsCallback, Transport

# A paging loop that does not end is a Beds24 fault, not a reason to spin forever.
MAX_PAGES = 1000
# How far back an info-item reference search looks by default.
INFO_LOOKBACK = timedelta(days=30)


class Beds24Client:
    compress_calendar = staticmethod(compress_calendar)

    def __init__(
        self,
        base_url: str,
        refresh_token: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout_s: float = 15.0,
        on_credits: CreditsCallback | None = None,
        before_send: BeforeSend | None = None,
        token: str | None = None,
        token_expires_in: float | None = None,
    ):
        self._owns_http = http is None
        self._transport = Transport(http or httpx.AsyncClient(), base_url, timeout_s)
        self._transport.on_credits = on_credits
        self._transport.before_send = before_send  # e.g. a credit budget's gate
        self._refresh_token = refresh_token
        self._tokens = TokenCache(self._fetch_token)
        if token is not None and token_expires_in is not None:
            self._tokens.seed(token, token_expires_in)

    def __repr__(self) -> str:
        return f"Beds24Client({self._transport.base_url!r})"

    # -- life cycle --------------------------------------------------------------------
    async def __aenter__(self) -> Beds24Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._transport.http.aclose()

    @property
    def credits(self) -> CreditStatus | None:
        """The credit pool as of the last charged answer (None before any)."""
        return self._transport.credits

    @property
    def on_credits(self) -> CreditsCallback | None:
        return self._transport.on_credits

    @on_credits.setter
    def on_credits(self, callback: CreditsCallback | None) -> None:
        self._transport.on_credits = callback

    # -- authentication ------------------------------------------------------------------
    @classmethod
    async def setup_from_invite(
        cls,
        base_url: str,
        invite_code: str,
        device_name: str | None = None,
        *,
        http: httpx.AsyncClient | None = None,
        timeout_s: float = 15.0,
    ) -> SetupResult:
        """Exchange a one-time invite code for a refresh token (store it) and a token."""
        headers = {"code": invite_code}
        if device_name:
            headers["deviceName"] = device_name
        async with _borrowed(http) as client:
            transport = Transport(client, base_url, timeout_s)
            response = await transport.send("GET", "/authentication/setup", headers=headers)
            body = _auth_body(transport, response, "the invite code")
        try:
            return SetupResult(
                str(body["refreshToken"]), str(body["token"]), int(body["expiresIn"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise Beds24Unavailable("Beds24 setup answer lacked token fields") from exc

    async def _fetch_token(self) -> tuple[str, int]:
        response = await self._transport.send(
            "GET", "/authentication/token", headers={"refreshToken": self._refresh_token}
        )
        body = _auth_body(self._transport, response, "the refresh token")
        try:
            return str(body["token"]), int(body["expiresIn"])
        except (KeyError, TypeError, ValueError) as exc:
            raise Beds24Unavailable("Beds24 token answer lacked token fields") from exc

    async def get_details(self) -> dict[str, Any]:
        """`GET /authentication/details` (HTTP 200 even for a bad token: see `validToken`)."""
        body = await self._call("GET", "/authentication/details")
        return body if isinstance(body, dict) else {}

    # -- plumbing ------------------------------------------------------------------------
    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """One authenticated call; a 401 refreshes the token once and retries once."""
        extra = {"X-Idempotency-Key": idempotency_key} if idempotency_key else {}
        token = await self._tokens.get()
        response = await self._transport.send(
            method, path, headers={"token": token, **extra}, params=params, json=json
        )
        if response.status_code == 401:
            token = await self._tokens.invalidate(token)
            response = await self._transport.send(
                method, path, headers={"token": token, **extra}, params=params, json=json
            )
            if response.status_code == 401:
                raise Beds24AuthError(
                    f"Beds24 refused a freshly issued token on {path}", status_code=401
                )
        return self._transport.decode(response, f"{method} {path}")

    async def _pages(self, path: str, params: Params) -> list[dict[str, Any]]:
        """Every record of a paged GET, asking page 1, 2, ... until no next page."""
        records: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            data, more = await self._page(path, params, page)
            records.extend(data)
            if not more:
                return records
        raise Beds24Unavailable(f"Beds24 GET {path} still had pages after {MAX_PAGES}")

    async def _page(
        self, path: str, params: Params, page: int
    ) -> tuple[list[dict[str, Any]], bool]:
        """One page of a paged GET, and whether a next page exists."""
        body = await self._call("GET", path, params=[*params, ("page", str(page))])
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise Beds24Unavailable(f"Beds24 answered GET {path} without a data list")
        pages = body.get("pages") or {}
        more = bool(data) and isinstance(pages, dict) and bool(pages.get("nextPageExists"))
        return [d for d in data if isinstance(d, dict)], more

    async def _write(
        self, path: str, items: list[dict[str, Any]], idempotency_key: str | None
    ) -> list[ItemResult]:
        if not items:
            return []
        body = await self._call("POST", path, json=items, idempotency_key=idempotency_key)
        if not isinstance(body, list) or len(body) != len(items):
            # Results cannot be matched to items: the outcome of each is unknown.
            raise Beds24Unavailable(
                f"Beds24 answered POST {path} with {len(body) if isinstance(body, list) else 0}"
                f" results for {len(items)} items"
            )
        return [ItemResult.from_raw(raw) for raw in body]

    # -- bookings ------------------------------------------------------------------------
    async def get_bookings(
        self,
        *,
        property_ids: Iterable[int] | None = None,
        ids: Iterable[int] | None = None,
        room_ids: Iterable[int] | None = None,
        master_ids: Iterable[int] | None = None,
        api_reference: str | None = None,
        search: str | None = None,
        channel: str | None = None,
        booking_filter: BookingFilter | None = None,
        statuses: Statuses = None,
        modified_from: datetime | None = None,
        arrival: date | None = None,
        arrival_from: date | None = None,
        arrival_to: date | None = None,
        departure: date | None = None,
        departure_from: date | None = None,
        departure_to: date | None = None,
        include_info_items: bool = False,
        include_booking_group: bool = False,
    ) -> list[dict[str, Any]]:
        """Every matching booking over all pages (the official filters, see `queries`).

        Beds24 hides cancelled bookings unless their status is listed (`statuses="all"`
        lists every status) and, without a date filter, bookings that are not upcoming;
        a lookup by `ids`, `api_reference` or `search` (Beds24's `searchString`: guest name,
        email, apiReference or booking id) adds a date filter that matches every booking.
        `include_info_items` adds `infoItems [{id, code, text, ...}]`;
        `include_booking_group` adds `bookingGroup {master, ids}` (null outside a group), as
        a V2 webhook carries it.
        """
        params = _bookings_query(
            include_info_items,
            include_booking_group,
            property_ids=property_ids,
            ids=ids,
            room_ids=room_ids,
            master_ids=master_ids,
            api_reference=api_reference,
            search=search,
            channel=channel,
            booking_filter=booking_filter,
            statuses=statuses,
            modified_from=modified_from,
            arrival=arrival,
            arrival_from=arrival_from,
            arrival_to=arrival_to,
            departure=departure,
            departure_from=departure_from,
            departure_to=departure_to,
        )
        return await self._pages("/bookings", params)

    async def get_bookings_page(
        self,
        page: int,
        *,
        include_info_items: bool = False,
        include_booking_group: bool = False,
        **filters: Any,
    ) -> tuple[list[dict[str, Any]], bool]:
        """Page `page` (from 1) of `get_bookings` with the same filters, and whether a next
        page exists: for a reader that keeps its place between pages (a resumable sync)."""
        params = _bookings_query(include_info_items, include_booking_group, **filters)
        return await self._page("/bookings", params, page)

    async def find_bookings_by_reference(
        self,
        reference: str,
        *,
        property_id: int | None = None,
        info_code: str | None = None,
        info_since: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Bookings of any status whose `apiReference` is exactly `reference`, with their info
        items (ids included, so a later write can modify ours instead of adding a copy).

        With `info_code` (for accounts where Beds24 ignores `apiReference` on writes), when no
        apiReference matches, also bookings carrying an info item `{code: info_code, text:
        reference}`: this lists every booking modified since `info_since` (default 30 days
        ago), all pages, so it is meant for the rare create whose outcome is unknown.
        """
        props = [property_id] if property_id is not None else None
        found = await self.get_bookings(
            api_reference=reference, statuses="all", property_ids=props, include_info_items=True
        )
        exact = [b for b in found if b.get("apiReference") == reference]
        if exact or info_code is None:
            return exact
        since = info_since or datetime.now(UTC) - INFO_LOOKBACK
        recent = await self.get_bookings(
            property_ids=props, statuses="all", modified_from=since, include_info_items=True
        )
        return [b for b in recent if _carries(b, info_code, reference)]

    async def write_bookings(
        self, items: list[dict[str, Any]], *, idempotency_key: str | None = None
    ) -> list[ItemResult]:
        """Create (no `id`), modify (`id`) and cancel (`status: cancelled`) in ONE POST.

        Answers one ItemResult per item in request order; check each (`raise_for_error`).
        Beds24Unavailable means the outcome is unknown: search by reference before a
        create is repeated.
        """
        return await self._write("/bookings", items, idempotency_key)

    # -- inventory -----------------------------------------------------------------------
    async def write_calendar(
        self, items: list[dict[str, Any]], *, idempotency_key: str | None = None
    ) -> list[ItemResult]:
        """`POST /inventory/rooms/calendar`; items `{"roomId", "calendar": [ranges]}` (see
        `compress_calendar` / `calendar.calendar_item`)."""
        return await self._write("/inventory/rooms/calendar", items, idempotency_key)

    async def get_calendar(
        self,
        room_ids: Iterable[int],
        start: date,
        end: date,
        *,
        include_num_avail: bool = True,
        include_prices: bool = False,
        include_min_stay: bool = False,
        include_max_stay: bool = False,
        include_override: bool = False,
    ) -> list[dict[str, Any]]:
        """Per room `{"roomId", "calendar": [{"from", "to", ...}]}`; without any include
        flag Beds24 answers empty calendars."""
        params: Params = [("roomId", str(r)) for r in room_ids]
        params += [("startDate", start.isoformat()), ("endDate", end.isoformat())]
        flags = {
            "includeNumAvail": include_num_avail,
            "includePrices": include_prices,
            "includeMinStay": include_min_stay,
            "includeMaxStay": include_max_stay,
            "includeOverride": include_override,
        }
        params += [(k, "true") for k, on in flags.items() if on]
        return await self._pages("/inventory/rooms/calendar", params)

    async def get_properties(
        self, *, include_all_rooms: bool = True, ids: Iterable[int] | None = None
    ) -> list[dict[str, Any]]:
        """Properties, with `roomTypes[] {id, name, qty, units}` when `include_all_rooms`."""
        params: Params = [("id", str(i)) for i in ids or ()]
        if include_all_rooms:
            params.append(("includeAllRooms", "true"))
        return await self._pages("/properties", params)


def _bookings_query(
    include_info_items: bool, include_booking_group: bool, **filters: Any
) -> Params:
    params = booking_params(**filters)
    includes = {
        "includeInfoItems": include_info_items,
        "includeBookingGroup": include_booking_group,
    }
    return params + [(name, "true") for name, on in includes.items() if on]


def _carries(booking: dict[str, Any], code: str, reference: str) -> bool:
    return any(i.get("text") == reference for i in info_items_with_code(booking, code))


def _auth_body(transport: Transport, response: httpx.Response, what: str) -> dict[str, Any]:
    """Decode an authentication answer: a refusal of the credential itself is an auth error."""
    try:
        body = transport.decode(response, f"authentication with {what}")
    except Beds24Rejected as exc:
        raise Beds24AuthError(str(exc), status_code=exc.status_code) from exc
    if not isinstance(body, dict):
        raise Beds24Unavailable(f"Beds24 answered authentication with {what} oddly")
    return body


class _borrowed:
    """Use the caller's httpx client, or a temporary one closed afterwards."""

    def __init__(self, http: httpx.AsyncClient | None):
        self._given = http
        self._own: httpx.AsyncClient | None = None

    async def __aenter__(self) -> httpx.AsyncClient:
        if self._given is not None:
            return self._given
        self._own = httpx.AsyncClient()
        return self._own

    async def __aexit__(self, *exc: object) -> None:
        if self._own is not None:
            await self._own.aclose()
