"""Operator secrets: made here, kept only as argon2 hashes, checked in constant time.

A secret reads `cs_<key_id>_<random>`. The key id is public (it is stored in clear and finds
the account's row); the random part is what the hash guards. Checking an argon2 hash costs
tens of milliseconds on purpose, so a secret checked once is remembered (in this process,
by a SHA-256 of secret and hash) for API callers that send it on every request: a revoked
account or a changed hash is still seen at once, because the row is read each time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections import OrderedDict
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

PREFIX = "cs_"
_SHAPE = re.compile(r"cs_([a-z0-9]{12})_([A-Za-z0-9_-]{43})")
_hasher = PasswordHasher()
# Checked against when no account has the key id, so that an unknown id costs the same.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(32))


@dataclass(frozen=True)
class NewSecret:
    key_id: str
    secret: str  # shown once, never stored
    secret_hash: str


def make_secret() -> NewSecret:
    key_id = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))
    secret = f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"
    return NewSecret(key_id, secret, _hasher.hash(secret))


def key_id_of(given: str) -> str | None:
    """The key id of something shaped like an operator secret; None otherwise."""
    match = _SHAPE.fullmatch(given)
    return match[1] if match else None


class SecretChecker:
    def __init__(self, remembered: int = 256) -> None:
        self._verified: OrderedDict[bytes, None] = OrderedDict()
        self._size = remembered

    def matches(self, given: str, secret_hash: str | None) -> bool:
        """Whether `given` is the secret of `secret_hash` (None: no such account; the work
        is done anyway)."""
        if secret_hash is None:
            _verify(_DUMMY_HASH, given)
            return False
        key = hashlib.sha256(f"{secret_hash}\0{given}".encode()).digest()
        if any(hmac.compare_digest(key, seen) for seen in self._verified):
            self._verified.move_to_end(key)
            return True
        if not _verify(secret_hash, given):
            return False
        self._verified[key] = None
        while len(self._verified) > self._size:
            self._verified.popitem(last=False)
        return True


def _verify(secret_hash: str, given: str) -> bool:
    try:
        return _hasher.verify(secret_hash, given)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
