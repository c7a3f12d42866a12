"""`POST /_localsection/tokens`: a real OAuth2 token pair for a user, through a new app of the account."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from localsection.app import create_app
from localsection.state import AppState
from tests.conftest import new_account_name
from tests.helpers import Api


@pytest.fixture(scope="module")
def ctl(backend: AppState) -> TestClient:
    return TestClient(create_app(state=AppState(backend.settings.with_(emulator=True), backend.db)),
                      base_url="http://testserver")


def user_call(c: TestClient, account: str, token: str, action: str) -> Any:
    resp = c.post(f"/a/{account}/api/oauth2?action={action}", headers={"Authorization": f"Bearer {token}"})
    return resp.status_code, resp.json()


def test_a_token_for_the_owner_by_default_reads_through_the_user_api_and_refreshes(ctl: TestClient, api: Api) -> None:
    resp = ctl.post("/_localsection/tokens", json={"account": api.account})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400
    assert body["account_url"] == f"http://testserver/a/{api.account}"
    assert body["email"] == api.owner_email and "administrative" in body["scopes"]
    status, me = user_call(ctl, api.account, body["access_token"], "me")
    assert status == 200 and me["data"]["email"] == api.owner_email, me
    renewed = ctl.post(f"/a/{api.account}/oauth2/refresh", data={
        "grant_type": "refresh_token", "client_id": body["client_id"], "client_secret": body["client_secret"],
        "refresh_token": body["refresh_token"]})
    assert renewed.status_code == 200, renewed.text
    assert renewed.json()["access_token"] != body["access_token"]
    status, _ = user_call(ctl, api.account, body["access_token"], "me")
    assert status == 401  # the old access token was revoked by the rotation


def test_a_token_for_another_user_carries_only_the_scopes_asked_for(ctl: TestClient, api: Api) -> None:
    api.add_user("kate@x.example.com")
    resp = ctl.post("/_localsection/tokens",
                    json={"account": api.account, "email": "Kate@X.example.com", "scopes": "projects_read"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert (body["email"], body["scopes"]) == ("kate@x.example.com", ["projects_read"])
    status, users = user_call(ctl, api.account, body["access_token"], "get_users")
    assert (users["status"], users["message_details"]) == ("error", "users_read"), users
    status, projects = user_call(ctl, api.account, body["access_token"], "get_projects")
    assert status == 200 and projects["status"] == "ok", projects


@pytest.mark.parametrize(("body", "status", "words"), [
    ({}, 400, "missing field: account"),
    ({"account": "nosuch-zz"}, 404, "no account named nosuch-zz"),
    ({"account": "{acc}", "email": "ghost@x.example.com"}, 404, "field email"),
    ({"account": "{acc}", "scopes": ["projects_read", "root"]}, 400, "unknown scope root"),
    ({"account": "{acc}", "scopes": []}, 400, "at least one scope"),
    ({"account": "{acc}", "scopes": 7}, 400, "field scopes"),
])
def test_bad_input_is_a_clear_error_and_issues_nothing(ctl: TestClient, api: Api, body: dict[str, Any],
                                                       status: int, words: str) -> None:
    body = {k: (api.account if v == "{acc}" else v) for k, v in body.items()}
    resp = ctl.post("/_localsection/tokens", json=body)
    assert resp.status_code == status, resp.text
    assert resp.json()["status"] == "error" and words in resp.json()["message"]


def test_the_endpoint_is_absent_without_the_emulator_switch(client: TestClient) -> None:
    resp = client.post("/_localsection/tokens", json={"account": new_account_name()})
    assert resp.status_code == 404
