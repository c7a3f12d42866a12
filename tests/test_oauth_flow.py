"""The OAuth2 authorization-code flow driven the way a browser and an app's backend drive it.

The browser is an httpx client (Starlette's TestClient) with a cookie jar; forms are filled from the HTML,
CSRF tokens parsed from the pages, and redirects are not followed automatically.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from starlette.testclient import TestClient

from localsection import clock, tokens
from localsection.app import create_app
from localsection.models import Account
from localsection.oauth2 import apps
from localsection.state import AppState
from localsection.web import throttle
from tests import postman
from tests.helpers import Api

REDIRECT = "https://app.example.com/oauth/callback"


def postman_example(request_name: str, example: str) -> dict[str, Any]:
    """The body of one example response of the official OAuth2 Postman collection."""
    return postman.example(request_name, example, collection=postman.OAUTH2)  # type: ignore[no-any-return]


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class Browser:
    """One person's browser on one account's host, plus the app backend's calls to the token endpoints."""

    def __init__(self, state: AppState, api: Api, scheme: str = "http") -> None:
        self.state, self.api = state, api
        self.http = TestClient(create_app(state=state), base_url=f"{scheme}://{api.host}", follow_redirects=False)

    def register(self, uris: list[str] | None = None, name: str = "Acme Sync") -> tuple[str, str]:
        """Register an app in this account; returns (client_id, client_secret)."""
        with self.state.db.session() as s:
            account = s.get(Account, self.api.account_id)
            assert account is not None
            created = apps.create(s, account, name, uris or [REDIRECT])
            return created.app.client_id, created.client_secret

    @staticmethod
    def query(client_id: str, redirect_uri: str = REDIRECT, scope: str = "tasks_read,users_read",
              state: str = "st-123", **extra: str) -> str:
        return urllib.parse.urlencode({"client_id": client_id, "redirect_uri": redirect_uri, "state": state,
                                       "scope": scope, "response_type": "code", **extra})

    def authorize(self, query: str) -> httpx.Response:
        return self.http.get("/oauth2/authorize?" + query)

    @staticmethod
    def csrf(page: httpx.Response) -> str:
        m = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert m, page.text
        return html.unescape(m.group(1))

    def sign_in(self, query: str, email: str | None = None, password: str = "owner-pass-1") -> httpx.Response:
        """Open the authorize URL, fill in the login form and submit it."""
        page = self.authorize(query)
        assert page.status_code == 200 and 'name="email"' in page.text, page.text
        next_value = html.unescape(re.search(r'name="next" value="([^"]*)"', page.text).group(1))  # type: ignore[union-attr]
        return self.http.post("/oauth2/login", data={"csrf_token": self.csrf(page), "next": next_value,
                                                     "email": email or self.api.owner_email, "password": password})

    def decide(self, query: str, decision: str = "approve") -> httpx.Response:
        """Open the consent page (already signed in) and press a button."""
        page = self.authorize(query)
        assert page.status_code == 200 and 'value="approve"' in page.text, page.text
        action = html.unescape(re.search(r'<form method="post" action="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
        return self.http.post(action, data={"csrf_token": self.csrf(page), "decision": decision})

    def code(self, client_id: str, email: str | None = None, password: str = "owner-pass-1", **extra: str) -> str:
        """Sign in (when needed) and approve; returns the code from the redirect."""
        query = self.query(client_id, **extra)
        if 'name="email"' in self.authorize(query).text:
            assert self.sign_in(query, email, password).status_code == 303
        resp = self.decide(query)
        assert resp.status_code == 302, resp.text
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(resp.headers["location"]).query)
        return params["code"][0]

    def token(self, client_id: str, secret: str, code: str, redirect_uri: str = REDIRECT,
              **extra: str) -> dict[str, Any]:
        """Exchange a code the way the Postman collection does: POST with everything in the query."""
        resp = self.http.post("/oauth2/token", params={"client_id": client_id, "client_secret": secret,
                                                        "redirect_uri": redirect_uri, "code": code,
                                                        "grant_type": "authorization_code", **extra})
        assert resp.status_code == 200
        return resp.json()  # type: ignore[no-any-return]

    def refresh(self, client_id: str, secret: str, refresh_token: str) -> dict[str, Any]:
        resp = self.http.get("/oauth2/refresh", params={"client_id": client_id, "client_secret": secret,
                                                        "grant_type": "refresh_token",
                                                        "refresh_token": refresh_token})
        return resp.json()  # type: ignore[no-any-return]

    def api_call(self, access_token: str, action: str, host: str | None = None, **params: Any) -> dict[str, Any]:
        resp = self.http.post(f"/api/oauth2?action={action}", json=params or None,
                              headers={"Authorization": f"Bearer {access_token}",
                                       **({"Host": host} if host else {})})
        return {"_http": resp.status_code, **resp.json()}

    def tokens(self, scope: str = "tasks_read,users_read") -> tuple[str, str, dict[str, Any]]:
        """Register an app and run the whole flow; returns (client_id, secret, token body)."""
        client_id, secret = self.register()
        body = self.token(client_id, secret, self.code(client_id, scope=scope))
        assert "access_token" in body, body
        return client_id, secret, body


@pytest.fixture
def browser(backend: AppState, api: Api) -> Browser:
    return Browser(backend, api)


def test_a_person_signs_in_approves_and_the_app_calls_the_api_with_the_tokens(browser: Browser, api: Api) -> None:
    client_id, secret = browser.register(name="Acme Sync")
    verifier, challenge = pkce_pair()
    query = browser.query(client_id, code_challenge=challenge, code_challenge_method="S256")
    login = browser.authorize(query)
    assert login.status_code == 200
    assert 'name="email"' in login.text and 'type="password"' in login.text and "Acme Sync" in login.text
    signed_in = browser.sign_in(query)
    assert signed_in.status_code == 303 and signed_in.headers["location"] == "/oauth2/authorize?" + query
    consent = browser.authorize(query)
    assert "Acme Sync" in consent.text and "tasks_read" in consent.text and "users_read" in consent.text
    assert "projects_write" not in consent.text
    approved = browser.decide(query)
    assert approved.status_code == 302
    location = urllib.parse.urlsplit(approved.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    params = urllib.parse.parse_qs(location.query)
    assert params["state"] == ["st-123"] and params["code"][0].startswith("def50200")
    body = browser.token(client_id, secret, params["code"][0], code_verifier=verifier)
    assert list(body) == list(postman_example("oauth2_token", "success"))
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400
    assert body["refresh_token"].startswith("def50200") and body["account_url"] == f"http://{api.host}"
    me = browser.api_call(body["access_token"], "me")
    assert me["_http"] == 200 and me["data"]["email"] == api.owner_email
    assert browser.api_call(body["access_token"], "get_users")["status"] == "ok"
    denied = browser.api_call(body["access_token"], "get_projects")
    assert (denied["status_code"], denied["message_details"]) == (20, "projects_read")


def test_the_access_token_is_an_rs256_jwt_with_the_claims_of_the_real_service(browser: Browser) -> None:
    client_id, _, body = browser.tokens(scope="users_read,tasks_read")
    sample = postman_example("oauth2_token", "success")["access_token"]
    header = jwt.get_unverified_header(body["access_token"])
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert header["alg"] == jwt.get_unverified_header(sample)["alg"] == "RS256"
    assert set(jwt.decode(sample, options={"verify_signature": False})) <= set(claims)
    assert claims["aud"] == client_id and re.fullmatch(r"[0-9a-f]{32}", client_id)
    assert claims["exp"] - claims["iat"] == 86400 and claims["nbf"] == claims["iat"]
    assert claims["scopes"] == ["tasks_read", "users_read"] and claims["sub"].isdigit()
    public = tokens.signing_key(browser.state.settings).public_key()
    jwt.decode(body["access_token"], public, algorithms=["RS256"], audience=client_id)


def test_denying_consent_sends_the_person_back_with_access_denied_and_the_state(browser: Browser) -> None:
    client_id, _ = browser.register()
    query = browser.query(client_id, state="keep me")
    browser.sign_in(query)
    resp = browser.decide(query, "deny")
    assert resp.status_code == 302
    params = urllib.parse.parse_qs(urllib.parse.urlsplit(resp.headers["location"]).query)
    assert params["error"] == ["access_denied"] and params["state"] == ["keep me"] and "code" not in params


def test_scopes_may_be_space_separated_and_unknown_names_are_dropped(browser: Browser) -> None:
    client_id, secret = browser.register()
    code = browser.code(client_id, scope="users_read  tasks_write bogus_scope,comments_read")
    body = browser.token(client_id, secret, code)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["scopes"] == ["tasks_write", "comments_read", "users_read"]


def test_a_redirect_uri_that_has_a_query_keeps_it_and_gets_code_and_state_appended(browser: Browser) -> None:
    uri = "http://localhost:8765/cb?tenant=7"
    client_id, _ = browser.register([uri])
    query = browser.query(client_id, redirect_uri=uri)
    browser.sign_in(query)
    location = browser.decide(query).headers["location"]
    assert location.startswith(uri + "&code=def50200") and location.endswith("&state=st-123")


def test_the_session_cookie_is_httponly_samesite_lax_and_secure_only_over_https(backend: AppState, api: Api) -> None:
    plain, tls = Browser(backend, api), Browser(backend, api, scheme="https")
    for browser, secure in ((plain, False), (tls, True)):
        client_id, _ = browser.register()
        cookie = browser.authorize(browser.query(client_id)).headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/oauth2" in cookie
        assert ("secure" in cookie.replace("samesite", "")) is secure


def test_a_form_without_its_csrf_token_changes_nothing(browser: Browser, api: Api) -> None:
    client_id, _ = browser.register()
    query = browser.query(client_id)
    page = browser.authorize(query)
    forged = browser.http.post("/oauth2/login", data={"csrf_token": "0" * 64, "next": query,
                                                      "email": api.owner_email, "password": "owner-pass-1"})
    assert forged.status_code == 400 and 'name="email"' in browser.authorize(query).text
    assert browser.sign_in(query).status_code == 303 and page.status_code == 200
    consent = browser.authorize(query)
    action = html.unescape(re.search(r'action="([^"]+)"', consent.text).group(1))  # type: ignore[union-attr]
    refused = browser.http.post(action, data={"csrf_token": "f" * 64, "decision": "approve"})
    assert refused.status_code == 400 and "location" not in refused.headers


def test_wrong_passwords_are_held_back_and_then_locked_out(browser: Browser, api: Api,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "BASE_DELAY", 0.0)
    client_id, _ = browser.register()
    query = browser.query(client_id)
    for _ in range(throttle.PER_ACCOUNT_EMAIL):
        wrong = browser.sign_in(query, password="not-the-password")
        assert wrong.status_code == 401 and "Wrong e-mail or password" in wrong.text
    locked = browser.sign_in(query)  # even the right password is refused while locked
    assert locked.status_code == 429 and "Too many failed sign-in attempts" in locked.text
    api.add_user("kate.greenway@example.com")
    with browser.state.db.session() as s:
        from localsection.accounts import set_password

        set_password(s, api.account, "kate.greenway@example.com", "kate-pass-1")
    assert browser.sign_in(query, "kate.greenway@example.com", "kate-pass-1").status_code == 303
    browser.http.cookies.clear()
    clock.shift(throttle.WINDOW + 1)
    try:
        assert browser.sign_in(query).status_code == 303
    finally:
        clock.shift(-(throttle.WINDOW + 1))


def test_one_address_guessing_many_e_mails_is_locked_out(browser: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "BASE_DELAY", 0.0)
    monkeypatch.setattr(throttle, "PER_IP", 4)  # the default (20) works the same way, only slower to reach
    client_id, _ = browser.register()
    query = browser.query(client_id)
    for i in range(throttle.PER_IP):
        assert browser.sign_in(query, f"guess{i}@example.com", "x").status_code == 401
    assert browser.sign_in(query).status_code == 429


def test_a_failed_sign_in_is_answered_slowly(browser: Browser, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setattr(throttle, "BASE_DELAY", 0.2)
    client_id, _ = browser.register()
    started = time.monotonic()
    assert browser.sign_in(browser.query(client_id), password="nope").status_code == 401
    assert time.monotonic() - started >= 0.2


def test_token_endpoints_take_get_post_form_and_http_basic(browser: Browser, api: Api) -> None:
    client_id, secret = browser.register()
    by_get = browser.http.get("/oauth2/token", params={"client_id": client_id, "client_secret": secret,
                                                       "grant_type": "authorization_code",
                                                       "code": browser.code(client_id), "redirect_uri": REDIRECT})
    assert by_get.json()["access_token"]
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    by_form = browser.http.post("/oauth2/refresh", data={"grant_type": "refresh_token",
                                                         "refresh_token": by_get.json()["refresh_token"]},
                                headers={"Authorization": f"Basic {basic}"})
    fresh = by_form.json()
    assert list(fresh) == ["token_type", "expires_in", "access_token", "refresh_token", "account_url"]
    by_header = browser.http.get("/oauth2/resource", headers={"Authorization": f"Bearer {fresh['access_token']}"})
    by_params = browser.http.post("/oauth2/resource", params={"client_id": client_id, "client_secret": secret,
                                                              "access_token": fresh["access_token"]})
    sample = postman_example("oauth2_resource", "success")
    for resp in (by_header, by_params):
        assert list(resp.json()) == list(sample)
        assert resp.json()["email"] == api.owner_email and resp.json()["id"] == str(api.owner_id)


def test_refreshing_rotates_both_tokens_and_the_old_pair_stops_working(browser: Browser) -> None:
    client_id, secret, first = browser.tokens()
    second = browser.refresh(client_id, secret, first["refresh_token"])
    assert second["access_token"] != first["access_token"] and second["refresh_token"] != first["refresh_token"]
    old = browser.api_call(first["access_token"], "me")
    assert old["_http"] == 401 and old["message"] == "Access token is revoked"
    assert browser.api_call(second["access_token"], "me")["status"] == "ok"
    third = browser.refresh(client_id, secret, second["refresh_token"])
    assert third["access_token"] and browser.api_call(third["access_token"], "me")["status"] == "ok"


def test_an_expired_access_token_gets_401_with_exactly_access_token_is_expired(browser: Browser) -> None:
    client_id, secret, body = browser.tokens()
    clock.shift(86400 + 1)
    try:
        expired = browser.api_call(body["access_token"], "me")
        resource = browser.http.get("/oauth2/resource", params={"access_token": body["access_token"]}).json()
        renewed = browser.refresh(client_id, secret, body["refresh_token"])
        after = browser.api_call(renewed["access_token"], "me")
        assert after["status"] == "ok", after
    finally:
        clock.shift(-(86400 + 1))
    assert expired["_http"] == 401
    assert (expired["message"], expired["errorDescription"]) == ("Access token is expired",) * 2
    assert resource == {"error": "not_authorized", "errorDescription": "Access token is expired",
                        "error_description": "Access token is expired"}


def test_provider_errors_have_the_postman_shape_plus_error_description(browser: Browser) -> None:
    client_id, _ = browser.register()
    wrong = browser.token(client_id, "not-the-secret", "whatever")
    sample = postman_example("oauth2_token", "invalid_client")
    assert wrong == {**sample, "error_description": sample["errorDescription"]}
    garbage = browser.http.post("/oauth2/resource", params={"access_token": "garbage"})
    assert garbage.status_code == 200
    assert garbage.json()["errorDescription"] == postman_example("oauth2_resource", "not_authorized")[
        "errorDescription"]


def test_oauth_responses_carry_no_cors_header(browser: Browser) -> None:
    client_id, secret, body = browser.tokens()
    responses = [
        browser.authorize(browser.query(client_id)),
        browser.http.get("/oauth2/token", params={"client_id": client_id}),
        browser.http.get("/oauth2/resource", params={"access_token": body["access_token"]}),
        browser.http.delete("/oauth2/token"),
        browser.http.get("/oauth2/refresh/", params={"client_id": client_id, "client_secret": secret}),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 405, 200]
    assert all("access-control-allow-origin" not in r.headers for r in responses)
    assert responses[3].json()["error"] == "invalid_request"


def test_the_pages_cannot_be_framed_or_cached(browser: Browser) -> None:
    client_id, _ = browser.register()
    page = browser.authorize(browser.query(client_id))
    assert page.headers["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in page.headers[
        "content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_app_names_are_escaped_on_the_pages(browser: Browser) -> None:
    client_id, _ = browser.register(name="<script>alert(1)</script>")
    page = browser.authorize(browser.query(client_id))
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;" in page.text


def test_a_configured_private_key_file_signs_the_tokens(backend: AppState, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "key.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    settings = backend.settings.with_(oauth_private_key_file=str(path), data_dir=tmp_path / "data")
    token, _ = tokens.issue_access_token(settings, user_id=1, account_id=1, client_id="c" * 32, scopes=[])
    assert jwt.decode(token, key.public_key(), algorithms=["RS256"], audience="c" * 32)["sub"] == "1"
    assert not (tmp_path / "data" / "oauth_signing_key.pem").exists()


def test_the_user_api_takes_the_token_as_an_access_token_parameter_too(browser: Browser, api: Api) -> None:
    _, _, body = browser.tokens()
    by_query = browser.http.get("/api/oauth2", params={"action": "me", "access_token": body["access_token"]})
    by_form = browser.http.post("/api/oauth2/", data={"action": "me", "access_token": body["access_token"]})
    assert [r.json()["data"]["email"] for r in (by_query, by_form)] == [api.owner_email] * 2
