"""The pipeline every Beds24 API call goes through: faults, token, credits, handler, credit
headers, call log. Handlers are synchronous and run under the state lock, so a check of
credits, the work and the charge happen as one step. Also the query helpers handlers share."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from beds24_sandbox import booking_search, credits
from beds24_sandbox.faults import Fault
from beds24_sandbox.responses import DroppedResponse, error, listing
from beds24_sandbox.state import Account
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
        headers = credit_headers(sandbox, account, Decimal(0))
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
    response: Response = (
        Response(status_code=answer.status, headers=answer.headers)
        if answer.body is None  # an answer the official file gives no content
        else JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)
    )
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
        return Answer(401, error_body(401, "Token is missing, invalid or expired"))
    estimate = credits.write_cost(len(call.items)) if call.items is not None else credits.READ_BASE
    if call.account is not None and not call.account.pool.can_afford(estimate):
        call.account.pool.refuse()
        headers = credit_headers(call.sandbox, call.account, Decimal(0))
        return Answer(
            429, error_body(429, "Credit limit exceeded (five minute limit)"), headers=headers
        )
    try:
        answer = handler(call)
    except (Refused, booking_search.BadRequest) as exc:
        status = exc.status if isinstance(exc, Refused) else 400
        cost = Decimal(0) if status == 429 else credits.READ_BASE  # refusals are free
        answer = Answer(status, error_body(status, str(exc)), cost=cost)
    if call.account is not None:
        call.account.pool.charge(answer.cost)
        answer.headers.update(credit_headers(call.sandbox, call.account, answer.cost))
    return answer


def credit_headers(sandbox: Sandbox, account: Account | None, cost: Decimal) -> dict[str, str]:
    if account is None:
        return {}
    return account.pool.headers(cost, sandbox.state.config.credit_headers)


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"success": False, "type": "error", "code": status, "error": message}


def paged(call: Call, kind: str, records: list[Any]) -> Answer:
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


def flag(call: Call, name: str) -> bool:
    return any(k == name and v.lower() in ("true", "1") for k, v in call.query)


def int_list(call: Call, key: str) -> set[int]:
    raw = [v for k, v in call.query if k == key]
    if any("," in v for v in raw):
        raise Refused(400, f"{key}: use repeated parameters, not a comma-separated list")
    try:
        return {int(v) for v in raw}
    except ValueError:
        raise Refused(400, f"{key}: expected whole numbers") from None


def query_date(call: Call, key: str, default: date) -> date:
    raw = [v for k, v in call.query if k == key]
    if not raw:
        return default
    try:
        return date.fromisoformat(raw[-1])
    except ValueError:
        raise Refused(400, f"{key}: expected YYYY-MM-DD") from None
