"""`POST /_localsection/tokens`: an OAuth2 token pair for a user of an account, without the browser flow.

Body `{"account", "email"?, "scopes"?}` (email: the owner by default; scopes: a list or a comma-separated string,
every scope by default). Each call registers a new app of the account (no redirect URI, so it can never take part
in the browser flow) and answers the body of `/oauth2/token` plus that app's `client_id` and `client_secret`, so the
official SDK can refresh the token at the account's `/a/<account>/oauth2/refresh`. The pair is the same the token
endpoint mints (oauth2/refresh.issue_pair): a real RS256 access token, a rotating refresh token.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from localsection import tokens
from localsection.control.routes import BadRequest, _body, _handler, _string
from localsection.models import Account, User
from localsection.oauth2 import apps, refresh
from localsection.state import AppState

APP_NAME = "localsection emulator tokens"
_MAX_SCOPES = 64


def _scopes(body: dict[str, Any]) -> list[str]:
    raw = body.get("scopes")
    if raw is None:
        return list(tokens.ALL_SCOPES)
    if isinstance(raw, str):
        wanted = [s.strip() for s in raw.replace(" ", ",").split(",") if s.strip()]
    elif isinstance(raw, list) and len(raw) <= _MAX_SCOPES and all(isinstance(s, str) for s in raw):
        wanted = [s.strip() for s in raw if s.strip()]
    else:
        raise BadRequest("field scopes must be a list of scope names or a comma-separated string")
    unknown = [s for s in wanted if s not in tokens.ALL_SCOPES]
    if unknown:
        raise BadRequest(f"field scopes: unknown scope {unknown[0][:64]}; known: {', '.join(tokens.ALL_SCOPES)}")
    if not wanted:
        raise BadRequest("field scopes must name at least one scope")
    return [s for s in tokens.ALL_SCOPES if s in wanted]


def token_routes(state: AppState) -> list[BaseRoute]:
    """The route, relative to the mount point `/_localsection`."""

    async def issue(request: Request) -> Response:
        body = await _body(request)
        name = _string(body, "account")
        assert name is not None
        email = _string(body, "email", required=False)
        scopes = _scopes(body)
        origin = f"{request.url.scheme}://{request.url.netloc}"

        def run() -> dict[str, Any]:
            with state.db.session(write=True) as s:
                account = s.scalars(select(Account).where(Account.name == name.lower())).first()
                if account is None:
                    raise BadRequest(f"no account named {name}", 404)
                query = select(User).where(User.account_id == account.id, User.is_active.is_(True))
                if email is None:
                    user = s.scalars(query.where(User.id == account.owner_id)).first()
                else:
                    user = s.scalars(query.where(User.email == email.lower())).first()
                if user is None:
                    raise BadRequest(f"field email: no active user {email} in account {account.name}", 404)
                app = apps.create(s, account, APP_NAME, [])
                pair = refresh.issue_pair(s, state.settings, app.app, user, scopes,
                                          account_url=f"{origin}/a/{account.name}")
                return pair | {"client_id": app.app.client_id, "client_secret": app.client_secret,
                               "email": user.email, "scopes": scopes}

        return JSONResponse(await run_in_threadpool(run), 201)

    return [Route("/tokens", _handler(issue), methods=["POST"])]
