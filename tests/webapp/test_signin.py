"""Sign in and out, sessions (server-side, revocable, surviving a restart), CSRF, throttle, open redirects."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from localsection import clock
from localsection.app import create_app
from localsection.models import User, WebSession
from localsection.state import AppState
from localsection.web import throttle
from localsection.webapp import sessions
from tests.helpers import Api
from tests.webapp.helpers import PASSWORD, WebClient, add_user, csrf_in, text_of, web_client


@pytest.fixture
def restore_clock() -> Iterator[None]:
    yield
    clock.reset()


def test_the_start_page_sends_visitors_to_sign_in_and_members_to_projects(web: WebClient) -> None:
    assert web.get("/").headers["location"] == "/login"
    web.sign_in()
    assert web.get("/").headers["location"] == "/projects"


def test_signing_in_sets_an_httponly_lax_cookie_whose_token_is_stored_only_hashed(web: WebClient) -> None:
    resp = web.sign_in()
    assert resp.headers["location"] == "/projects"
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith(f"{sessions.COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Path=/;" in cookie and "Secure" not in cookie  # plain http in the test
    token = web.cookie(sessions.COOKIE)
    assert token
    with web.api.state.db.session(write=False) as s:
        rows = s.scalars(select(WebSession).where(WebSession.account_id == web.api.account_id)).all()
        assert [r.token_hash for r in rows] == [sessions.hash_token(token)]
        assert token not in {r.token_hash for r in rows}
    me = web.get("/me")
    assert me.status_code == 200
    page = text_of(me.text)
    assert web.api.owner_email in page and "Sign out" in page and "Settings" in page  # the owner sees Settings


def test_a_wrong_password_is_refused_with_the_oauth_message_and_no_session(web: WebClient) -> None:
    resp = web.form("/login", {"email": web.api.owner_email, "password": "not-it"})
    assert resp.status_code == 401
    assert "Wrong e-mail or password." in text_of(resp.text)
    assert web.cookie(sessions.COOKIE) is None
    assert web.get("/me").headers["location"] == "/login?next=%2Fme"


def test_sign_in_is_throttled_like_the_oauth_sign_in(web: WebClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "BASE_DELAY", 0.0)
    for _ in range(throttle.PER_ACCOUNT_EMAIL):
        assert web.form("/login", {"email": web.api.owner_email, "password": "guess"}).status_code == 401
    locked = web.form("/login", {"email": web.api.owner_email, "password": web.api.owner_password})
    assert locked.status_code == 429
    assert re.search(r"Too many failed sign-in attempts\. Try again in 1[56] minutes\.", text_of(locked.text))
    assert web.cookie(sessions.COOKIE) is None


def test_users_of_another_account_and_users_without_a_password_cannot_sign_in(web_app: Starlette, web: WebClient,
                                                                             other: Api) -> None:
    resp = web.form("/login", {"email": other.owner_email, "password": other.owner_password})
    assert resp.status_code == 401
    add_user(web.api, "nopass@example.com", password=None)
    assert web.form("/login", {"email": "nopass@example.com", "password": ""}).status_code == 401
    add_user(web.api, "inactive@example.com")
    with web.api.state.db.session() as s:
        s.scalars(select(User).where(User.email == "inactive@example.com",
                                     User.account_id == web.api.account_id)).one().is_active = False
    assert web.form("/login", {"email": "inactive@example.com", "password": PASSWORD}).status_code == 401
    # and a session of account A is nothing on account B's host
    web.sign_in()
    stranger = web_client(web_app, other)
    stranger.http.cookies.set(sessions.COOKIE, web.cookie(sessions.COOKIE) or "", domain=other.host)
    assert stranger.get("/me").headers["location"] == "/login?next=%2Fme"


@pytest.mark.parametrize("path,data", [("/login", {"email": "x@y.z", "password": "p"}),
                                        ("/me", {"action": "language", "language": "uk"}),
                                        ("/logout", {})])
@pytest.mark.parametrize("token", [None, "", "0" * 64])
def test_a_post_without_the_right_csrf_token_is_403_and_changes_nothing(owner_web: WebClient, path: str,
                                                                         data: dict[str, str],
                                                                         token: str | None) -> None:
    before = owner_web.cookie(sessions.COOKIE)
    resp = owner_web.post(path, data if token is None else {**data, "csrf": token})
    assert resp.status_code == 403
    assert "The form has expired" in text_of(resp.text)
    assert owner_web.get("/me").status_code == 200  # still signed in, with the same session
    assert owner_web.cookie(sessions.COOKIE) == before
    with owner_web.api.state.db.session(write=False) as s:
        assert s.get(User, owner_web.api.owner_id).language is None  # type: ignore[union-attr]


def test_a_csrf_token_of_another_session_is_refused(web_app: Starlette, owner_web: WebClient) -> None:
    second = web_client(web_app, owner_web.api)
    second.sign_in()
    token_of_second = csrf_in(second.get("/me").text)
    resp = owner_web.post("/me", {"action": "language", "language": "uk", "csrf": token_of_second})
    assert resp.status_code == 403


def test_a_session_survives_a_restart_of_the_app(backend: object, owner_web: WebClient) -> None:
    token = owner_web.cookie(sessions.COOKIE) or ""
    restarted = web_client(create_app(state=owner_web.api.state), owner_web.api)
    restarted.http.cookies.set(sessions.COOKIE, token, domain=owner_web.api.host)
    assert restarted.get("/me").status_code == 200


def test_signing_in_again_rotates_the_token(owner_web: WebClient) -> None:
    first = owner_web.cookie(sessions.COOKIE)
    resp = owner_web.form("/login", {"email": owner_web.api.owner_email, "password": owner_web.api.owner_password},
                          page="/me")  # signing in from a signed-in browser (e.g. a second tab's old form)
    assert resp.status_code == 303
    second = owner_web.cookie(sessions.COOKIE)
    assert second and second != first
    stale = web_client(owner_web.http.app, owner_web.api)  # type: ignore[arg-type]
    stale.http.cookies.set(sessions.COOKIE, first or "", domain=owner_web.api.host)
    assert stale.get("/me").status_code == 303


def test_sign_out_ends_the_session_for_good(web_app: Starlette, owner_web: WebClient) -> None:
    token = owner_web.cookie(sessions.COOKIE) or ""
    resp = owner_web.form("/logout", {}, page="/me")
    assert resp.status_code == 303 and resp.headers["location"] == "/login"
    assert owner_web.cookie(sessions.COOKIE) is None
    assert "You are signed out." in text_of(owner_web.get("/login").text)
    replay = web_client(web_app, owner_web.api)
    replay.http.cookies.set(sessions.COOKIE, token, domain=owner_web.api.host)
    assert replay.get("/me").headers["location"] == "/login?next=%2Fme"


def test_a_session_can_be_revoked_from_another_browser_and_everywhere(web_app: Starlette,
                                                                      owner_web: WebClient) -> None:
    laptop = web_client(web_app, owner_web.api, **{"User-Agent": "Laptop browser"})
    laptop.sign_in()
    me = owner_web.get("/me").text
    assert 'title="Laptop browser"' in me
    with owner_web.api.state.db.session(write=False) as s:
        laptop_id = s.scalars(select(WebSession.id).where(WebSession.user_agent == "Laptop browser",
                                                          WebSession.user_id == owner_web.api.owner_id)).one()
    resp = owner_web.form("/me", {"action": "revoke", "session": str(laptop_id)})
    assert resp.status_code == 303
    assert laptop.get("/me").status_code == 303  # signed out
    assert owner_web.get("/me").status_code == 200  # this one is not
    # revoking a session that is not yours (or gone) is a form error, not a 500
    again = owner_web.form("/me", {"action": "revoke", "session": str(laptop_id)})
    assert again.status_code == 400 and "That session has ended already." in text_of(again.text)
    laptop.sign_in()
    everywhere = owner_web.form("/me", {"action": "revoke_all"})
    assert everywhere.headers["location"] == "/login"
    assert owner_web.get("/me").status_code == 303 and laptop.get("/me").status_code == 303


def test_sessions_end_after_the_idle_timeout_and_the_lifetime(owner_web: WebClient, restore_clock: None) -> None:
    clock.shift(sessions.IDLE_TIMEOUT.total_seconds() - 60)
    assert owner_web.get("/me").status_code == 200  # used in time: last_seen moves on
    clock.shift(sessions.IDLE_TIMEOUT.total_seconds() - 60)
    assert owner_web.get("/me").status_code == 200
    clock.shift(sessions.IDLE_TIMEOUT.total_seconds() + 60)
    assert owner_web.get("/me").status_code == 303  # idle too long
    owner_web.sign_in()
    for _ in range(int(sessions.LIFETIME / sessions.IDLE_TIMEOUT) + 1):
        clock.shift(sessions.IDLE_TIMEOUT.total_seconds() - 60)
        owner_web.get("/me")
    assert owner_web.get("/me").status_code == 303  # past the absolute lifetime, however active


@pytest.mark.parametrize("target", ["//evil.example.com/x", "https://evil.example.com/", "/\\evil.example.com",
                                    "javascript:alert(1)", "evil", "/%0d%0aSet-Cookie:x=1"])
def test_next_is_only_ever_a_local_path(web: WebClient, target: str) -> None:
    login = web.get("/login", params={"next": target})
    resp = web.post("/login", {"email": web.api.owner_email, "password": web.api.owner_password,
                               "next": target, "csrf": csrf_in(login.text)})
    assert resp.status_code == 303
    location = resp.headers["location"]
    assert location in ("/projects", target) and location.startswith("/") and not location.startswith(("//", "/\\"))
    assert "\n" not in location and "\r" not in location


def test_next_brings_the_user_back_to_the_page_they_asked_for(web: WebClient) -> None:
    assert web.get("/me?tab=sessions").headers["location"] == "/login?next=%2Fme%3Ftab%3Dsessions"
    login = web.get("/login?next=%2Fme%3Ftab%3Dsessions")
    assert 'name="next" value="/me?tab=sessions"' in login.text
    resp = web.post("/login", {"email": web.api.owner_email, "password": web.api.owner_password,
                               "next": "/me?tab=sessions", "csrf": csrf_in(login.text)})
    assert resp.headers["location"] == "/me?tab=sessions"


def test_failures_on_the_oauth_sign_in_page_count_against_the_web_sign_in(backend: AppState, api: Api,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_oauth_flow import Browser

    monkeypatch.setattr(throttle, "BASE_DELAY", 0.0)
    oauth = Browser(backend, api)
    query = oauth.query(oauth.register()[0])
    for _ in range(throttle.PER_ACCOUNT_EMAIL):
        assert oauth.sign_in(query, password="not-the-password").status_code == 401
    web = web_client(oauth.http.app, api)  # the same server: one throttle for both forms
    locked = web.form("/login", {"email": api.owner_email, "password": api.owner_password})
    assert locked.status_code == 429 and web.cookie(sessions.COOKIE) is None
