"""The sign-in form of `/oauth2/authorize` driven like a browser, from any client address, for the attack tests."""

from __future__ import annotations

import html
import re
import urllib.parse

import httpx
from starlette.testclient import TestClient
from starlette.types import ASGIApp

from localsection.app import create_app
from localsection.models import Account
from localsection.oauth2 import apps
from localsection.state import AppState
from tests.helpers import Api

REDIRECT = "https://app.example.com/oauth/callback"


def register_app(state: AppState, api: Api) -> str:
    """Register an OAuth2 app in the account; returns the authorize query string that opens the sign-in form."""
    with state.db.session() as s:
        account = s.get(Account, api.account_id)
        assert account is not None
        client_id = apps.create(s, account, "Acme Sync", [REDIRECT]).app.client_id
    return urllib.parse.urlencode({"client_id": client_id, "redirect_uri": REDIRECT, "state": "s",
                                   "scope": "tasks_read", "response_type": "code"})


class SignInForm:
    """One browser (cookie jar) at one client address, with the form's CSRF token already read."""

    def __init__(self, app: ASGIApp, api: Api, query: str, peer: str = "203.0.113.7",
                 headers: dict[str, str] | None = None) -> None:
        self.http = TestClient(app, base_url=f"http://{api.host}", follow_redirects=False, client=(peer, 50000),
                               headers=headers)
        page = self.http.get("/oauth2/authorize?" + query)
        assert page.status_code == 200 and 'name="email"' in page.text, page.text
        self.csrf = html.unescape(re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
        self.next = html.unescape(re.search(r'name="next" value="([^"]*)"', page.text).group(1))  # type: ignore[union-attr]

    def submit(self, email: str, password: str) -> httpx.Response:
        """POST the form: 303 signed in, 401 wrong e-mail or password, 429 locked."""
        return self.http.post("/oauth2/login", data={"csrf_token": self.csrf, "next": self.next, "email": email,
                                                     "password": password})


def app_for(state: AppState, **settings: object) -> ASGIApp:
    """A fresh app (with its own throttle) on the test database, with some settings changed."""
    return create_app(state=AppState(state.settings.with_(**settings), state.db))
