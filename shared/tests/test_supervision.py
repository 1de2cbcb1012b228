"""Supervised loops: a failing round never ends the loop, pauses grow and are bounded,
liveness notices a loop that stopped turning, and a worker whose loop ends exits non-zero."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from channel_sync.amqp.publisher import PublishFailed
from channel_sync.supervision import MAX_BACKOFF_S, LoopHealth, backoff_s, supervise
from channel_sync_testing.waiting import wait_for


async def test_a_loop_outlives_every_kind_of_failing_round() -> None:
    failures: list[BaseException] = [
        OSError("connection refused"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.InterfaceError("connection has been released back to the pool"),
        PublishFailed("broker unavailable"),
        ValueError("a bug"),
    ]
    rounds: list[int] = []

    async def round_() -> None:
        rounds.append(len(rounds))
        if failures:
            raise failures.pop(0)

    health = LoopHealth()
    stop = asyncio.Event()
    task = asyncio.create_task(
        supervise("probe", round_, stop, health, every_s=0.01, first_backoff_s=0.01)
    )
    await wait_for(lambda: _ok(health, "probe"), timeout=20, what="a successful round")
    assert len(rounds) >= 6 and not task.done()
    stop.set()
    await asyncio.wait_for(task, 5)


async def test_a_hung_round_is_cut_by_its_time_bound() -> None:
    calls = 0

    async def round_() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.Event().wait()  # never returns

    health = LoopHealth()
    stop = asyncio.Event()
    task = asyncio.create_task(
        supervise("hung", round_, stop, health, every_s=0.01, round_timeout_s=0.2)
    )
    await wait_for(lambda: _ok(health, "hung"), timeout=10, what="the round after the hung one")
    stop.set()
    await asyncio.wait_for(task, 5)


def test_pauses_grow_from_half_a_second_and_are_bounded() -> None:
    assert backoff_s(2.0, 0) == 2.0
    assert [backoff_s(2.0, n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff_s(2.0, 50) == MAX_BACKOFF_S


def test_liveness_names_a_loop_that_stopped_turning() -> None:
    now = [1000.0]
    health = LoopHealth(clock=lambda: now[0])
    health.register("relay", every_s=2, round_timeout_s=60)
    health.beat("relay", ok=True)
    now[0] += 60 + 4 + MAX_BACKOFF_S - 1
    assert health.stuck() == []
    now[0] += 2
    assert health.stuck() == ["relay"]
    health.beat("relay", ok=False)
    assert health.stuck() == [] and not health.working("relay")


async def test_a_worker_whose_loop_ends_stops_with_an_error(
    settings_env: dict[str, str],
) -> None:
    from channel_sync.amqp.consumer import EventConsumer
    from channel_sync.amqp.topology import OUTBOUND
    from channel_sync.settings import CommonSettings
    from channel_sync.worker import LoopEnded, open_infra, run_until_stopped

    async def broken_loop(stop: asyncio.Event, health: LoopHealth) -> None:
        raise RuntimeError("a loop that gave up")

    async def handler(_: object) -> None:
        return None

    settings = CommonSettings()
    async with open_infra(settings, client_name="tests") as infra:
        consumer = EventConsumer(
            channel=None,
            work_queue=OUTBOUND,
            pool=infra.pool,
            publisher=infra.link,
            handler=handler,
            retry_delays_ms=[200],
        )
        with pytest.raises(LoopEnded):
            await asyncio.wait_for(
                run_until_stopped(
                    asyncio.Event(), infra, consumer, {"broken": broken_loop}, health_at=None
                ),
                30,
            )


async def _ok(health: LoopHealth, name: str) -> bool:
    return health.working(name)
