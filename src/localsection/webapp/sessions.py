"""Server-side sessions of the web app, and their CSRF tokens.

The cookie `ls_session` holds a random token; the database stores only its SHA-256 (web_sessions), so a copy of
the database signs nobody in. A session ends after IDLE_TIMEOUT without requests or LIFETIME after sign-in,
whichever comes first, or when it is revoked (its row deleted). Signing in always creates a new token.

CSRF: a signed-in form carries HMAC(secret, session token hash); the sign-in and password forms, shown before
any session exists, carry HMAC(secret, nonce) where the nonce is the anonymous cookie `ls_csrf`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from localsection import clock
from localsection.models import User, WebSession

COOKIE = "ls_session"
ANON_COOKIE = "ls_csrf"
IDLE_TIMEOUT = dt.timedelta(days=7)
LIFETIME = dt.timedelta(days=30)
TOUCH_EVERY = dt.timedelta(minutes=5)  # last_seen is written at most this often (not on every request)
_TOKEN_MAX = 128  # longer cookie values are not ours: refused before hashing


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Current:
    """The session a request carries, with its user (loaded in the request's transaction)."""

    row: WebSession
    user: User


def start(db: Session, user: User, user_agent: str, address: str) -> str:
    """Create a session for `user`; returns the cookie token (shown once, stored hashed)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    db.add(WebSession(account_id=user.account_id, user_id=user.id, token_hash=hash_token(token), created_at=now,
                      last_seen_at=now, expires_at=now + LIFETIME, user_agent=user_agent[:255],
                      client_address=address[:64]))
    db.flush()
    return token


def lookup(db: Session, account_id: int, tokens: list[str], *, touch: bool = False) -> Current | None:
    """The live session of one of the cookie `tokens` in this account, with its active user; None otherwise.

    `touch` (a write transaction) refreshes last_seen when it is older than TOUCH_EVERY."""
    hashes = [hash_token(t) for t in tokens if 0 < len(t) <= _TOKEN_MAX][:4]
    if not hashes:
        return None
    now = clock.now()
    row = db.scalars(select(WebSession).where(WebSession.token_hash.in_(hashes),
                                              WebSession.account_id == account_id)).first()
    if row is None or row.expires_at <= now or row.last_seen_at + IDLE_TIMEOUT <= now:
        return None
    user = db.get(User, row.user_id)
    if user is None or user.account_id != account_id or not user.is_active:
        return None
    if touch and now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
        db.flush()
    return Current(row, user)


def list_for(db: Session, user: User) -> list[WebSession]:
    """The user's live sessions, most recently used first."""
    now = clock.now()
    rows = db.scalars(select(WebSession).where(WebSession.user_id == user.id,
                                               WebSession.account_id == user.account_id,
                                               WebSession.expires_at > now)
                      .order_by(WebSession.last_seen_at.desc(), WebSession.id.desc())).all()
    return [r for r in rows if r.last_seen_at + IDLE_TIMEOUT > now]


def revoke(db: Session, user: User, session_id: int) -> bool:
    """End one of the user's own sessions; False when it is not theirs (or gone)."""
    done = db.execute(delete(WebSession).where(WebSession.id == session_id, WebSession.user_id == user.id,
                                               WebSession.account_id == user.account_id))
    return bool(getattr(done, "rowcount", 0))


def revoke_others(db: Session, user: User, keep_id: int) -> None:
    """End every session of the user but `keep_id` (after a password change)."""
    db.execute(delete(WebSession).where(WebSession.user_id == user.id, WebSession.account_id == user.account_id,
                                        WebSession.id != keep_id))


def revoke_all(db: Session, user: User) -> None:
    """End every session of the user (sign out everywhere, password reset)."""
    db.execute(delete(WebSession).where(WebSession.user_id == user.id, WebSession.account_id == user.account_id))


def end(db: Session, tokens: list[str]) -> None:
    """Delete the sessions of these cookie tokens (sign out, or the old session on sign-in)."""
    hashes = [hash_token(t) for t in tokens if 0 < len(t) <= _TOKEN_MAX][:4]
    if hashes:
        db.execute(delete(WebSession).where(WebSession.token_hash.in_(hashes)))


def purge_expired(db: Session) -> int:
    """Delete sessions past their lifetime or idle timeout (run at every sign-in); returns how many."""
    now = clock.now()
    done = db.execute(delete(WebSession).where(or_(WebSession.expires_at <= now,
                                                   WebSession.last_seen_at <= now - IDLE_TIMEOUT)))
    return int(getattr(done, "rowcount", 0) or 0)


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chromium/", "Chromium"),
             ("HeadlessChrome/", "Chrome"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Windows", "Windows"),
            ("Mac OS X", "macOS"), ("Linux", "Linux"))


def describe_agent(user_agent: str) -> str:
    """A short, readable name for a User-Agent ("Firefox on Linux"); the raw text when nothing matches."""
    browser = next((name for key, name in _BROWSERS if key in user_agent), "")
    system = next((name for key, name in _SYSTEMS if key in user_agent), "")
    if browser and system:
        return f"{browser} · {system}"
    return browser or system or user_agent[:60]


def csrf_for(secret: bytes, binding: str) -> str:
    """The CSRF token of a session (binding: its token hash) or of an anonymous form (binding: the nonce)."""
    return hmac.new(secret, f"csrf:{binding}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, binding: str | None, submitted: str) -> bool:
    """Constant-time check of a submitted CSRF token."""
    if not binding or not submitted or len(submitted) > 128:
        return False
    return hmac.compare_digest(csrf_for(secret, binding), submitted)
