"""Token pairs: a 24 h RS256 access token plus an opaque 30-day refresh token, rotated on every use.

Every refresh token belongs to a family (one per authorization); a rotated or revoked token that comes back
means it leaked, so the whole family and its live access tokens are revoked (RFC 9700 §4.14).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from localsection import clock, tokens
from localsection.config import Settings
from localsection.models import OAuthApp, OAuthCode, OAuthRefreshToken, RevokedToken, User
from localsection.oauth2 import apps, problems

REFRESH_TTL = dt.timedelta(days=30)
# league/oauth2-server's encrypted payloads start with this version prefix; clients may rely on its look.
_PREFIX = "def50200"


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def token_body(access: str, refresh: str, account_url: str) -> dict[str, Any]:
    """The success body of /oauth2/token and /oauth2/refresh, keys in PMO order."""
    return {"token_type": "Bearer", "expires_in": tokens.ACCESS_TOKEN_TTL, "access_token": access,
            "refresh_token": refresh, "account_url": account_url}


def issue_pair(db: Session, settings: Settings, app: OAuthApp, user: User, scopes: list[str], *,
               account_url: str, code_id: int | None = None, family: str | None = None) -> dict[str, Any]:
    """Mint an access token and a refresh token (stored hashed) for `user` through `app`."""
    access, jti = tokens.issue_access_token(settings, user_id=user.id, account_id=user.account_id,
                                            client_id=app.client_id, scopes=scopes)
    raw = _PREFIX + secrets.token_hex(64)
    db.add(OAuthRefreshToken(token_hash=digest(raw), family=family or secrets.token_hex(16), code_id=code_id,
                             app_id=app.id, user_id=user.id, scopes=list(scopes), access_jti=jti,
                             expires_at=clock.now() + REFRESH_TTL, rotated_at=None, revoked=False))
    db.flush()
    return token_body(access, raw, account_url)


def rotate(db: Session, settings: Settings, app: OAuthApp, raw: str, *, account_url: str) -> dict[str, Any]:
    """Exchange a refresh token for a new pair; the old pair stops working. Raises OAuthError."""
    if not raw:
        raise problems.missing("refresh_token")
    row = db.scalars(select(OAuthRefreshToken).where(OAuthRefreshToken.token_hash == digest(raw))).first()
    if row is None:
        raise problems.refresh_undecryptable()
    if row.app_id != app.id:
        raise problems.refresh_other_client()
    if row.revoked or row.rotated_at is not None:
        apps.revoke_refresh_rows(db, [OAuthRefreshToken.family == row.family])
        raise problems.refresh_revoked()
    if row.expires_at <= clock.now():
        raise problems.refresh_expired()
    user = db.get(User, row.user_id)
    if user is None or not user.is_active or user.account_id != app.account_id:
        apps.revoke_refresh_rows(db, [OAuthRefreshToken.family == row.family])
        raise problems.refresh_revoked()
    claimed = db.execute(update(OAuthRefreshToken)
                         .where(OAuthRefreshToken.id == row.id, OAuthRefreshToken.rotated_at.is_(None),
                                OAuthRefreshToken.revoked.is_(False))
                         .values(rotated_at=clock.now()))
    if getattr(claimed, "rowcount", 0) != 1:
        # Another request rotated it a moment ago: the same token was presented twice.
        apps.revoke_refresh_rows(db, [OAuthRefreshToken.family == row.family])
        raise problems.refresh_revoked()
    apps.revoke_access(db, row.access_jti)
    return issue_pair(db, settings, app, user, [str(s) for s in row.scopes], account_url=account_url,
                      code_id=row.code_id, family=row.family)


def purge_expired(db: Session, now: dt.datetime) -> int:
    """Delete codes, refresh tokens and revocation entries that can no longer matter; returns rows removed.

    Codes are kept one day past their expiry so that a late replay still finds (and is refused by) them.
    """
    statements = (
        delete(OAuthCode).where(OAuthCode.expires_at < now - dt.timedelta(days=1)),
        delete(OAuthRefreshToken).where(OAuthRefreshToken.expires_at < now),
        delete(RevokedToken).where(RevokedToken.expires_at < now),
    )
    return sum(int(getattr(db.execute(stmt), "rowcount", 0)) for stmt in statements)
