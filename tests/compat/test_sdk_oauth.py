"""The official Python SDK's OAuth2 mode end to end against a real server process.

get_authorization_url -> login and consent pages (httpx as the browser) -> fetch_access_token_by_auth_code ->
calls -> the token expires (the server's test clock is moved) -> the SDK refreshes by itself -> the old
refresh token is refused, and presenting it revokes the whole family.
"""

from __future__ import annotations

import html
import json
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat.conftest import Server, running_server

REDIRECT = "http://localhost:9/oauth/callback"


@pytest.fixture(scope="module")
def clock_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server whose clock tests may move (LOCALSECTION_UNSAFE_TEST_CLOCK is off by default)."""
    with running_server(Path(tmp_path_factory.mktemp("oauth-sdk")), {"LOCALSECTION_UNSAFE_TEST_CLOCK": "1"}) as srv:
        yield srv


def browse_to_code(server: Server, authorization_url: str) -> str:
    """Do what a person does in the browser: sign in, approve, and hand back the code from the redirect."""
    with httpx.Client(base_url=server.url, follow_redirects=False, timeout=30) as browser:
        login = browser.get(authorization_url)
        assert login.status_code == 200 and 'name="email"' in login.text
        fields = dict(re.findall(r'name="(csrf_token|next)" value="([^"]*)"', login.text))
        signed_in = browser.post("/oauth2/login", data={**{k: html.unescape(v) for k, v in fields.items()},
                                                        "email": server.owner_email,
                                                        "password": server.owner_password})
        assert signed_in.status_code == 303
        consent = browser.get(signed_in.headers["location"])
        assert "SDK test app" in consent.text
        action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', consent.text).group(1))  # type: ignore[union-attr]
        csrf = html.unescape(re.search(r'name="csrf_token" value="([^"]+)"', consent.text).group(1))  # type: ignore[union-attr]
        approved = browser.post(action, data={"csrf_token": csrf, "decision": "approve"})
        assert approved.status_code == 302
        location = approved.headers["location"]
        assert location.startswith(REDIRECT + "?")
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        assert params["state"] == ["sdk-state-42"]
        return params["code"][0]


def sdk_oauth_client(server: Server, account: str, origin: str, scopes: list[str], name: str = "SDK test app") -> Any:
    """The official SDK set up for the OAuth flow of a new app of `account`, reached at `origin`."""
    from worksection.client import Client

    app = json.loads(server.cli("apps", "create", "--account", account, "--name", name, "--redirect-uri", REDIRECT,
                                "--json"))
    return Client(origin).set_client({
        "client_id": app["client_id"], "client_secret": app["client_secret"], "redirect_uri": REDIRECT,
        "scope": scopes, "auth_url": origin + "/oauth2/authorize", "token_url": origin + "/oauth2/token",
        "refresh_url": origin + "/oauth2/refresh",
    })


def test_the_official_sdk_runs_the_oauth_flow_and_refreshes_an_expired_token(clock_server: Server) -> None:
    from worksection.exceptions.response_exception import ResponseException
    from worksection.exceptions.unauthorized_exception import UnauthorizedException

    url = clock_server.url
    client = sdk_oauth_client(clock_server, "localsection", url, ["users_read", "projects_read", "tasks_read"])
    oauth = client.get_oauth()
    code = browse_to_code(clock_server, oauth.get_authorization_url("sdk-state-42"))
    token = oauth.fetch_access_token_by_auth_code(code)
    assert token["token_type"] == "Bearer" and token["account_url"] == url
    client.set_access_token(token)
    assert client.user.profile().email == clock_server.owner_email
    assert clock_server.owner_email in [u.email for u in client.members.list()]

    first_refresh = client.get_refresh_token()
    assert httpx.post(f"{url}/__test__/clock", params={"seconds": 86400 + 60}).status_code == 200
    try:
        assert client.user.profile().email == clock_server.owner_email  # 401 expired -> refreshed -> retried
        assert client.get_refresh_token() != first_refresh
        renewed_access = client.get_access_token()
        assert renewed_access != token["access_token"]

        with pytest.raises(ResponseException, match="Token has been revoked"):
            oauth.fetch_access_token_by_refresh_token(first_refresh)
        # Replaying a rotated token revokes its family: the renewed pair is dead too (RFC 9700).
        with pytest.raises(UnauthorizedException, match="Access token is revoked"):
            client.members.list()
    finally:
        httpx.post(f"{url}/__test__/clock", params={"seconds": -(86400 + 60)})


def test_the_test_clock_is_not_served_unless_switched_on(server: Server) -> None:
    assert httpx.post(f"{server.url}/__test__/clock", params={"seconds": 100000}).status_code == 404
