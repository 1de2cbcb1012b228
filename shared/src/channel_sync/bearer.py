"""`Authorization: Bearer <token>`, read in one place (the gateway's webhook secrets, the
admin-api's token)."""

from __future__ import annotations


def bearer_token(authorization: str | None, *, max_chars: int | None = None) -> str | None:
    """The token of a Bearer header; None if there is none, it is not a bearer token, or it
    is longer than `max_chars`."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    if max_chars is not None and len(token) > max_chars:
        return None
    return token
