"""The one map from library errors to the two outages the services know: "database
unavailable" (Postgres) and "broker unavailable" (RabbitMQ), as httpx maps httpcore's errors
to its own.

Callers that only need to retry later catch the tuples (`DATABASE_UNAVAILABLE`,
`BROKER_UNAVAILABLE`); callers that must SAY which is down (an HTTP answer, a log line) ask
`outage_of`. An error class only one library defines names its side. An error any socket raises
(OSError, TimeoutError, a RuntimeError of a closing channel) is told by where it was raised:
a frame of asyncpg means the database, one of aio-pika, aiormq or pamqp the broker; from
anywhere else it is no outage of ours (a bug: a 500, not a 503).
"""

from __future__ import annotations

from typing import Literal

import aiormq
import asyncpg
from aio_pika.exceptions import AMQPError

Outage = Literal["database", "broker"]

# What asyncpg raises while Postgres is down, restarting or out of reach: a refused or
# dropped connection, a server shutting down or not yet accepting connections, a pooled
# connection that died under us, a server out of connections, memory or disk, or a bounded
# wait that ran out. Callers treat these as "retry later", never as a verdict on the data.
DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now
    asyncpg.InterfaceError,  # connection closed or released while in use
    asyncpg.InsufficientResourcesError,  # too many connections, disk full, out of memory
)

# What aio-pika and aiormq raise while the broker is unreachable or drops us.
BROKER_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    AMQPError,
    aiormq.exceptions.AMQPError,
    ConnectionError,
    RuntimeError,  # "channel closed" on a channel being restored
)

_DATABASE_ONLY = DATABASE_UNAVAILABLE[2:]
_BROKER_ONLY = (AMQPError, aiormq.exceptions.AMQPError)
_SOCKET = (OSError, TimeoutError, ConnectionError, RuntimeError)
_ORIGINS: dict[str, Outage] = {
    "asyncpg": "database",
    "aio_pika": "broker",
    "aiormq": "broker",
    "pamqp": "broker",
}


def outage_of(exc: BaseException) -> Outage | None:
    """Which outage `exc` means, or None when it is none of ours."""
    from channel_sync.amqp.publisher import PublishFailed  # a broker refusal we raise

    if isinstance(exc, _DATABASE_ONLY):
        return "database"
    if isinstance(exc, (*_BROKER_ONLY, PublishFailed)):
        return "broker"
    defined_by = _ORIGINS.get(type(exc).__module__.partition(".")[0])
    if defined_by is not None and isinstance(exc, (*DATABASE_UNAVAILABLE, *BROKER_UNAVAILABLE)):
        return defined_by  # e.g. aiormq's ChannelInvalidStateError, a RuntimeError
    if isinstance(exc, _SOCKET):
        return _raised_in(exc)
    return None


def _raised_in(exc: BaseException) -> Outage | None:
    """The library whose frame is innermost in the traceback, if it is one of ours."""
    found: Outage | None = None
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        side = _ORIGINS.get(module.partition(".")[0])
        if side is not None:
            found = side
        tb = tb.tb_next
    if found is None and exc.__cause__ is not None and exc.__cause__ is not exc:
        return _raised_in(exc.__cause__)
    return found
