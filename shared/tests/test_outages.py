"""The one map from library errors to outages: which server an error means, and the HTTP
answer both services give it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiormq
import asyncpg
import httpx
import pytest
from channel_sync.amqp.publisher import PublishFailed
from channel_sync.http_errors import HANDLERS
from channel_sync.outages import outage_of
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def raised_in(module: str, error: BaseException) -> Callable[[], Any]:
    """A function whose frame belongs to `module` (as a library's would), raising `error`."""
    scope: dict[str, Any] = {"__name__": module, "error": error}
    exec(compile("def fail():\n    raise error\n", f"<{module}>", "exec"), scope)
    fail: Callable[[], Any] = scope["fail"]
    return fail


def caught(fail: Callable[[], Any]) -> BaseException:
    try:
        fail()
    except BaseException as exc:
        return exc
    raise AssertionError("did not raise")


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (asyncpg.PostgresConnectionError("gone"), "database"),
        (asyncpg.InterfaceError("connection closed"), "database"),
        (aiormq.exceptions.ChannelInvalidStateError("closed"), "broker"),
        (PublishFailed("broker unavailable"), "broker"),
        (ValueError("a bug"), None),
    ],
)
def test_a_library_specific_error_names_its_side(error: Exception, outage: str | None) -> None:
    assert outage_of(error) == outage


@pytest.mark.parametrize(
    ("module", "outage"),
    [
        ("asyncpg.connect_utils", "database"),
        ("aiormq.connection", "broker"),
        ("aio_pika.robust_channel", "broker"),
        ("channel_sync.somewhere", None),
    ],
)
def test_a_socket_error_is_told_by_where_it_was_raised(module: str, outage: str | None) -> None:
    for error in (ConnectionRefusedError(111, "refused"), TimeoutError(), RuntimeError("closed")):
        assert outage_of(caught(raised_in(module, error))) == outage


async def test_a_time_bound_that_ran_out_on_a_library_call_names_that_library() -> None:
    async def slow() -> None:
        await asyncio.sleep(10)

    scope: dict[str, Any] = {"__name__": "aiormq.channel", "slow": slow}
    exec(compile("async def call():\n    await slow()\n", "<aiormq>", "exec"), scope)
    with pytest.raises(TimeoutError) as raised:
        async with asyncio.timeout(0.01):
            await scope["call"]()
    assert outage_of(raised.value) == "broker"


@pytest.mark.parametrize(
    ("module", "status", "reason"),
    [
        ("asyncpg.pool", 503, "database unavailable, retry later"),
        ("aiormq.connection", 503, "broker unavailable, retry later"),
        ("channel_sync.somewhere", 500, "internal error"),
    ],
)
async def test_both_http_services_answer_the_outage_by_name(
    module: str, status: int, reason: str
) -> None:
    async def route(_: Request) -> Response:
        raised_in(module, ConnectionResetError(104, "reset"))()
        return Response()

    app = Starlette(routes=[Route("/x", route)], exception_handlers=HANDLERS)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        answer = await http.get("/x")
    assert (answer.status_code, answer.json()) == (status, {"error": reason})
