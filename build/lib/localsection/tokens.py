"""RS256 access tokens (JWT) as the real service issues them, checked by signature, expiry and revocation."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.orm import Session

from localsection import clock
from localsection.config import Settings
from localsection.errors import HttpRefusal
from localsection.models import RevokedToken, User

ACCESS_TOKEN_TTL = 86400
ALL_SCOPES = (
    "projects_read", "projects_write", "tasks_read", "tasks_write", "costs_read", "costs_write",
    "tags_read", "tags_write", "comments_read", "comments_write", "files_read", "files_write",
    "users_read", "users_write", "contacts_read", "contacts_write", "administrative",
)

_lock = threading.Lock()
_keys: dict[Path, rsa.RSAPrivateKey] = {}
_derived: dict[tuple[int, str], bytes] = {}


def signing_key(settings: Settings) -> rsa.RSAPrivateKey:
    """The configured RSA key (LOCALSECTION_OAUTH_PRIVATE_KEY_FILE), else the data directory's, made on first use."""
    configured = bool(settings.oauth_private_key_file)
    path = Path(settings.oauth_private_key_file or settings.data_dir / "oauth_signing_key.pem").resolve()
    with _lock:
        if path in _keys:
            return _keys[path]
        if not configured and not path.exists():
            _publish_new_key(path)
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{path} does not hold an RSA private key")
        _keys[path] = key
        return key


def _publish_new_key(path: Path) -> None:
    """Write a new key next to `path` and link it into place: when processes race, the first one wins."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def derived_secret(settings: Settings, purpose: str) -> bytes:
    """A 32-byte secret for `purpose` (e.g. signing web sessions) derived from the signing key.

    Every process that shares the token key also shares these secrets, with no extra file to distribute.
    """
    key = signing_key(settings)
    memo = (id(key), purpose)
    if memo not in _derived:
        der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        _derived[memo] = hmac.new(hashlib.sha256(der).digest(), purpose.encode(), hashlib.sha256).digest()
    return _derived[memo]


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    account_id: int
    client_id: str
    scopes: frozenset[str]
    jti: str
    exp: int


def issue_access_token(settings: Settings, *, user_id: int, account_id: int, client_id: str,
                       scopes: list[str]) -> tuple[str, str]:
    """Return (jwt, jti) for a 24 h token with the claims of PROTOCOL.md §2.4."""
    now = int(clock.unix())
    jti = secrets.token_hex(40)
    claims = {
        "aud": client_id, "jti": jti, "iat": now, "nbf": now, "exp": now + ACCESS_TOKEN_TTL,
        "sub": str(user_id), "acc": str(account_id), "scopes": list(scopes),
    }
    token = jwt.encode(claims, signing_key(settings), algorithm="RS256")
    return token, jti


def verify_access_token(db: Session, settings: Settings, token: str) -> AccessClaims:
    """Decode and check a token; any failure is a 401 whose text the SDK understands."""
    key = signing_key(settings).public_key()
    try:
        # Time claims are checked below against the server clock (settable), not against PyJWT's time.time().
        claims = jwt.decode(token, key, algorithms=["RS256"], options={"verify_aud": False,
                            "verify_exp": False, "verify_nbf": False, "verify_iat": False})
    except jwt.PyJWTError:
        raise HttpRefusal(401, "Access token is invalid") from None
    try:
        exp = int(claims["exp"])
        user_id = int(claims["sub"])
        account_id = int(claims["acc"])
        scopes = frozenset(str(s) for s in claims.get("scopes", []))
        jti = str(claims["jti"])
    except (KeyError, TypeError, ValueError):
        raise HttpRefusal(401, "Access token is invalid") from None
    if clock.unix() >= exp:
        raise HttpRefusal(401, "Access token is expired")
    if db.get(RevokedToken, jti) is not None:
        raise HttpRefusal(401, "Access token is revoked")
    user = db.get(User, user_id)
    if user is None or not user.is_active or user.account_id != account_id:
        raise HttpRefusal(401, "Access token is revoked")
    return AccessClaims(user_id, account_id, str(claims.get("aud", "")), scopes, jti, exp)
