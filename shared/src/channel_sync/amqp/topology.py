"""RabbitMQ topology, declared idempotently by every service at start.

    pms.events (topic) ──beds24.#──▶ beds24.inbound ──dead-letter──▶ pms.events.dlx ──▶ beds24.dlq
                       ──pms.#─────▶ pms.outbound  ──dead-letter──▶ pms.events.dlx ──▶ pms.dlq

Delayed retry uses one queue per delay (`<queue>.retry.<ms>ms`) with a message TTL whose
dead-letter target is the work queue itself: plain queue arguments that RabbitMQ 3.10, 3.13
and 4.x all support, no plugin. A queue per delay keeps every message in a queue the same age
apart, so none waits behind a longer-lived one. All queues are quorum queues so the broker can
be a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass

from aio_pika import ExchangeType
from aio_pika.abc import AbstractChannel

EXCHANGE = "pms.events"
DEAD_LETTER_EXCHANGE = "pms.events.dlx"
# A message redelivered this often (consumers crashing on it) is dead-lettered.
DELIVERY_LIMIT = 20


@dataclass(frozen=True)
class WorkQueue:
    name: str
    binding: str
    dlq: str

    def retry_queue(self, delay_ms: int) -> str:
        return f"{self.name}.retry.{delay_ms}ms"


INBOUND = WorkQueue(name="beds24.inbound", binding="beds24.#", dlq="beds24.dlq")
OUTBOUND = WorkQueue(name="pms.outbound", binding="pms.#", dlq="pms.dlq")
WORK_QUEUES = (INBOUND, OUTBOUND)

_QUORUM = {"x-queue-type": "quorum"}

# Uncounted waits shorter than any retry delay (a busy lock, a stay's first room not made
# yet, PMS changes still on their way) wait about what they ask, not the first retry delay.
SHORT_WAITS_MS = (1_000, 5_000)


def delay_tiers_ms(retry_delays_ms: list[int]) -> list[int]:
    """Every delay a retry queue exists for: the configured retry delays and the short waits
    shorter than all of them."""
    shortest = min(retry_delays_ms)
    return sorted(set(retry_delays_ms) | {s for s in SHORT_WAITS_MS if s < shortest})


async def declare_topology(channel: AbstractChannel, retry_delays_ms: list[int]) -> None:
    exchange = await channel.declare_exchange(EXCHANGE, ExchangeType.TOPIC, durable=True)
    dlx = await channel.declare_exchange(DEAD_LETTER_EXCHANGE, ExchangeType.DIRECT, durable=True)
    for work in WORK_QUEUES:
        dlq = await channel.declare_queue(work.dlq, durable=True, arguments=dict(_QUORUM))
        await dlq.bind(dlx, routing_key=work.dlq)
        queue = await channel.declare_queue(
            work.name,
            durable=True,
            arguments={
                **_QUORUM,
                "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
                "x-dead-letter-routing-key": work.dlq,
                "x-delivery-limit": DELIVERY_LIMIT,
            },
        )
        await queue.bind(exchange, routing_key=work.binding)
        for delay_ms in delay_tiers_ms(retry_delays_ms):
            await channel.declare_queue(
                work.retry_queue(delay_ms),
                durable=True,
                arguments={
                    **_QUORUM,
                    "x-message-ttl": delay_ms,
                    "x-dead-letter-exchange": "",
                    "x-dead-letter-routing-key": work.name,
                    # Expired messages move on only once the work queue has them.
                    "x-dead-letter-strategy": "at-least-once",
                    "x-overflow": "reject-publish",
                },
            )
