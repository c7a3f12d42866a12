"""Password hashing (argon2id) and secret generation."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Constant-time check; a missing hash never matches."""
    if not stored:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def new_api_key() -> str:
    """32 lowercase hex characters, like Worksection's admin API keys."""
    return secrets.token_hex(16)


def new_password() -> str:
    return secrets.token_urlsafe(12)

