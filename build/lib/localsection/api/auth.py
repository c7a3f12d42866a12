"""Who is calling: the caller of an account (admin key signatures or a bearer token). The account itself is
resolved by `localsection.accounts`."""

from __future__ import annotations

import enum
import hashlib
import hmac
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass

from localsection import clock, errors
from localsection.api.params import Params
from localsection.config import Settings
from localsection.errors import HttpRefusal
from localsection.formats import is_digits
from localsection.models import Account, User


@dataclass(frozen=True)
class Caller:
    """The authenticated identity of one request."""

    account: Account
    user: User
    via_admin_key: bool
    scopes: frozenset[str] | None  # None for the admin key (no scope limits)


# -- admin key: MD5 hash parameter (§2.1) --------------------------------------------------------

def _php_urlencode(pairs: list[tuple[str, str]], space_plus: bool) -> str:
    """PHP http_build_query: urlencode (RFC 1738, `~` encoded too) or rawurlencode (RFC 3986)."""
    if space_plus:
        def quote(s: str) -> str:
            return urllib.parse.quote_plus(s, safe="").replace("~", "%7E")
    else:
        def quote(s: str) -> str:
            return urllib.parse.quote(s, safe="")
    return "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)


class Signed(enum.Enum):
    """What a matching md5 candidate covers (PROTOCOL.md §2.1, "The signature must cover what is executed")."""

    QUERY = "query"  # C1/C2: the query string only
    QUERY_AND_BODY = "query and body"  # C3-C5: every text parameter
    LEGACY = "page + action"  # C6: only page and action, whatever the other parameters say


def md5_candidates(params: Params, action: str, legacy: bool = True) -> Iterator[tuple[str, Signed]]:
    """The strings C1..C6 that known clients sign (the key is appended before hashing), most common first,
    each with what it covers.

    Query-only strings are offered only when the body carries no parameter: a body parameter must be signed.
    C6 names the action that is dispatched (the query's, §1.3), never one the body brings. A generator: the
    PHP-style encodings are only built when the cheaper forms did not match.
    """
    seen: set[str] = set()

    def once(candidate: str, signed: Signed) -> Iterator[tuple[str, Signed]]:
        if candidate not in seen:
            seen.add(candidate)
            yield candidate, signed

    query = [(k, v) for k, v in params.query_pairs if k != "hash"]
    if not params.body_params:
        raw = "&".join(s for s in params.raw_query.split("&") if s and s.split("=", 1)[0] != "hash")
        yield from once(raw, Signed.QUERY)
        # Postman hashes raw values but sends a literal `+` as is (PM add_contact `phone=+1 345...`),
        # so also try the query with %-escapes decoded and `+` left alone.
        yield from once(urllib.parse.unquote(raw, errors="replace"), Signed.QUERY)
        yield from once("&".join(f"{k}={v}" for k, v in query), Signed.QUERY)
    if params.body_json is None:  # JSON bodies have no pair form: only the header or C6 can sign them
        both = query + [(k, v) for k, v in params.body_pairs if k != "hash"]
        yield from once("&".join(f"{k}={v}" for k, v in both), Signed.QUERY_AND_BODY)
        yield from once(_php_urlencode(both, space_plus=True), Signed.QUERY_AND_BODY)
        yield from once(_php_urlencode(both, space_plus=False), Signed.QUERY_AND_BODY)
    if legacy:
        yield from once((params.text("page") or "") + action, Signed.LEGACY)


def verify_md5(params: Params, api_key: str, action: str, legacy: bool = True) -> Signed | None:
    """What the `hash` parameter signs: the first candidate whose md5(candidate + key) it equals, or None.

    Each comparison is constant-time. Stops at the first match: which string a client signs is no secret, and
    a wrong hash is compared with every candidate.
    """
    given = (params.text("hash") or "").strip().lower().encode("ascii", "replace")
    if not given:
        return None
    for candidate, signed in md5_candidates(params, action, legacy):
        digest = hashlib.md5((candidate + api_key).encode("utf-8")).hexdigest().encode()
        if hmac.compare_digest(digest, given):
            return signed
    return None


def covers(params: Params, signed: Signed, name: str) -> bool:
    """Whether a signature of kind `signed` covers the parameter `name`."""
    if signed is Signed.LEGACY:
        return name in ("page", "action")
    in_body = signed is Signed.QUERY_AND_BODY and params.body_value(name) is not None
    return params.query_value(name) is not None or in_body


# -- admin key: "Authorization: Admin <t>_<hmac>" (§2.2) ---------------------------------------

def verify_admin_header(value: str, action: str, api_key: str, window: int) -> None:
    """Raise 401 unless the header is `<unix time>_<hex HMAC-SHA256(key, "<action>:<t>")>` within the window."""
    token = value.strip()
    t, sep, sig = token.partition("_")
    if not sep or not is_digits(t) or len(t) > 12:
        raise HttpRefusal(401, "Admin token is invalid")
    expected = hmac.new(api_key.encode(), f"{action}:{t}".encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig.strip().lower().encode("ascii", "replace").decode()):
        raise HttpRefusal(401, "Admin token is invalid")
    if abs(clock.real_unix() - int(t)) > window:  # real time: the client signs with its own clock
        raise HttpRefusal(401, "Admin token is outdated")


def authenticate_admin(account: Account, owner: User | None, params: Params, authorization: str,
                       action: str, settings: Settings) -> Caller:
    """Check the admin key by header (decides when present) or by the md5 `hash` parameter.

    `owner` is the account's owner as resolve_account_and_owner loaded it with the account.
    """
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme.lower() == "admin":
        verify_admin_header(rest, action, account.api_key, settings.admin_token_window)
    else:
        signed = verify_md5(params, account.api_key, action, settings.legacy_md5)
        if signed is None or not (signed is Signed.LEGACY or all(covers(params, signed, n) for n in params.must_sign)):
            raise errors.hash_invalid()
    if owner is None:
        raise HttpRefusal(401, "Account has no owner")
    return Caller(account=account, user=owner, via_admin_key=True, scopes=None)


# -- user path: bearer token (§2.3) --------------------------------------------------------------

def bearer_token(authorization: str, params: Params) -> str | None:
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme.lower() == "bearer" and rest.strip():
        return rest.strip()
    return params.text("access_token")
