"""Accounts by path: `/a/<account>/...` serves everything the host root serves, for that account (README,
"Accounts by path"). In-process; both databases."""

from __future__ import annotations

import hashlib
import html
import re
import urllib.parse
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from localsection.app import create_app
from localsection.models import Account
from localsection.oauth2 import apps
from tests.helpers import Api
from tests.test_transport import app_with

REDIRECT = "https://app.example.com/oauth/callback"


def path_call(api: Api, account: Api, action: str, path: str = "/api/admin/v2", host: str = "testserver",
              **params: Any) -> httpx.Response:
    """POST JSON to `/a/<account>` + path, signed with `account`'s key in the Admin header."""
    return api.client.post(f"/a/{account.account}{path}?action={action}", json=params or None,
                           headers={"Host": host, "Authorization": account.admin_header(action)})


def emails(body: dict[str, Any]) -> list[str]:
    assert body["status"] == "ok", body
    return [u["email"] for u in body["data"]]


@pytest.mark.parametrize("path", ["/api/admin/v2", "/api/admin/v2/", "/api/admin", "/api/admin/"])
def test_an_account_reached_by_path_answers_with_its_own_users(api: Api, other: Api, path: str) -> None:
    other.add_user("only-in-other@x.example.com")
    body = path_call(api, other, "get_users", path).json()
    assert sorted(emails(body)) == sorted([other.owner_email, "only-in-other@x.example.com"])
    assert api.owner_email not in emails(body)
    # The default account is what the bare host serves: the path did change the account.
    assert api.client.post(f"{path}?action=get_users", headers={"Authorization": other.admin_header("get_users")}
                           ).json() != body


def test_the_path_names_the_account_whose_key_must_sign(api: Api, other: Api) -> None:
    resp = api.client.post(f"/a/{other.account}/api/admin/v2?action=get_users",
                           headers={"Authorization": api.admin_header("get_users")})
    assert resp.status_code == 401 and resp.json()["message"] == "Admin token is invalid"  # api's key, other's path


def test_the_path_wins_over_another_accounts_host(api: Api, other: Api) -> None:
    body = path_call(api, other, "get_users", host=api.host).json()
    assert emails(body) == [other.owner_email]


def test_md5_signatures_work_under_the_prefix(api: Api, other: Api) -> None:
    query = "action=get_users"
    digest = hashlib.md5((query + other.api_key).encode()).hexdigest()
    body = api.client.get(f"/a/{other.account}/api/admin/v2?{query}&hash={digest}").json()
    assert emails(body) == [other.owner_email]
    wrong = hashlib.md5((query + api.api_key).encode()).hexdigest()
    assert api.client.get(f"/a/{other.account}/api/admin/v2?{query}&hash={wrong}").json()["status_code"] == 2


def test_avatar_links_keep_the_prefix_and_are_served_under_it(api: Api, other: Api) -> None:
    user = path_call(api, other, "get_users").json()["data"][0]
    assert user["avatar"] == f"http://testserver/a/{other.account}/avatars/{user['id']}.png"
    png = api.client.get(urllib.parse.urlsplit(user["avatar"]).path)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"


def test_a_public_url_is_followed_by_the_prefix(api: Api, other: Api) -> None:
    served = app_with(api, public_url="https://tracker.example.com")
    user = path_call(served, other, "get_users").json()["data"][0]
    assert user["avatar"] == f"https://tracker.example.com/a/{other.account}/avatars/{user['id']}.png"


def test_host_routing_is_unchanged(api: Api) -> None:
    user = api.ok("get_users")[0]
    assert user["avatar"] == f"http://{api.host}/avatars/{user['id']}.png"


@pytest.mark.parametrize("name", ["nobody", "no-such-account", "Bad_Name", "x" * 64])
def test_an_unknown_account_under_the_path_is_a_404_json(api: Api, name: str) -> None:
    resp = api.client.post(f"/a/{name}/api/admin/v2?action=get_users",
                           headers={"Host": api.host, "Authorization": api.admin_header("get_users")})
    assert resp.status_code == 404
    assert resp.json() == {"status": "error", "message": "Account not found"}


@pytest.mark.parametrize("path", ["/a//api/admin/v2", "/a/x/a/y/api/admin/v2", "/a/x", "/a/x/no/such/path"])
def test_paths_that_name_no_account_or_nothing_served_are_404_json(api: Api, path: str) -> None:
    resp = api.client.get(path)
    assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/json")


def test_bearer_tokens_work_under_their_accounts_path_only(api: Api, other: Api) -> None:
    token = other.token()
    resp = api.client.post(f"/a/{other.account}/api/oauth2?action=me",
                           headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 200 and resp.json()["data"]["email"] == other.owner_email
    elsewhere = api.client.post(f"/a/{api.account}/api/oauth2/?action=me",
                                headers={"Host": other.host, "Authorization": f"Bearer {token}"})
    assert elsewhere.status_code == 401


def test_download_links_are_served_under_the_prefix(api: Api, other: Api) -> None:
    resp = api.client.get(f"/a/{other.account}/download/123/",
                          headers={"Authorization": other.admin_header("download")})
    body = resp.json()
    assert resp.status_code == 200 and body["status"] == "error" and body["status_code"] != 2  # signed, reached


# -- OAuth2 under the prefix ---------------------------------------------------------------------------


def register(api: Api) -> tuple[str, str]:
    with api.state.db.session() as s:
        account = s.get(Account, api.account_id)
        assert account is not None
        created = apps.create(s, account, "Path app", [REDIRECT])
        return created.app.client_id, created.client_secret


def field(page: httpx.Response, name: str) -> str:
    m = re.search(rf'name="{name}" value="([^"]*)"', page.text)
    assert m, page.text
    return html.unescape(m.group(1))


def test_the_oauth_flow_runs_under_the_prefix(api: Api, other: Api) -> None:
    client_id, secret = register(other)
    root = f"/a/{other.account}"
    # The Host names another account: the path decides.
    browser = TestClient(create_app(state=api.state), base_url=f"http://{api.host}", follow_redirects=False)
    query = urllib.parse.urlencode({"client_id": client_id, "redirect_uri": REDIRECT, "state": "s1",
                                    "scope": "users_read", "response_type": "code"})
    login = browser.get(f"{root}/oauth2/authorize?{query}")
    assert login.status_code == 200 and f'action="{root}/oauth2/login"' in login.text
    assert f"Path={root}/oauth2" in login.headers["set-cookie"]
    signed_in = browser.post(f"{root}/oauth2/login", data={"csrf_token": field(login, "csrf_token"),
                                                           "next": field(login, "next"),
                                                           "email": other.owner_email, "password": "owner-pass-1"})
    assert signed_in.status_code == 303, signed_in.text
    assert signed_in.headers["location"] == f"{root}/oauth2/authorize?{query}"
    consent = browser.get(signed_in.headers["location"])
    action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', consent.text).group(1))  # type: ignore[union-attr]
    assert action == f"{root}/oauth2/authorize?{query}"
    approved = browser.post(action, data={"csrf_token": field(consent, "csrf_token"), "decision": "approve"})
    assert approved.status_code == 302 and approved.headers["location"].startswith(REDIRECT + "?")
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(approved.headers["location"]).query)["code"][0]

    token = browser.get(f"{root}/oauth2/token", params={"client_id": client_id, "client_secret": secret,
                                                       "redirect_uri": REDIRECT, "code": code,
                                                       "grant_type": "authorization_code"}).json()
    assert token["account_url"] == f"http://{api.host}{root}", token
    me = browser.get(f"{root}/oauth2/resource", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert me.json()["email"] == other.owner_email and me.json()["account_url"] == f"http://{api.host}{root}"
    call = browser.post(f"{root}/api/oauth2?action=get_users",
                        headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    assert emails(call) == [other.owner_email]
    renewed = browser.get(f"{root}/oauth2/refresh", params={"client_id": client_id, "client_secret": secret,
                                                           "refresh_token": token["refresh_token"]}).json()
    assert renewed["account_url"] == f"http://{api.host}{root}", renewed


def test_a_session_of_the_bare_host_does_not_sign_in_under_a_path(api: Api, other: Api) -> None:
    """The session cookie is scoped to `<root>/oauth2`: each account reached by path has its own."""
    client_id, _ = register(other)
    browser = TestClient(create_app(state=api.state), base_url=f"http://{other.host}", follow_redirects=False)
    query = urllib.parse.urlencode({"client_id": client_id, "redirect_uri": REDIRECT, "state": "s1",
                                    "scope": "users_read", "response_type": "code"})
    login = browser.get(f"/oauth2/authorize?{query}")
    assert "Path=/oauth2" in login.headers["set-cookie"]
    assert 'action="/oauth2/login"' in login.text  # host routing: unchanged links
    signed_in = browser.post("/oauth2/login", data={"csrf_token": field(login, "csrf_token"),
                                                    "next": field(login, "next"), "email": other.owner_email,
                                                    "password": "owner-pass-1"})
    assert signed_in.headers["location"] == f"/oauth2/authorize?{query}"
    assert 'value="approve"' in browser.get(signed_in.headers["location"]).text
    page = browser.get(f"/a/{other.account}/oauth2/authorize?{query}")
    assert 'name="email"' in page.text  # a sign-in page, not the consent page


def test_an_unknown_account_under_the_path_gets_the_html_error_page(api: Api) -> None:
    page = api.client.get("/a/nobody/oauth2/authorize?client_id=x")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Unknown account" in page.text
