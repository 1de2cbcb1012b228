"""The Beds24 API V2 routes, each through one pipeline: faults, token, credits, handler,
credit headers, call log. Handlers are synchronous and run under the state lock, so a
check of credits, the work and the charge happen as one step."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from beds24_sandbox import bookings, credits, inventory
from beds24_sandbox.faults import Fault
from beds24_sandbox.responses import DroppedResponse, error, listing
from beds24_sandbox.state import Account
from beds24_sandbox.webhooks import Delivery
from beds24_sandbox.world import Sandbox

MAX_BODY_BYTES = 1_000_000
MAX_ITEMS = 10_000


@dataclass
class Call:
    sandbox: Sandbox
    request: Request
    path: str
    account: Account | None
    query: list[tuple[str, str]]
    items: list[Any] | None
    base_url: str


@dataclass
class Answer:
    status: int
    body: Any
    cost: Decimal = Decimal("0")
    headers: dict[str, str] = field(default_factory=dict)


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


Handler = Callable[[Call], Answer]


def route(
    path: str, method: str, handler: Handler, *, auth: bool = True, write: bool = False, prefix: str
) -> Route:
    async def endpoint(request: Request) -> Response:
        sandbox: Sandbox = request.app.state.sandbox
        started = time.monotonic()
        fault = sandbox.faults.take(method, path)
        # Logged on arrival (status None until answered) so a held call is visible at once.
        entry: dict[str, Any] = {
            "method": method,
            "path": path,
            "status": None,
            "cost": 0.0,
            "items": None,
            "account_id": None,
            "fault": fault.kind if fault else None,
            "query": request.url.query,
            "idempotency_key": request.headers.get("x-idempotency-key"),
            "ms": None,
        }
        sandbox.state.log_call(entry)
        response, cost, items, account_id = await _serve(
            sandbox, request, path, handler, auth=auth, write=write, fault=fault
        )
        dropped = isinstance(response, DroppedResponse)
        entry.update(
            status=None if dropped else response.status_code,
            cost=float(cost),
            items=items,
            account_id=account_id,
            ms=round((time.monotonic() - started) * 1000, 1),
        )
        return response

    return Route(prefix + path, endpoint, methods=[method], name=f"{method} {prefix}{path}")


async def _serve(
    sandbox: Sandbox,
    request: Request,
    path: str,
    handler: Handler,
    *,
    auth: bool,
    write: bool,
    fault: Fault | None,
) -> tuple[Response, Decimal, int | None, int | None]:
    state = sandbox.state
    account = state.account_for_token(request.headers.get("token")) if auth else None
    account_id = account.id if account else None
    if fault is not None and fault.kind == "http_500":
        return error(fault.status or 500, "Internal Server Error"), Decimal(0), None, account_id
    if fault is not None and fault.kind == "credits":
        headers = _credit_headers(sandbox, account, Decimal(0))
        return (
            error(fault.status or 429, "Credit limit exceeded (five minute limit)", headers),
            Decimal(0),
            None,
            account_id,
        )
    if fault is not None and fault.kind == "timeout" and not fault.apply:
        await sandbox.hold(fault.delay_s)
        return error(504, "Gateway Timeout"), Decimal(0), None, account_id
    items: list[Any] | None = None
    if write:
        body = await request.body()
        try:
            items = _parse_items(body)
        except Refused as exc:
            return error(exc.status, exc.message), Decimal(0), None, account_id
    call = Call(
        sandbox,
        request,
        path,
        account,
        list(request.query_params.multi_items()),
        items,
        str(request.base_url).rstrip("/") + request.url.path,
    )
    with state.lock:
        answer = _run(call, handler, auth=auth)
    account_id = call.account.id if call.account else None
    response = JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)
    if fault is not None and fault.kind == "timeout":
        await sandbox.hold(fault.delay_s)
        response = error(504, "Gateway Timeout")
    if fault is not None and fault.kind == "lost_response":
        return DroppedResponse(), answer.cost, len(items) if items is not None else None, account_id
    return response, answer.cost, len(items) if items is not None else None, account_id


def _parse_items(body: bytes) -> list[Any]:
    if len(body) > MAX_BODY_BYTES:
        raise Refused(400, "Request body larger than 1 MB")
    try:
        items = json.loads(body or b"null")
    except ValueError:
        raise Refused(400, "Request body is not valid JSON") from None
    if not isinstance(items, list):
        raise Refused(400, "Request body must be a JSON array")
    if len(items) > MAX_ITEMS:
        raise Refused(400, f"At most {MAX_ITEMS} items per request")
    return items


def _run(call: Call, handler: Handler, *, auth: bool) -> Answer:
    if auth and call.account is None:
        return Answer(401, _error_body(401, "Token is missing, invalid or expired"))
    estimate = credits.write_cost(len(call.items)) if call.items is not None else credits.READ_BASE
    if call.account is not None and not call.account.pool.can_afford(estimate):
        call.account.pool.refuse()
        headers = _credit_headers(call.sandbox, call.account, Decimal(0))
        return Answer(
            429, _error_body(429, "Credit limit exceeded (five minute limit)"), headers=headers
        )
    try:
        answer = handler(call)
    except (Refused, bookings.BadRequest) as exc:
        status = exc.status if isinstance(exc, Refused) else 400
        cost = Decimal(0) if status == 429 else credits.READ_BASE  # refusals are free
        answer = Answer(status, _error_body(status, str(exc)), cost=cost)
    if call.account is not None:
        call.account.pool.charge(answer.cost)
        answer.headers.update(_credit_headers(call.sandbox, call.account, answer.cost))
    return answer


def _credit_headers(sandbox: Sandbox, account: Account | None, cost: Decimal) -> dict[str, str]:
    if account is None:
        return {}
    return account.pool.headers(cost, sandbox.state.config.credit_headers)


def _error_body(status: int, message: str) -> dict[str, Any]:
    return {"success": False, "type": "error", "code": status, "error": message}


def _paged(call: Call, kind: str, records: list[Any]) -> Answer:
    page = _page_number(call.query)
    size = call.sandbox.state.config.page_size
    chunk = records[(page - 1) * size : page * size]
    more = len(records) > page * size
    link = None
    if more:
        rest = [(k, v) for k, v in call.query if k != "page"] + [("page", str(page + 1))]
        link = f"{call.base_url}?{urlencode(rest)}"
    body = listing(kind, chunk, {"nextPageExists": more, "nextPageLink": link})
    return Answer(200, body, cost=credits.read_cost(len(chunk)))


def _page_number(query: list[tuple[str, str]]) -> int:
    raw = [v for k, v in query if k == "page"]
    if not raw:
        return 1
    try:
        page = int(raw[-1])
    except ValueError:
        raise Refused(400, "page: expected a whole number") from None
    if page < 1:
        raise Refused(400, "page: must be 1 or more")
    return page


def _flag(call: Call, name: str) -> bool:
    return any(k == name and v.lower() in ("true", "1") for k, v in call.query)


# -- authentication -------------------------------------------------------------------------
def auth_setup(call: Call) -> Answer:
    state = call.sandbox.state
    account = state.redeem_invite_code(call.request.headers.get("code", ""))
    if account is None:
        return Answer(400, _error_body(400, "Invalid or expired invite code"))
    call.account = account
    if not account.pool.can_afford(credits.AUTH_COST):
        account.pool.refuse()
        raise Refused(429, "Credit limit exceeded (five minute limit)")
    token, expires_in = state.issue_token(account)
    body = {"token": token, "expiresIn": expires_in, "refreshToken": account.refresh_token}
    return Answer(200, body, cost=credits.AUTH_COST)


def auth_token(call: Call) -> Answer:
    state = call.sandbox.state
    account_id = state.refresh_tokens.get(call.request.headers.get("refreshToken", ""))
    account = state.accounts.get(account_id) if account_id is not None else None
    if account is None:
        return Answer(400, _error_body(400, "Invalid refresh token"))
    call.account = account
    if not account.pool.can_afford(credits.AUTH_COST):
        account.pool.refuse()
        raise Refused(429, "Credit limit exceeded (five minute limit)")
    token, expires_in = state.issue_token(account)
    return Answer(200, {"token": token, "expiresIn": expires_in}, cost=credits.AUTH_COST)


def auth_revoke(call: Call) -> Answer:
    revoked = call.sandbox.state.revoke_refresh_token(call.request.headers.get("refreshToken", ""))
    if not revoked:
        return Answer(400, _error_body(400, "Invalid refresh token"))
    return Answer(200, {"success": True})


def auth_details(call: Call) -> Answer:
    state = call.sandbox.state
    token = call.request.headers.get("token", "")
    account = state.account_for_token(token)
    if account is None:  # Beds24 answers 200 even for a bad token
        return Answer(200, {"validToken": False})
    expires = state.tokens[token].expires_at - time.monotonic()
    return Answer(
        200,
        {
            "validToken": True,
            "token": {
                "expiresIn": int(expires),
                "ownerId": account.id,
                "scopes": ["all:bookings", "all:inventory", "all:properties", "bookings-personal"],
            },
        },
    )


# -- bookings -------------------------------------------------------------------------------
def get_bookings(call: Call) -> Answer:
    assert call.account is not None
    found = bookings.search(call.sandbox.state, call.account.id, call.query)
    info, invoice = _flag(call, "includeInfoItems"), _flag(call, "includeInvoiceItems")
    shown = [bookings.public(b, info=info, invoice=invoice) for b in found]
    return _paged(call, "booking", shown)


def post_bookings(call: Call) -> Answer:
    assert call.account is not None and call.items is not None
    sandbox, state = call.sandbox, call.sandbox.state
    results = []
    for item in call.items:
        if not isinstance(item, dict):
            results.append(
                {
                    "success": False,
                    "errors": [
                        {"action": "create", "field": "item", "message": "item must be an object"}
                    ],
                }
            )
            continue
        if "id" in item:
            result, booking, change = bookings.modify(state, item, account_id=call.account.id)
        else:
            result, booking = bookings.create(state, item, account_id=call.account.id)
            change = "new" if booking is not None else None
        results.append(result)
        if booking is not None and change is not None and _fires_webhook(call, item):
            prop = state.properties[booking["propertyId"]]
            sandbox.sender.booking_changed(prop, booking, change, Delivery())
    return Answer(201, results, cost=credits.write_cost(len(call.items)))


def _fires_webhook(call: Call, item: dict[str, Any]) -> bool:
    mode = call.sandbox.state.config.api_webhooks
    raw_actions = item.get("actions")
    actions: dict[str, Any] = raw_actions if isinstance(raw_actions, dict) else {}
    return mode == "always" or (mode == "allowWebhooks" and bool(actions.get("allowWebhooks")))


def delete_bookings(call: Call) -> Answer:
    assert call.account is not None
    state = call.sandbox.state
    raw_ids = [v for k, v in call.query if k == "id"]
    if not raw_ids or any("," in v for v in raw_ids):
        raise Refused(400, "id: give one or more ids as repeated parameters")
    own = {p.id for p in state.properties_of(call.account.id)}
    results = []
    for raw in raw_ids:
        booking = state.bookings.get(int(raw)) if raw.isdigit() else None
        if booking is None or booking["propertyId"] not in own:
            results.append(
                {
                    "success": False,
                    "errors": [
                        {"action": "delete", "field": "id", "message": f"booking {raw} not found"}
                    ],
                }
            )
            continue
        del state.bookings[booking["id"]]
        results.append({"success": True, "deleted": {"id": booking["id"]}})
    return Answer(200, results, cost=credits.write_cost(len(raw_ids)))


# -- inventory ------------------------------------------------------------------------------
def get_calendar(call: Call) -> Answer:
    assert call.account is not None
    state = call.sandbox.state
    room_ids = _int_list(call, "roomId")
    property_ids = _int_list(call, "propertyId")
    start = _query_date(call, "startDate", date.today())
    end = _query_date(call, "endDate", start)
    if end < start or (end - start).days > 3 * 366:
        raise Refused(400, "endDate must be on or after startDate, within three years")
    flags = {k for k, v in call.query if k.startswith("include") and v.lower() in ("true", "1")}
    rooms = [
        r
        for p in state.properties_of(call.account.id)
        for r in p.rooms.values()
        if (not room_ids or r.id in room_ids)
        and (not property_ids or r.property_id in property_ids)
    ]
    data = []
    for room in rooms:
        days = [
            (
                start + timedelta(days=i),
                inventory.day_values(state, room, start + timedelta(days=i), flags),
            )
            for i in range((end - start).days + 1)
        ]
        calendar = inventory.compress(days) if flags else []
        data.append(
            {
                "roomId": room.id,
                "propertyId": room.property_id,
                "name": room.name,
                "calendar": calendar,
            }
        )
    return _paged(call, "calendar", data)


def post_calendar(call: Call) -> Answer:
    assert call.account is not None and call.items is not None
    results = [
        inventory.apply_calendar_item(call.sandbox.state, item, call.account.id)
        for item in call.items
    ]
    return Answer(201, results, cost=credits.write_cost(len(call.items)))


def get_availability(call: Call) -> Answer:
    assert call.account is not None
    state = call.sandbox.state
    room_ids = _int_list(call, "roomId")
    start = _query_date(call, "startDate", date.today())
    end = _query_date(call, "endDate", start)
    if end < start or (end - start).days > 3 * 366:
        raise Refused(400, "endDate must be on or after startDate, within three years")
    data = []
    for prop in state.properties_of(call.account.id):
        for room in prop.rooms.values():
            if room_ids and room.id not in room_ids:
                continue
            days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
            data.append(
                {
                    "roomId": room.id,
                    "propertyId": prop.id,
                    "name": room.name,
                    "availability": {
                        d.isoformat(): inventory.num_avail(state, room, d) > 0 for d in days
                    },
                }
            )
    return _paged(call, "availability", data)


# -- properties -----------------------------------------------------------------------------
def get_properties(call: Call) -> Answer:
    assert call.account is not None
    ids = _int_list(call, "id")
    with_rooms = _flag(call, "includeAllRooms")
    data = []
    for prop in call.sandbox.state.properties_of(call.account.id):
        if ids and prop.id not in ids:
            continue
        shown: dict[str, Any] = {
            "id": prop.id,
            "name": prop.name,
            "propertyType": "hotel",
            "currency": prop.currency,
        }
        if with_rooms:
            shown["roomTypes"] = [
                {"id": r.id, "name": r.name, "qty": r.qty, "units": list(r.units)}
                for r in prop.rooms.values()
            ]
        data.append(shown)
    return _paged(call, "property", data)


async def properties_rooms(_: Request) -> Response:
    # Pitfall seen live: this path answers a bare 500.
    return PlainTextResponse("Internal Server Error", status_code=500)


def _int_list(call: Call, key: str) -> set[int]:
    raw = [v for k, v in call.query if k == key]
    if any("," in v for v in raw):
        raise Refused(400, f"{key}: use repeated parameters, not a comma-separated list")
    try:
        return {int(v) for v in raw}
    except ValueError:
        raise Refused(400, f"{key}: expected whole numbers") from None


def _query_date(call: Call, key: str, default: date) -> date:
    raw = [v for k, v in call.query if k == key]
    if not raw:
        return default
    try:
        return date.fromisoformat(raw[-1])
    except ValueError:
        raise Refused(400, f"{key}: expected YYYY-MM-DD") from None


def api_routes(prefix: str) -> list[Route]:
    return [
        route("/authentication/setup", "GET", auth_setup, auth=False, prefix=prefix),
        route("/authentication/token", "GET", auth_token, auth=False, prefix=prefix),
        route("/authentication/token", "DELETE", auth_revoke, auth=False, prefix=prefix),
        route("/authentication/details", "GET", auth_details, auth=False, prefix=prefix),
        route("/bookings", "GET", get_bookings, prefix=prefix),
        route("/bookings", "POST", post_bookings, write=True, prefix=prefix),
        route("/bookings", "DELETE", delete_bookings, prefix=prefix),
        route("/inventory/rooms/calendar", "GET", get_calendar, prefix=prefix),
        route("/inventory/rooms/calendar", "POST", post_calendar, write=True, prefix=prefix),
        route("/inventory/rooms/availability", "GET", get_availability, prefix=prefix),
        Route(prefix + "/properties/rooms", properties_rooms, methods=["GET"]),
        route("/properties", "GET", get_properties, prefix=prefix),
    ]
