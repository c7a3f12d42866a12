"""One-time password reset links: the random token goes into the link, only its SHA-256 into password_resets.

A link works once, for RESET_TTL; using it sets the new password (domain.profile.set_password) and ends every
session of that user. Used by the "forgot password" page and by `localsection users reset-link`.
"""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from localsection import clock
from localsection.models import PasswordReset, User
from localsection.webapp import sessions

RESET_TTL = dt.timedelta(hours=1)
_TOKEN_MAX = 128


def find_user(db: Session, account_id: int, email: str) -> User | None:
    """The active user of this account with this e-mail, when they can sign in (have a password)."""
    email = email.strip().lower()
    if not email or len(email) > 254:
        return None
    user = db.scalars(select(User).where(User.account_id == account_id, User.email == email,
                                         User.is_active.is_(True))).first()
    return user if user is not None and user.password_hash else None


def issue(db: Session, user: User) -> str:
    """A new reset token for `user` (earlier unused links stay valid until they expire)."""
    purge_expired(db)
    token = secrets.token_urlsafe(32)
    now = clock.now()
    db.add(PasswordReset(account_id=user.account_id, user_id=user.id, token_hash=sessions.hash_token(token),
                         created_at=now, expires_at=now + RESET_TTL))
    db.flush()
    return token


def purge_expired(db: Session) -> None:
    """Delete reset links past their hour (run whenever a new one is made)."""
    db.execute(delete(PasswordReset).where(PasswordReset.expires_at <= clock.now()))


def valid(db: Session, account_id: int, token: str) -> PasswordReset | None:
    """The unused, unexpired reset of this token in this account, or None."""
    if not token or len(token) > _TOKEN_MAX:
        return None
    row = db.scalars(select(PasswordReset).where(PasswordReset.token_hash == sessions.hash_token(token),
                                                 PasswordReset.account_id == account_id)).first()
    if row is None or row.used_at is not None or row.expires_at <= clock.now():
        return None
    return row


def spend(db: Session, row: PasswordReset) -> bool:
    """Mark the reset used (once: a concurrent second use finds it spent); ends every session of its user."""
    done = db.execute(update(PasswordReset).where(PasswordReset.id == row.id, PasswordReset.used_at.is_(None))
                      .values(used_at=clock.now()))
    if not getattr(done, "rowcount", 0):
        return False
    user = db.get(User, row.user_id)
    if user is not None:
        sessions.revoke_all(db, user)
    return True
