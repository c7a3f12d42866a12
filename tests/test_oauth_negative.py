"""The negative matrix (RFC 6749 / RFC 9700): every attack or misuse below must be refused.

Each case returns True when the server refused it; the test prints `oauth negative cases refused: N/N`.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable

import pytest
from sqlalchemy import delete

from localsection import clock
from localsection.models import Account, User
from localsection.oauth2 import apps
from tests.helpers import Api
from tests.test_oauth_flow import REDIRECT, Browser, pkce_pair


def _no_redirect_error_page(resp_status: int, headers: dict[str, str]) -> bool:
    return resp_status in (400, 404) and "location" not in headers


def _code_params(location: str) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)


class Cases:
    """The cases, sharing one account, its browser and a second account."""

    def __init__(self, browser: Browser, api: Api, other: Api) -> None:
        self.b, self.api, self.other = browser, api, other
        self.client_id, self.secret = browser.register()
        browser.sign_in(browser.query(self.client_id))

    # -- the authorize endpoint -------------------------------------------------------------------

    def _authorize_uri(self, uri: str) -> bool:
        resp = self.b.authorize(self.b.query(self.client_id, redirect_uri=uri))
        return _no_redirect_error_page(resp.status_code, dict(resp.headers))

    def redirect_uri_with_an_extra_path(self) -> bool:
        return self._authorize_uri(REDIRECT + "/evil")

    def redirect_uri_with_an_extra_query(self) -> bool:
        return self._authorize_uri(REDIRECT + "?next=https://evil.example")

    def redirect_uri_with_a_trailing_slash(self) -> bool:
        return self._authorize_uri(REDIRECT + "/")

    def redirect_uri_on_another_host(self) -> bool:
        return self._authorize_uri("https://evil.example/oauth/callback")

    def unknown_client_id(self) -> bool:
        resp = self.b.authorize(self.b.query("f" * 32))
        return _no_redirect_error_page(resp.status_code, dict(resp.headers))

    def another_accounts_app_on_this_host(self) -> bool:
        foreign = Browser(self.b.state, self.other)
        client_id, _ = foreign.register()
        resp = self.b.authorize(self.b.query(client_id))
        return _no_redirect_error_page(resp.status_code, dict(resp.headers))

    def plain_http_redirect_uri_registered(self) -> bool:
        try:
            self.b.register(["http://app.example.com/cb"])
        except apps.AppError:
            return True
        return False

    def pkce_plain_method(self) -> bool:
        resp = self.b.authorize(self.b.query(self.client_id, code_challenge="a" * 43,
                                             code_challenge_method="plain"))
        params = _code_params(resp.headers.get("location", ""))
        return resp.status_code == 302 and params.get("error") == ["invalid_request"] and "code" not in params

    def consent_without_csrf_token(self) -> bool:
        query = self.b.query(self.client_id)
        resp = self.b.http.post("/oauth2/authorize?" + query, data={"decision": "approve"})
        return resp.status_code == 400 and "location" not in resp.headers

    def user_of_another_account_signs_in_here(self) -> bool:
        fresh = Browser(self.b.state, self.api)
        resp = fresh.sign_in(fresh.query(self.client_id), self.other.owner_email, self.other.owner_password)
        return resp.status_code == 401

    # -- the code exchange ------------------------------------------------------------------------

    def _exchange(self, code: str, **extra: str) -> dict[str, str]:
        return self.b.token(self.client_id, self.secret, code, **extra)

    def code_redeemed_with_another_redirect_uri(self) -> bool:
        body = self._exchange(self.b.code(self.client_id), redirect_uri=REDIRECT + "/other")
        return body.get("error") == "invalid_grant" and "access_token" not in body

    def code_without_the_pkce_verifier(self) -> bool:
        _, challenge = pkce_pair()
        code = self.b.code(self.client_id, code_challenge=challenge, code_challenge_method="S256")
        return "code_verifier" in self._exchange(code).get("errorDescription", "")

    def code_with_a_wrong_pkce_verifier(self) -> bool:
        _, challenge = pkce_pair()
        code = self.b.code(self.client_id, code_challenge=challenge, code_challenge_method="S256")
        return self._exchange(code, code_verifier=pkce_pair()[0]).get("error") == "invalid_grant"

    def verifier_for_a_code_issued_without_a_challenge(self) -> bool:
        body = self._exchange(self.b.code(self.client_id), code_verifier=pkce_pair()[0])
        return body.get("error") == "invalid_grant"

    def code_used_twice_revokes_what_it_issued(self) -> bool:
        code = self.b.code(self.client_id)
        first = self._exchange(code)
        second = self._exchange(code)
        after = self.b.api_call(first["access_token"], "me")
        refreshed = self.b.refresh(self.client_id, self.secret, first["refresh_token"])
        return (second.get("errorDescription") == "Authorization code has been revoked" and after["_http"] == 401
                and "access_token" not in refreshed)

    def code_after_ten_minutes(self) -> bool:
        code = self.b.code(self.client_id)
        clock.shift(601)
        try:
            body = self._exchange(code)
        finally:
            clock.shift(-601)
        return body.get("errorDescription") == "Authorization code has expired"

    def code_of_another_client(self) -> bool:
        other_id, other_secret = self.b.register()
        code = self.b.code(self.client_id)
        return "access_token" not in self.b.token(other_id, other_secret, code)

    def wrong_client_secret(self) -> bool:
        body = self.b.token(self.client_id, "x" * 64, self.b.code(self.client_id))
        return body.get("error") == "invalid_client"

    def unknown_code(self) -> bool:
        return self._exchange("def50200" + "0" * 128).get("error") == "invalid_request"

    def unsupported_grant_type(self) -> bool:
        body = self.b.http.get("/oauth2/token", params={"client_id": self.client_id, "client_secret": self.secret,
                                                        "grant_type": "password"}).json()
        return body.get("error") == "unsupported_grant_type"

    # -- refresh and access tokens ----------------------------------------------------------------

    def _pair(self) -> dict[str, str]:
        return self._exchange(self.b.code(self.client_id))

    def refresh_token_used_twice_revokes_the_family(self) -> bool:
        first = self._pair()
        second = self.b.refresh(self.client_id, self.secret, first["refresh_token"])
        replay = self.b.refresh(self.client_id, self.secret, first["refresh_token"])
        newest_access = self.b.api_call(second["access_token"], "me")
        newest_refresh = self.b.refresh(self.client_id, self.secret, second["refresh_token"])
        return (replay.get("errorDescription") == "Token has been revoked" and newest_access["_http"] == 401
                and "access_token" not in newest_refresh)

    def refresh_token_of_another_client(self) -> bool:
        other_id, other_secret = self.b.register()
        return "access_token" not in self.b.refresh(other_id, other_secret, self._pair()["refresh_token"])

    def refresh_token_after_thirty_days(self) -> bool:
        pair = self._pair()
        clock.shift(30 * 86400 + 1)
        try:
            body = self.b.refresh(self.client_id, self.secret, pair["refresh_token"])
        finally:
            clock.shift(-(30 * 86400 + 1))
        return body.get("errorDescription") == "Token has expired"

    def garbage_refresh_token(self) -> bool:
        return self.b.refresh(self.client_id, self.secret, "def50200garbage").get(
            "errorDescription") == "Cannot decrypt the refresh token"

    def token_of_one_account_on_another_accounts_host(self) -> bool:
        resp = self.b.api_call(self._pair()["access_token"], "me", host=self.other.host)
        return resp["_http"] == 401

    def tampered_access_token(self) -> bool:
        token = self._pair()["access_token"]
        head, body, sig = token.split(".")
        return self.b.api_call(f"{head}.{body}.{sig[::-1]}", "me")["_http"] == 401

    def deactivated_users_tokens(self) -> bool:
        pair = self._user_pair("deactivated.user@example.com")
        with self.b.state.db.session() as s:
            user = s.get(User, pair["user_id"])
            assert user is not None
            user.is_active = False
        return (self.b.api_call(pair["access_token"], "me")["_http"] == 401
                and "access_token" not in self.b.refresh(self.client_id, self.secret, pair["refresh_token"]))

    def deleted_users_tokens(self) -> bool:
        pair = self._user_pair("deleted.user@example.com")
        with self.b.state.db.session() as s:
            s.execute(delete(User).where(User.id == int(pair["user_id"])))
        return (self.b.api_call(pair["access_token"], "me")["_http"] == 401
                and "access_token" not in self.b.refresh(self.client_id, self.secret, pair["refresh_token"]))

    def deleted_apps_tokens(self) -> bool:
        client_id, secret = self.b.register()
        pair = self.b.token(client_id, secret, self.b.code(client_id))
        with self.b.state.db.session() as s:
            account = s.get(Account, self.api.account_id)
            assert account is not None
            apps.delete(s, account, client_id)
        return (self.b.api_call(pair["access_token"], "me")["_http"] == 401
                and "access_token" not in self.b.refresh(client_id, secret, pair["refresh_token"]))

    def token_without_the_scope(self) -> bool:
        resp = self.b.api_call(self._pair()["access_token"], "get_projects")
        return resp.get("status_code") == 20

    def _user_pair(self, email: str) -> dict[str, str]:
        """Tokens for a fresh user of the account (signed in through a browser of its own)."""
        user = self.api.add_user(email)
        from localsection.accounts import set_password

        with self.b.state.db.session() as s:
            set_password(s, self.api.account, email, "user-pass-1")
        own = Browser(self.b.state, self.api)
        pair = own.token(self.client_id, self.secret, own.code(self.client_id, email, "user-pass-1"))
        return {**pair, "user_id": str(user["id"])}


CASES: list[Callable[[Cases], bool]] = [
    f for name, f in vars(Cases).items() if callable(f) and not name.startswith("_")
]


def test_every_negative_case_is_refused(backend, api: Api, other: Api, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    cases = Cases(Browser(backend, api), api, other)
    outcomes = {case.__name__: case(cases) for case in CASES}
    accepted = [name for name, refused in outcomes.items() if not refused]
    with capsys.disabled():
        print(f"\noauth negative cases refused: {len(outcomes) - len(accepted)}/{len(outcomes)}")
    assert len(outcomes) >= 25
    assert accepted == []
