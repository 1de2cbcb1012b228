"""The access token: fetched from the refresh token, cached until shortly before it expires,
refreshed by one caller while concurrent callers wait for that same refresh."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

# Refresh this long before `expiresIn` runs out (capped at a tenth of the lifetime).
REFRESH_MARGIN_S = 300.0

Fetch = Callable[[], Awaitable[tuple[str, int]]]


class TokenCache:
    def __init__(self, fetch: Fetch, *, clock: Callable[[], float] = time.monotonic):
        self._fetch = fetch
        self._clock = clock
        self._lock = asyncio.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0

    def seed(self, token: str, expires_in: float) -> None:
        """Adopt a token obtained elsewhere (e.g. from the invite setup)."""
        self._store(token, expires_in)

    async def get(self) -> str:
        token = self._token
        if token is not None and self._clock() < self._refresh_at:
            return token
        return await self._refresh(stale=token)

    async def invalidate(self, stale: str) -> str:
        """`stale` was refused: fetch a new token unless another caller already did."""
        return await self._refresh(stale=stale)

    async def _refresh(self, *, stale: str | None) -> str:
        async with self._lock:
            current = self._token
            if current is not None and current != stale and self._clock() < self._refresh_at:
                return current
            token, expires_in = await self._fetch()
            self._store(token, expires_in)
            return token

    def _store(self, token: str, expires_in: float) -> None:
        margin = min(REFRESH_MARGIN_S, max(expires_in, 0) / 10)
        self._token = token
        self._refresh_at = self._clock() + max(expires_in, 0) - margin
