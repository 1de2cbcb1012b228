"""The control API under /_sandbox/: seed, inspect, reset, play guest bookings, replay
webhooks and inject faults. Answers JSON; bad input gets 400 with `{"error": ...}`."""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from beds24_sandbox import booking_groups, booking_writes, inventory
from beds24_sandbox.state import SandboxState, WebhookConfig
from beds24_sandbox.webhooks import Delivery
from beds24_sandbox.world import Sandbox

WEBHOOK_VERSIONS = ("twoWithPersonalData", "twoNoPersonalData", "one")
MAX_CONTROL_BODY = 1_000_000


class Invalid(Exception):
    pass


class NotFound(Exception):
    pass


Endpoint = Callable[[Request, Sandbox], Awaitable[Any]]


def control(endpoint: Endpoint, status: int = 200) -> Callable[[Request], Awaitable[Response]]:
    async def wrapped(request: Request) -> Response:
        try:
            result = await endpoint(request, request.app.state.sandbox)
        except (Invalid, ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"error": str(exc) or type(exc).__name__}, status_code=400)
        except NotFound as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        return JSONResponse(result, status_code=status)

    return wrapped


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_CONTROL_BODY:
        raise Invalid("body too large")
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise Invalid("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Invalid("body must be a JSON object")
    return body


def _int(request: Request, name: str) -> int:
    try:
        return int(request.path_params[name])
    except ValueError:
        raise NotFound(f"{name} not found") from None


def _webhook(raw: Any, base: WebhookConfig | None = None) -> WebhookConfig:
    config = WebhookConfig(**(base.public() if base else {}))
    if raw is None:
        return config
    if not isinstance(raw, dict) or set(raw) - {"urls", "custom_header", "version"}:
        raise Invalid("webhook takes urls, custom_header, version")
    if "urls" in raw:
        urls = raw["urls"]
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise Invalid("webhook.urls must be a list of URLs")
        config.urls = list(urls)
    if "custom_header" in raw:
        config.custom_header = str(raw["custom_header"])
    if "version" in raw:
        if raw["version"] not in WEBHOOK_VERSIONS:
            raise Invalid(f"webhook.version must be one of {WEBHOOK_VERSIONS}")
        config.version = raw["version"]
    return config


# -- state ----------------------------------------------------------------------------------
async def reset(_: Request, sandbox: Sandbox) -> Any:
    await sandbox.reset()
    return {"ok": True}


async def config(request: Request, sandbox: Sandbox) -> Any:
    if request.method == "POST":
        body = await _body(request)
        with sandbox.state.lock:
            sandbox.state.config.update(body)
    return vars(sandbox.state.config)


async def create_account(request: Request, sandbox: Sandbox) -> Any:
    body = await _body(request)
    limit = float(body.get("credit_limit", 100))
    window = float(body.get("window_s", 300))
    ttl = float(body.get("token_ttl_s", 86_400))
    if limit < 0 or window <= 0 or ttl <= 0:
        raise Invalid("credit_limit >= 0, window_s > 0 and token_ttl_s > 0")
    account = sandbox.state.create_account(limit, window, ttl)
    return {
        "account_id": account.id,
        "refresh_token": account.refresh_token,
        "invite_code": sandbox.state.new_invite_code(account.id),
    }


def _account(request: Request, sandbox: Sandbox) -> int:
    account_id = _int(request, "account_id")
    if account_id not in sandbox.state.accounts:
        raise NotFound("account not found")
    return account_id


async def invite_code(request: Request, sandbox: Sandbox) -> Any:
    return {"invite_code": sandbox.state.new_invite_code(_account(request, sandbox))}


async def account_credits(request: Request, sandbox: Sandbox) -> Any:
    pool = sandbox.state.accounts[_account(request, sandbox)].pool
    with sandbox.state.lock:
        return {
            "limit": float(pool.limit),
            "remaining": float(pool.remaining),
            "used": float(pool.used),
            "resets_in": pool.resets_in,
            "window_s": pool.window_s,
            "refused": pool.refused,
        }


async def new_credit_window(request: Request, sandbox: Sandbox) -> Any:
    """As if the account's window had run out: nothing used, nothing refused (a run that
    set hotels up first then measures from a whole budget); `{"credit_limit"}` sets the
    limit from then on (set-up at a generous one, the day at Beds24's)."""
    pool = sandbox.state.accounts[_account(request, sandbox)].pool
    limit = (await _body(request)).get("credit_limit")
    if limit is not None and (type(limit) not in (int, float) or limit < 0):
        raise Invalid("credit_limit must be a number >= 0")
    with sandbox.state.lock:
        if limit is not None:
            pool.limit = Decimal(str(limit))
        pool.window_start = None
        pool.used = Decimal("0")
        pool.refused = 0
    return await account_credits(request, sandbox)


async def expire_tokens(request: Request, sandbox: Sandbox) -> Any:
    return {"expired": sandbox.state.expire_tokens(_account(request, sandbox))}


async def create_property(request: Request, sandbox: Sandbox) -> Any:
    body = await _body(request)
    account_id = body.get("account_id")
    if account_id not in sandbox.state.accounts:
        raise Invalid("account_id must name an account")
    rooms = body.get("rooms", [{"name": "Double", "qty": 1}])
    if not isinstance(rooms, list) or not all(_room_spec_ok(r) for r in rooms):
        raise Invalid("rooms must be a list of {name, qty (1..500), minStay?, maxStay?}")
    prop = sandbox.state.create_property(
        account_id,
        str(body.get("name", "Sandbox Hotel")),
        str(body.get("currency", "EUR")),
        rooms,
        _webhook(body.get("webhook")),
    )
    return prop.public()


def _room_spec_ok(spec: Any) -> bool:
    if not isinstance(spec, dict):
        return False
    numbers = [spec.get("qty", 1), spec.get("minStay", 1), spec.get("maxStay", 365)]
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
        return False
    qty, min_stay, max_stay = numbers
    return bool(1 <= qty <= 500 and 1 <= min_stay <= max_stay)


def _property(request: Request, sandbox: Sandbox) -> Any:
    prop = sandbox.state.properties.get(_int(request, "property_id"))
    if prop is None:
        raise NotFound("property not found")
    return prop


async def get_property(request: Request, sandbox: Sandbox) -> Any:
    return _property(request, sandbox).public()


async def patch_property(request: Request, sandbox: Sandbox) -> Any:
    body = await _body(request)
    prop = _property(request, sandbox)
    with sandbox.state.lock:
        if "webhook" in body:
            prop.webhook = _webhook(body["webhook"], prop.webhook)
        if "name" in body:
            prop.name = str(body["name"])
    return prop.public()


async def room_calendar(request: Request, sandbox: Sandbox) -> Any:
    """What Beds24's calendar holds for a room per day, every field shown (as the API's GET
    with every include flag), for tests and demos that must not spend the account's
    credits: `?from=YYYY-MM-DD&to=YYYY-MM-DD`."""
    prop = _property(request, sandbox)
    room = prop.rooms.get(_int(request, "room_id"))
    if room is None:
        raise NotFound("room not found in this property")
    try:
        first = date.fromisoformat(request.query_params["from"])
        last = date.fromisoformat(request.query_params.get("to") or request.query_params["from"])
    except (KeyError, ValueError):
        raise Invalid("from (and optionally to) must be dates") from None
    if not 0 <= (last - first).days <= 400:
        raise Invalid("to must be from or up to 400 days after it")
    with sandbox.state.lock:
        return [
            {"date": day.isoformat(), **inventory.day_values(sandbox.state, room, day, ALL_FLAGS)}
            for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
        ]


# Every include flag of GET /inventory/rooms/calendar.
ALL_FLAGS = {
    "includeNumAvail",
    "includeMinStay",
    "includeMaxStay",
    "includeMultiplier",
    "includeOverride",
    "includePrices",
    "includeChannels",
}


# -- bookings -------------------------------------------------------------------------------
async def list_bookings(request: Request, sandbox: Sandbox) -> Any:
    raw = request.query_params.get("propertyId")
    property_id = int(raw) if raw else None
    with sandbox.state.lock:
        return [
            _shown(sandbox, b)
            for b in sorted(sandbox.state.bookings.values(), key=lambda b: b["id"])
            if property_id is None or b["propertyId"] == property_id
        ]


async def get_booking(request: Request, sandbox: Sandbox) -> Any:
    with sandbox.state.lock:
        booking = sandbox.state.bookings.get(_int(request, "booking_id"))
        if booking is None:
            raise NotFound("booking not found")
        return _shown(sandbox, booking)


def _shown(sandbox: Sandbox, booking: dict[str, Any]) -> dict[str, Any]:
    """A stored booking with its derived `bookingGroup`, as the control API shows it."""
    return {**booking, "bookingGroup": booking_groups.group_of(sandbox.state, booking)}


def _guest_defaults() -> dict[str, Any]:
    code = secrets.randbelow(10**10)
    return {
        "status": "new",
        "channel": "booking",
        "referer": "Booking.com",
        "apiSource": "Booking.com",
        "apiReference": f"BDC-{code:010d}",
        "firstName": "Sandbox",
        "lastName": "Guest",
        "email": "guest@example.invalid",
        "numAdult": 2,
    }


async def guest_booking(request: Request, sandbox: Sandbox) -> Any:
    body = await _body(request)
    delivery = Delivery.parse(body.pop("delivery", None))
    state = sandbox.state
    with state.lock:
        defaults = _guest_defaults()
        result, booking = booking_writes.create(state, body, account_id=None, defaults=defaults)
        if booking is None:
            raise Invalid("; ".join(e["message"] for e in result["errors"]))
        _refuse_past_channel_limit(state, [booking])
        sandbox.sender.booking_changed(
            state.properties[booking["propertyId"]], booking, "new", delivery
        )
        return _shown(sandbox, booking)


def _refuse_past_channel_limit(state: SandboxState, made: list[dict[str, Any]]) -> None:
    """A channel cannot sell past its `maxBookings`: such a reservation never arrives."""
    for booking in made:
        if inventory.channel_full(state, booking):
            for done in made:
                state.bookings.pop(done["id"], None)
            raise Invalid(f"channel {booking['channel']} is at its maxBookings for these dates")


async def guest_group(request: Request, sandbox: Sandbox) -> Any:
    """One OTA reservation for several rooms: a booking per room under one master, sharing
    the reservation's code (`apiReference`) and guest; each fires its webhooks."""
    body = await _body(request)
    delivery = Delivery.parse(body.pop("delivery", None))
    rooms = body.pop("rooms", None)
    if not isinstance(rooms, list) or not rooms or not all(isinstance(r, dict) for r in rooms):
        raise Invalid("rooms must be a non-empty list of booking objects ({roomId, ...})")
    state = sandbox.state
    with state.lock:
        defaults = _guest_defaults()
        made: list[dict[str, Any]] = []
        for room in rooms:
            item = {**body, **room}
            result, booking = booking_writes.create(state, item, account_id=None, defaults=defaults)
            if booking is None:
                for done in made:  # all rooms or none, as an OTA reservation arrives
                    del state.bookings[done["id"]]
                raise Invalid("; ".join(e["message"] for e in result["errors"]))
            made.append(booking)
        _refuse_past_channel_limit(state, made)
        booking_groups.make_group(made)
        for booking in made:
            prop = state.properties[booking["propertyId"]]
            sandbox.sender.booking_changed(prop, booking, "new", delivery)
        return [_shown(sandbox, b) for b in made]


async def modify_guest_booking(request: Request, sandbox: Sandbox) -> Any:
    body = await _body(request)
    delivery = Delivery.parse(body.pop("delivery", None))
    return _change(sandbox, _int(request, "booking_id"), body, delivery)


async def cancel_guest_booking(request: Request, sandbox: Sandbox) -> Any:
    body = await _body(request)
    delivery = Delivery.parse(body.pop("delivery", None))
    return _change(sandbox, _int(request, "booking_id"), {"status": "cancelled"}, delivery)


def _change(
    sandbox: Sandbox, booking_id: int, fields: dict[str, Any], delivery: Delivery
) -> dict[str, Any]:
    state = sandbox.state
    with state.lock:
        if booking_id not in state.bookings:
            raise NotFound("booking not found")
        result, booking, change, _ = booking_writes.modify(
            state, {**fields, "id": booking_id}, account_id=None
        )
        if result.get("errors"):
            raise Invalid("; ".join(e["message"] for e in result["errors"]))
        assert booking is not None
        if change == "cancel":
            # Guest cancellations carry cancelTime (API cancels leave it null, as often live).
            booking["cancelTime"] = booking["modifiedTime"]
        if change is not None:
            sandbox.sender.booking_changed(
                state.properties[booking["propertyId"]], booking, change, delivery
            )
        return _shown(sandbox, booking)


# -- webhooks, faults, calls ----------------------------------------------------------------
async def replay_webhook(request: Request, sandbox: Sandbox) -> Any:
    body = await _body(request)
    state = sandbox.state
    with state.lock:
        booking = state.bookings.get(body.get("booking_id"))  # type: ignore[arg-type]
        if booking is None:
            raise NotFound("booking not found")
        version = body.get("version", "v2")
        if version not in ("v1", "v2"):
            raise Invalid("version must be v1 or v2")
        snapshot = body.get("snapshot")
        if snapshot is not None and not isinstance(snapshot, dict):
            raise Invalid("snapshot must be a booking object")
        shown = {**booking, **(snapshot or {}), "id": booking["id"]}
        default_status = "cancel" if booking["status"] == "cancelled" else "modify"
        status = body.get("status", default_status)
        if status not in ("new", "modify", "cancel"):
            raise Invalid("status must be new, modify or cancel")
        delivery = Delivery(
            delay_s=float(body.get("delay_s", 0)),
            duplicates=int(body.get("duplicates", 0)),
            array_wrapped=bool(body.get("array_wrapped", False)),
        )
        prop = state.properties[booking["propertyId"]]
        count = sandbox.sender.send(
            prop, shown, version=version, v1_status=status, delivery=delivery
        )
    return {"scheduled": count}


async def webhook_log(request: Request, sandbox: Sandbox) -> Any:
    raw = request.query_params.get("booking_id")
    booking_id = int(raw) if raw else None
    return [d for d in sandbox.sender.log if booking_id is None or d["booking_id"] == booking_id]


async def faults(request: Request, sandbox: Sandbox) -> Any:
    if request.method == "POST":
        fault = sandbox.faults.add(await _body(request))
        return {"id": fault.id, "kind": fault.kind, "count": fault.count}
    if request.method == "DELETE":
        sandbox.faults.clear()
    return sandbox.faults.listing()


async def calls(request: Request, sandbox: Sandbox) -> Any:
    if request.method == "DELETE":
        with sandbox.state.lock:
            sandbox.state.calls = []
        return []
    method = request.query_params.get("method")
    path = request.query_params.get("path")
    with sandbox.state.lock:
        return [
            c
            for c in sandbox.state.calls
            if (method is None or c["method"] == method.upper())
            and (path is None or c["path"] == path)
        ]


def control_routes() -> list[Route]:
    p = "/_sandbox"
    return [
        Route(f"{p}/reset", control(reset), methods=["POST"]),
        Route(f"{p}/config", control(config), methods=["GET", "POST"]),
        Route(f"{p}/accounts", control(create_account, 201), methods=["POST"]),
        Route(
            f"{p}/accounts/{{account_id}}/invite-codes", control(invite_code, 201), methods=["POST"]
        ),
        Route(f"{p}/accounts/{{account_id}}/credits", control(account_credits), methods=["GET"]),
        Route(
            f"{p}/accounts/{{account_id}}/credits/new-window",
            control(new_credit_window),
            methods=["POST"],
        ),
        Route(
            f"{p}/accounts/{{account_id}}/expire-tokens", control(expire_tokens), methods=["POST"]
        ),
        Route(f"{p}/properties", control(create_property, 201), methods=["POST"]),
        Route(f"{p}/properties/{{property_id}}", control(get_property), methods=["GET"]),
        Route(f"{p}/properties/{{property_id}}", control(patch_property), methods=["PATCH"]),
        Route(
            f"{p}/properties/{{property_id}}/rooms/{{room_id}}/calendar",
            control(room_calendar),
            methods=["GET"],
        ),
        Route(f"{p}/bookings", control(list_bookings), methods=["GET"]),
        Route(f"{p}/bookings/{{booking_id}}", control(get_booking), methods=["GET"]),
        Route(f"{p}/guest-bookings", control(guest_booking, 201), methods=["POST"]),
        Route(f"{p}/guest-groups", control(guest_group, 201), methods=["POST"]),
        Route(
            f"{p}/guest-bookings/{{booking_id}}", control(modify_guest_booking), methods=["PATCH"]
        ),
        Route(
            f"{p}/guest-bookings/{{booking_id}}/cancel",
            control(cancel_guest_booking),
            methods=["POST"],
        ),
        Route(f"{p}/webhooks/replay", control(replay_webhook), methods=["POST"]),
        Route(f"{p}/webhooks", control(webhook_log), methods=["GET"]),
        Route(f"{p}/faults", control(faults), methods=["GET", "POST", "DELETE"]),
        Route(f"{p}/calls", control(calls), methods=["GET", "DELETE"]),
    ]
