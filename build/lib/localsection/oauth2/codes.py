"""Authorization codes: stored hashed, single use, 10 minutes, bound to app + redirect URI + PKCE challenge."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from localsection import clock
from localsection.models import OAuthApp, OAuthCode, OAuthRefreshToken, User
from localsection.oauth2 import apps, problems
from localsection.oauth2.refresh import digest

CODE_TTL = dt.timedelta(minutes=10)
# RFC 7636 §4.1: 43-128 characters from the unreserved set (the challenge, base64url of 32 bytes, is 43).
PKCE_VALUE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def s256(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2)."""
    raw = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def issue(db: Session, app: OAuthApp, user: User, scopes: list[str], redirect_uri: str, challenge: str) -> str:
    """Store a new code (hashed) and return it."""
    raw = "def50200" + secrets.token_hex(64)
    db.add(OAuthCode(code_hash=digest(raw), app_id=app.id, user_id=user.id, scopes=list(scopes),
                     redirect_uri=redirect_uri, code_challenge=challenge, expires_at=clock.now() + CODE_TTL,
                     used_at=None))
    db.flush()
    return raw


def redeem(db: Session, app: OAuthApp, raw: str, redirect_uri: str, verifier: str) -> tuple[OAuthCode, User]:
    """Burn a code, then check it; raises OAuthError. Any redemption attempt uses the code up, also one that fails
    a check (wrong redirect URI, PKCE verifier, client): a code that leaked with a wrong guess cannot be tried
    again with the right one (RFC 9700 §2.1.1). A second use revokes every token the code produced.

    The caller commits even when this raises (the burn and any revocation must stay)."""
    if not raw:
        raise problems.missing("code")
    code = db.scalars(select(OAuthCode).where(OAuthCode.code_hash == digest(raw))).first()
    if code is None:
        raise problems.code_undecryptable()
    if not _burn(db, code.id):
        # Used before, or a concurrent request took it first: this is the second use.
        _revoke_issued(db, code)
        raise problems.code_revoked()
    if code.app_id != app.id:
        raise problems.code_other_client()
    if code.expires_at <= clock.now():
        raise problems.code_expired()
    if not hmac.compare_digest(redirect_uri.encode(), code.redirect_uri.encode()):
        raise problems.redirect_mismatch()
    _check_pkce(code.code_challenge, verifier)
    user = db.get(User, code.user_id)
    if user is None or not user.is_active or user.account_id != app.account_id:
        raise problems.code_revoked()
    return code, user


def burn(db: Session, raw: str) -> None:
    """Use a code up without redeeming it (a redemption attempt whose client failed to authenticate)."""
    if raw:
        _burn_where(db, OAuthCode.code_hash == digest(raw))


def _burn(db: Session, code_id: int) -> bool:
    """Mark the code used; False when it already was (one UPDATE, so two concurrent requests cannot both win)."""
    return _burn_where(db, OAuthCode.id == code_id)


def _burn_where(db: Session, cond: ColumnElement[bool]) -> bool:
    burnt = db.execute(update(OAuthCode).where(cond, OAuthCode.used_at.is_(None)).values(used_at=clock.now()))
    return getattr(burnt, "rowcount", 0) == 1


def _check_pkce(challenge: str, verifier: str) -> None:
    """Enforce PKCE when a challenge was sent; refuse a verifier nobody asked for (PKCE downgrade, RFC 9700)."""
    if not challenge:
        if verifier:
            raise problems.verifier_failed()
        return
    if not verifier:
        raise problems.missing("code_verifier")
    if not PKCE_VALUE.match(verifier) or not hmac.compare_digest(s256(verifier), challenge):
        raise problems.verifier_failed()


def _revoke_issued(db: Session, code: OAuthCode) -> None:
    """Revoke every token the code produced. The code row is locked first (PostgreSQL), so concurrent replays
    revoke one after the other and each sees what the previous one put on the revocation list (they raced to
    insert the same access token id: a unique violation, a 500)."""
    db.execute(select(OAuthCode.id).where(OAuthCode.id == code.id).with_for_update())
    apps.revoke_refresh_rows(db, [OAuthRefreshToken.code_id == code.id])
