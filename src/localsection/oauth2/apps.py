"""Registered OAuth2 apps: client ids, hashed client secrets and redirect URIs.

Client secrets are 256-bit random values, so they are stored as SHA-256 digests rather than argon2 hashes:
a slow password hash protects low-entropy human passwords against guessing, which a random 256-bit secret
does not need, and argon2 on every token request would hand unauthenticated callers a cheap way to burn CPU.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from localsection import clock
from localsection.models import Account, OAuthApp, OAuthRefreshToken, RevokedToken
from localsection.tokens import ACCESS_TOKEN_TTL, ALL_SCOPES

INTERNAL_APP_NAME = "localsection tokens (internal)"
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
# Access tokens live 24 h, so that bounds how long a revocation entry matters.
_ACCESS_LIFE = dt.timedelta(seconds=ACCESS_TOKEN_TTL)


class AppError(ValueError):
    """A registration problem reported to the CLI user."""


@dataclass(frozen=True)
class NewApp:
    app: OAuthApp
    client_secret: str  # shown once, never stored


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def secret_matches(app: OAuthApp | None, secret: str) -> bool:
    """Constant-time comparison; an unknown app still costs one comparison."""
    expected = app.secret_hash if app is not None else "0" * 64
    ok = hmac.compare_digest(expected, hash_secret(secret))
    return ok and app is not None


def check_redirect_uri(uri: str) -> str:
    """Return the URI if it may be registered: absolute, no fragment, https unless loopback."""
    parts = urllib.parse.urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.fragment:
        raise AppError(f"redirect URI must be an absolute http(s) URL without a fragment: {uri}")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        raise AppError(f"redirect URI must use https (http only for localhost/127.0.0.1): {uri}")
    return uri


def create(db: Session, account: Account, name: str, redirect_uris: list[str],
           scopes: Sequence[str] | None = None) -> NewApp:
    """Register an app; the client id is 32 hex characters like Worksection's. `scopes` limits what the app may
    ask for (None: every scope); an unknown name is refused."""
    if not name.strip():
        raise AppError("app name is required")
    uris = [check_redirect_uri(u.strip()) for u in redirect_uris]
    allowed = None
    if scopes is not None:
        unknown = [s for s in scopes if s not in ALL_SCOPES]
        if unknown or not scopes:
            raise AppError(f"unknown scopes: {', '.join(unknown)}" if unknown else "no scopes given")
        allowed = [s for s in ALL_SCOPES if s in scopes]
    secret = secrets.token_hex(32)
    app = OAuthApp(account_id=account.id, client_id=secrets.token_hex(16), secret_hash=hash_secret(secret),
                   name=name.strip(), redirect_uris=uris, created_at=clock.now(), scopes=allowed)
    db.add(app)
    db.flush()
    return NewApp(app, secret)


def allowed_scopes(app: OAuthApp, asked: Sequence[str]) -> list[str]:
    """The asked scopes this app may be granted (all of them when the app was registered without a limit)."""
    return [s for s in asked if app.scopes is None or s in app.scopes]


def by_client_id(db: Session, client_id: str) -> OAuthApp | None:
    if not client_id or len(client_id) > 64:
        return None
    return db.scalars(select(OAuthApp).where(OAuthApp.client_id == client_id)).first()


def list_apps(db: Session, account: Account) -> list[OAuthApp]:
    return list(db.scalars(select(OAuthApp).where(OAuthApp.account_id == account.id).order_by(OAuthApp.id)))


def delete(db: Session, account: Account, client_id: str) -> None:
    """Delete an app; its live access tokens are revoked first (refresh tokens and codes cascade)."""
    app = by_client_id(db, client_id)
    if app is None or app.account_id != account.id:
        raise AppError(f"no app {client_id} in account {account.name}")
    revoke_refresh_rows(db, [OAuthRefreshToken.app_id == app.id])
    db.delete(app)
    db.flush()


def internal_app(db: Session, account: Account) -> OAuthApp:
    """The account's app for `tokens issue` (no redirect URI, so it can never take part in the browser flow)."""
    found = db.scalars(select(OAuthApp).where(OAuthApp.account_id == account.id,
                                              OAuthApp.name == INTERNAL_APP_NAME)).first()
    return found if found is not None else create(db, account, INTERNAL_APP_NAME, []).app


def revoke_refresh_rows(db: Session, where: list[ColumnElement[bool]]) -> int:
    """Revoke the matching refresh tokens and the access tokens still live beside them; returns how many."""
    live = list(db.scalars(select(OAuthRefreshToken.access_jti)
                           .where(*where, OAuthRefreshToken.rotated_at.is_(None),
                                  OAuthRefreshToken.revoked.is_(False))))
    now = clock.now()
    jtis = {jti for jti in live if jti}
    if jtis:
        known = set(db.scalars(select(RevokedToken.jti).where(RevokedToken.jti.in_(jtis))))
        db.add_all([RevokedToken(jti=j, expires_at=now + _ACCESS_LIFE) for j in sorted(jtis - known)])
    db.execute(update(OAuthRefreshToken).where(*where).values(revoked=True))
    db.flush()
    return len(live)


def revoke_access(db: Session, jti: str) -> None:
    """Put one access token on the revocation list (idempotent)."""
    if jti and db.get(RevokedToken, jti) is None:
        db.add(RevokedToken(jti=jti, expires_at=clock.now() + _ACCESS_LIFE))
        db.flush()

