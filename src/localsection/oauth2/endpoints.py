"""`/oauth2/token`, `/oauth2/refresh` and `/oauth2/resource` (PROTOCOL.md §2.4): GET or POST, params in the
query, a form or JSON body, client credentials also as HTTP Basic; errors are HTTP 200 JSON bodies."""

from __future__ import annotations

import base64
import binascii
import urllib.parse
from typing import Any

import orjson
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from localsection import accounts, tokens
from localsection.api import paths
from localsection.api.endpoint import Incoming
from localsection.api.endpoint import read_params as read_request_params
from localsection.errors import HttpRefusal
from localsection.models import Account, OAuthApp, User
from localsection.oauth2 import apps, codes, problems, refresh
from localsection.oauth2.problems import OAuthError
from localsection.observe import record
from localsection.observe.record import current as observed
from localsection.state import AppState

# The real service's cache headers, without the API's Access-Control-Allow-Origin (browsers must not call these).
OAUTH_HEADERS = {
    "Cache-Control": "no-store, no-cache, must-revalidate",
    "Pragma": "no-cache",
    "Expires": "Thu, 19 Nov 1981 08:52:00 GMT",
    "X-Frame-Options": "SAMEORIGIN",
}


def oauth_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json; charset=utf-8",
                    headers={**OAUTH_HEADERS, **(headers or {})})


async def read_params(request: Request) -> dict[str, str]:
    """Query, then form, multipart or JSON body (later wins) — read as the API reads them — then HTTP Basic
    client credentials. Values are trimmed; list and object values are not OAuth parameters and are dropped."""
    incoming = Incoming.of(request.scope, request.receive)
    merged = await read_request_params(incoming, incoming.raw_query)
    params = {k: v for k, v in merged.values.items() if isinstance(v, str)}
    for part in merged.files:
        part.file.close()
    basic = _basic_credentials(request.headers.get("authorization", ""))
    if basic is not None:
        params["client_id"], params["client_secret"] = basic
    return {k: v.strip() for k, v in params.items()}


def _basic_credentials(header: str) -> tuple[str, str] | None:
    """RFC 6749 §2.3.1: Basic base64(urlencode(id) ":" urlencode(secret))."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)


def authenticate_client(db: Session, params: dict[str, str]) -> OAuthApp:
    app = apps.by_client_id(db, params.get("client_id", ""))
    if not apps.secret_matches(app, params.get("client_secret", "")) or app is None:
        raise problems.invalid_client()
    return app


def account_url(state: AppState, db: Session, account: Account, scheme: str, host: str,
                scope: Scope | None = None) -> str:
    """The account's public origin: PUBLIC_URL, this request's origin when it is the account's host,
    else `<scheme>://<account>.<domain>[:port]`. A request by path (`/a/<name>/oauth2/...`) gets this request's
    origin with the account's path, `/a/<account>` (api/paths.py)."""
    if scope is not None and paths.account_in(scope) is not None:
        return state.base_url(account.name, scheme, host, paths.root_for(scope, account.name))
    if state.settings.public_url:
        return state.base_url(account.name, scheme, host)
    name = accounts.account_name_from_host(host, state.settings)
    if name == account.name:
        return f"{scheme}://{host}"
    if name is None:
        default = accounts.default_account(db, state.settings)
        if default is not None and default.id == account.id:
            return f"{scheme}://{host}"
    port = host.rsplit(":", 1)[1] if ":" in host and not host.endswith("]") else ""
    return f"{scheme}://{account.name}.{state.settings.domain}" + (f":{port}" if port else "")


class TokenEndpoint:
    """Both grants on both paths: the grant type decides (a missing one is inferred from the path)."""

    def __init__(self, state: AppState, default_grant: str) -> None:
        self.state = state
        self.default_grant = default_grant

    async def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return oauth_json({"error": "invalid_request", "errorDescription": "Method not allowed",
                               "error_description": "Method not allowed"}, 405, {"Allow": "GET, POST"})
        params = await read_params(request)
        rec = observed()
        if rec is not None:
            rec.params = params  # client_secret, code, refresh_token, code_verifier: redacted when shown
            rec.scheme = record.CLIENT
        origin = (request.url.scheme, request.headers.get("host", ""))
        body = await run_in_threadpool(self.grant, params, *origin, request.scope)
        if rec is not None and "error" in body:
            rec.fail(body["error"])
        return oauth_json(body)

    def grant(self, params: dict[str, str], scheme: str, host: str, scope: Scope | None = None) -> dict[str, Any]:
        """One transaction; refusals still commit the revocations they trigger."""
        with self.state.db.session(write=True) as db:
            try:
                return self._grant(db, params, scheme, host, scope)
            except OAuthError as exc:
                return exc.body()

    def _grant(self, db: Session, params: dict[str, str], scheme: str, host: str,
               scope: Scope | None = None) -> dict[str, Any]:
        grant_type = params.get("grant_type") or self.default_grant
        if grant_type not in ("authorization_code", "refresh_token"):
            raise problems.unsupported_grant()
        try:
            app = authenticate_client(db, params)
        except OAuthError:
            if grant_type == "authorization_code":
                codes.burn(db, params.get("code", ""))  # any redemption attempt uses the code up (codes.redeem)
            raise
        account = db.get(Account, app.account_id)
        assert account is not None
        rec = observed()
        if rec is not None:
            rec.identify(record.CLIENT, caller=app.client_id, account=account.name)
        url = account_url(self.state, db, account, scheme, host, scope)
        if grant_type == "refresh_token":
            return refresh.rotate(db, self.state.settings, app, params.get("refresh_token", ""), account_url=url)
        code, user = codes.redeem(db, app, params.get("code", ""), params.get("redirect_uri", ""),
                                  params.get("code_verifier", ""))
        return refresh.issue_pair(db, self.state.settings, app, user, [str(s) for s in code.scopes],
                                  account_url=url, code_id=code.id)


class ResourceEndpoint:
    """The token owner's identity: `{"id", "first_name", "last_name", "email", "account_url"}`."""

    def __init__(self, state: AppState) -> None:
        self.state = state

    async def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return oauth_json({"error": "invalid_request", "errorDescription": "Method not allowed",
                               "error_description": "Method not allowed"}, 405, {"Allow": "GET, POST"})
        params = await read_params(request)
        scheme, _, bearer = request.headers.get("authorization", "").strip().partition(" ")
        token = bearer.strip() if scheme.lower() == "bearer" else params.get("access_token", "")
        rec = observed()
        if rec is not None:
            rec.params = params
            rec.scheme = record.BEARER
        body = await run_in_threadpool(self.resource, params, token, request.url.scheme,
                                       request.headers.get("host", ""), request.scope)
        if rec is not None and "error" in body:
            rec.fail(body["error"])
        return oauth_json(body)

    def resource(self, params: dict[str, str], token: str, scheme: str, host: str,
                 scope: Scope | None = None) -> dict[str, Any]:
        with self.state.db.session(write=False) as db:
            try:
                return self._resource(db, params, token, scheme, host, scope)
            except OAuthError as exc:
                return exc.body()

    def _resource(self, db: Session, params: dict[str, str], token: str, scheme: str, host: str,
                  scope: Scope | None = None) -> dict[str, Any]:
        # Bearer-only callers (the league provider) send no client credentials; PMO sends them.
        with_client = bool(params.get("client_id") or params.get("client_secret"))
        app = authenticate_client(db, params) if with_client else None
        if not token:
            raise problems.not_authorized("Access token is missing")
        if token.count(".") != 2:
            raise problems.not_authorized("Malformed UTF-8 characters")
        try:
            claims = tokens.verify_access_token(db, self.state.settings, token)
        except HttpRefusal as exc:
            raise problems.not_authorized(exc.message) from None
        if app is not None and claims.client_id != app.client_id:
            raise problems.not_authorized("Access token is invalid")
        user = db.get(User, claims.user_id)
        account = db.get(Account, claims.account_id)
        assert user is not None and account is not None
        rec = observed()
        if rec is not None:
            rec.identify(record.BEARER, caller=user.email, account=account.name)
        return {"id": str(user.id), "first_name": user.first_name, "last_name": user.last_name,
                "email": user.email, "account_url": account_url(self.state, db, account, scheme, host, scope)}
