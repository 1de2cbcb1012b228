"""An authenticated raw HTTP session on the sandbox API, to check its answers' exact shapes.

(No `__init__.py` here: several test folders are named `tests`, and a package of that name
would make their modules collide.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from beds24_sandbox.handle import ApiSession, SandboxHandle


@pytest.fixture
async def api(beds24_sandbox: SandboxHandle) -> AsyncIterator[ApiSession]:
    prop = await beds24_sandbox.seed(
        rooms=[{"name": "Double", "qty": 2}, {"name": "Single", "qty": 1}]
    )
    async with beds24_sandbox.api_session(prop) as session:
        yield session
