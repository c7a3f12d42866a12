"""The browser session of the OAuth2 pages: a signed cookie (HMAC-SHA256) plus CSRF tokens bound to it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace

import orjson
from starlette.responses import Response

from localsection import clock

COOKIE = "ls_oauth_session"
COOKIE_PATH = "/oauth2"
LOGIN_TTL = 12 * 3600  # a signed-in session lasts half a day
ANONYMOUS_TTL = 3600  # long enough to fill in the login form


@dataclass(frozen=True)
class WebSession:
    nonce: str  # random per session; CSRF tokens are derived from it
    account_id: int
    user_id: int | None
    issued: int

    def signed_in(self) -> bool:
        return self.user_id is not None


def new_session(account_id: int, user_id: int | None = None) -> WebSession:
    """A fresh session (a new nonce on every login, so a planted cookie never becomes signed in)."""
    return WebSession(secrets.token_urlsafe(24), account_id, user_id, int(clock.unix()))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(secret: bytes, session: WebSession) -> str:
    payload = _b64(orjson.dumps({"n": session.nonce, "a": session.account_id, "u": session.user_id,
                                 "t": session.issued}))
    sig = _b64(hmac.new(secret, payload.encode("ascii"), hashlib.sha256).digest())
    return f"{payload}.{sig}"


def decode(secret: bytes, value: str | None) -> WebSession | None:
    """The session in a cookie value, or None when it is missing, forged or too old."""
    if not value or len(value) > 1024 or value.count(".") != 1:
        return None
    payload, sig = value.split(".")
    expected = _b64(hmac.new(secret, payload.encode("ascii", "replace"), hashlib.sha256).digest())
    if not hmac.compare_digest(expected, sig):
        return None
    try:
        data = orjson.loads(_unb64(payload))
        session = WebSession(str(data["n"]), int(data["a"]), None if data["u"] is None else int(data["u"]),
                             int(data["t"]))
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError):
        return None
    ttl = LOGIN_TTL if session.signed_in() else ANONYMOUS_TTL
    age = clock.unix() - session.issued
    return session if -60 <= age < ttl else None  # a minute of clock skew between processes


def refreshed(session: WebSession) -> WebSession:
    """The same anonymous session with a new start time (the login form is being shown again)."""
    return replace(session, issued=int(clock.unix()))


def csrf_token(secret: bytes, session: WebSession) -> str:
    return hmac.new(secret, f"csrf:{session.nonce}".encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, session: WebSession | None, token: str) -> bool:
    """Constant-time check of a submitted CSRF token against the cookie's session."""
    if session is None or not token:
        return False
    return hmac.compare_digest(csrf_token(secret, session), token)


def set_cookie(response: Response, secret: bytes, session: WebSession, secure: bool, root: str = "") -> None:
    """HttpOnly, SameSite=Lax, Secure over https; scoped to /oauth2 only (`<root>/oauth2` under a root path, so
    each account reached by path, `/a/<account>`, keeps its own session)."""
    response.set_cookie(COOKIE, encode(secret, session), max_age=LOGIN_TTL, path=root + COOKIE_PATH, httponly=True,
                        samesite="lax", secure=secure)
