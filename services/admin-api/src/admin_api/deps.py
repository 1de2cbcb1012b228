"""What the route handlers use, built once by the app's lifespan (the composition root)."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from channel_sync.amqp.link import BrokerLink
from starlette.requests import Request

from admin_api.auth import Authenticator
from admin_api.beds24_access import Beds24Access
from admin_api.onboarding import Onboarding
from admin_api.queries.events import EventAdmin
from admin_api.requeue import Requeuer
from admin_api.settings import AdminSettings


@dataclass(frozen=True)
class Deps:
    settings: AdminSettings
    pool: asyncpg.Pool
    amqp: BrokerLink
    events: EventAdmin
    requeuer: Requeuer
    beds24: Beds24Access
    onboarding: Onboarding
    authenticator: Authenticator


def deps(request: Request) -> Deps:
    found: Deps = request.state.deps
    return found
