"""Authenticating Beds24: it cannot sign webhooks, so each property's webhook settings carry
a custom header `Authorization: Bearer <secret>`. We keep only SHA-256 digests of the
secrets; two may be active while a secret is rotated."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from channel_sync.bearer import bearer_token

# Longer than any secret we generate; bounds the hashing work per request.
_MAX_SECRET_CHARS = 512


def secret_matches(authorization: str | None, active_digests: Sequence[str]) -> bool:
    """Constant-time comparison against every active digest (no early exit)."""
    token = bearer_token(authorization, max_chars=_MAX_SECRET_CHARS)
    if token is None:
        return False
    digest = hashlib.sha256(token.encode()).hexdigest().encode()
    matched = False
    for stored in active_digests:
        matched |= hmac.compare_digest(digest, stored.strip().lower().encode())
    return matched
