"""Accounts by path over real HTTP: the official SDK takes `http://HOST:PORT/a/<account>` as its URL, for the
admin key and for the OAuth2 flow (authorize -> login -> consent -> code -> token -> calls)."""

from __future__ import annotations

import html
import json
import re
import secrets
import urllib.parse
from typing import Any

import httpx

from tests.compat.conftest import Server
from tests.compat.test_sdk_oauth import sdk_oauth_client


def second_account(server: Server) -> dict[str, Any]:
    name = "path" + secrets.token_hex(4)
    created: dict[str, Any] = json.loads(server.cli("accounts", "create", name, "--owner-email",
                                                    f"owner@{name}.example.com", "--owner-password",
                                                    "path-owner-pass-1", "--json"))
    return created


def test_the_sdk_works_on_an_account_reached_by_path(server: Server, sdk: Any) -> None:
    from worksection.client import Client

    created = second_account(server)
    name = created["account"]
    by_path = Client(f"{server.url}/a/{name}").set_api_key(created["api_key"])
    assert [m.email for m in by_path.members.list()] == [created["owner"]["email"]]

    title = "Path project " + secrets.token_hex(3)
    project = by_path.projects.create(title)
    task = by_path.tasks.create(int(project.id), "Path task")
    assert task.id in [t.id for t in by_path.tasks.list()]
    assert [p.name for p in by_path.projects.list()] == [title]

    # The default account (the bare origin) sees none of it, and its key does not sign under the path.
    assert title not in [p.name for p in sdk.projects.list()]
    assert task.id not in [t.id for t in sdk.tasks.list()]
    wrong = httpx.post(f"{server.url}/a/{name}/api/admin/v2?action=get_users",
                       headers={"Authorization": "Admin 1_x"})
    assert wrong.status_code == 401
    nobody = httpx.get(f"{server.url}/a/nobody{secrets.token_hex(3)}/api/admin/v2?action=get_users")
    assert nobody.status_code == 404 and nobody.json()["message"] == "Account not found"


def test_the_sdk_runs_the_oauth_flow_under_the_path(server: Server) -> None:
    created = second_account(server)
    name = created["account"]
    origin = f"{server.url}/a/{name}"
    client = sdk_oauth_client(server, name, origin, ["users_read", "projects_read"], name="Path SDK app")
    oauth = client.get_oauth()
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        login = browser.get(oauth.get_authorization_url("path-state"))
        assert login.status_code == 200 and 'name="email"' in login.text
        form_action = re.search(r'<form method="post" action="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
        assert form_action == f"/a/{name}/oauth2/login"
        fields = dict(re.findall(r'name="(csrf_token|next)" value="([^"]*)"', login.text))
        signed_in = browser.post(server.url + form_action,
                                 data={**{k: html.unescape(v) for k, v in fields.items()},
                                       "email": created["owner"]["email"], "password": "path-owner-pass-1"})
        assert signed_in.status_code == 303
        assert signed_in.headers["location"].startswith(f"/a/{name}/oauth2/authorize?")
        consent = browser.get(server.url + signed_in.headers["location"])
        assert "Path SDK app" in consent.text
        action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', consent.text).group(1))  # type: ignore[union-attr]
        csrf = html.unescape(re.search(r'name="csrf_token" value="([^"]+)"', consent.text).group(1))  # type: ignore[union-attr]
        approved = browser.post(server.url + action, data={"csrf_token": csrf, "decision": "approve"})
        assert approved.status_code == 302
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(approved.headers["location"]).query)["code"][0]

    token = oauth.fetch_access_token_by_auth_code(code)
    assert token["account_url"] == origin
    client.set_access_token(token)
    assert client.user.profile().email == created["owner"]["email"]
    assert [m.email for m in client.members.list()] == [created["owner"]["email"]]
