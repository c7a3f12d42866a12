"""Password hashing (argon2id) and secret generation."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def dummy_hash() -> str:
    """A hash of a random password nobody knows, made with the same parameters as real ones (once per process)."""
    return _hasher.hash(secrets.token_urlsafe(32))


def _check(stored: str, password: str) -> bool:
    """One argon2 verification: the slow, constant-cost step every sign-in goes through exactly once."""
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored`; a missing or unreadable hash never matches.

    It always costs one argon2 verification, also when there is no hash to check (an unknown e-mail, a member
    who never set a password): skipping it answered those sign-ins ~0.1 s sooner, which told an attacker which
    e-mails are members (issue 11, item 10).
    """
    if not stored or not stored.startswith("$argon2"):
        _check(dummy_hash(), password)
        return False
    return _check(stored, password)


def new_api_key() -> str:
    """32 lowercase hex characters, like Worksection's admin API keys."""
    return secrets.token_hex(16)


def new_password() -> str:
    return secrets.token_urlsafe(12)
