"""The chaos run's faults, and the recovery after each: the seconds until a probe booking
made once the fault is over has gone each way."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg
from channel_sync.db import DATABASE_ERRORS
from channel_sync_testing.private_infra import PrivatePostgres, PrivateRabbitMQ

from channel_sync_tools.chaos.load import ChaosHotel, GuestSide, PmsSide, with_connection
from channel_sync_tools.output import say
from channel_sync_tools.stack import Stack, StackFailed, wait_until

PROBE_TIMEOUT_S = 120.0


@dataclass
class Faults:
    stack: Stack
    postgres: PrivatePostgres
    rabbitmq: PrivateRabbitMQ
    hotels: list[ChaosHotel]
    guests: GuestSide
    pms: PmsSide
    dsn: str
    recovery: list[tuple[str, float | None]] = field(default_factory=list)

    async def kill(self, name: str) -> None:
        await self.stack.kill(name)
        await self.stack.start(name)
        await self._recovered(f"SIGKILL {name}", ready=name)

    async def restart_rabbitmq(self) -> None:
        await asyncio.to_thread(self.rabbitmq.stop)
        await asyncio.sleep(5)  # sleep-ok: the outage itself lasts this long
        await asyncio.to_thread(self.rabbitmq.start)
        await self._recovered("RabbitMQ stop/start")

    async def restart_postgres(self) -> None:
        await asyncio.to_thread(self.postgres.stop, "fast")
        await asyncio.sleep(4)  # sleep-ok: the outage itself lasts this long
        await asyncio.to_thread(self.postgres.start)
        await self._recovered("Postgres restart")

    async def _recovered(self, fault: str, ready: str | None = None) -> None:
        """Seconds from the fault's end until a probe booking made then has gone each way
        (and the restarted service answers ready)."""
        started = time.monotonic()
        rng = random.Random(len(self.recovery))
        hotel = self.hotels[0]
        arrived: dict[str, float] = {}
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                if ready is not None:
                    await self.stack.wait_ready(ready, timeout=PROBE_TIMEOUT_S, quiet=True)
                booking = None
                while booking is None:
                    booking = await self.guests.book(hotel, rng, delay_s=0)
                    await asyncio.sleep(0)  # sleep-ok: let the load run while no stay fits
                hotel.probes.add(booking)
                reservation = None
                while reservation is None:
                    reservation = await self.pms.book(hotel, rng)
                    await asyncio.sleep(0)  # sleep-ok: let the load run while no stay fits
                hotel.probes.add(reservation)

                async def both() -> bool:
                    for direction, done in (await self._arrived(booking, reservation)).items():
                        if done:
                            arrived.setdefault(direction, time.monotonic() - started)
                    return len(arrived) == 2

                await wait_until("probe", both, PROBE_TIMEOUT_S, quiet=True)
            took: float | None = time.monotonic() - started
        except (TimeoutError, StackFailed):
            took = None
        self.recovery.append((fault, took))
        each = ", ".join(f"{d} {t:.1f} s" for d, t in sorted(arrived.items())) or "neither"
        shown = f"{took:.1f} s" if took is not None else f"not within {PROBE_TIMEOUT_S:.0f} s"
        say(f"    {fault}: both directions flow again after {shown} ({each})")

    async def _arrived(self, booking: int, reservation: UUID) -> dict[str, bool]:
        async def look(conn: asyncpg.Connection) -> dict[str, bool]:
            inbound = await conn.fetchval(
                "SELECT count(*) FROM reservations WHERE beds24_booking_id = $1", booking
            )
            outbound = await conn.fetchval(
                "SELECT beds24_booking_id IS NOT NULL FROM reservations WHERE id = $1",
                reservation,
            )
            return {"inbound": bool(inbound), "outbound": bool(outbound)}

        try:
            return await with_connection(self.dsn, look)
        except DATABASE_ERRORS:
            return {}
