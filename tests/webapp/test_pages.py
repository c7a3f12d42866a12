"""The layout and what every page shares: languages, the `/a/<account>` prefix, 404s, headers, static files."""

from __future__ import annotations

import re

from starlette.applications import Starlette

from localsection.webapp import handlers, sessions, templating
from tests.helpers import Api
from tests.webapp.helpers import WebClient, add_user, text_of, web_client


def test_the_browser_language_then_the_users_choice_decide_the_language(web_app: Starlette, api: Api) -> None:
    ukrainian = web_client(web_app, api, **{"Accept-Language": "uk-UA,uk;q=0.9,en;q=0.8"})
    page = ukrainian.get("/login")
    assert '<html lang="uk">' in page.text and "Увійти" in text_of(page.text)
    english = web_client(web_app, api, **{"Accept-Language": "de-DE,en;q=0.5"})
    assert "Sign in" in text_of(english.get("/login").text)
    english.sign_in()
    resp = english.form("/me", {"action": "language", "language": "uk"})
    assert resp.status_code == 303
    me = text_of(english.get("/me").text)
    assert "Мову збережено." in me and "Ваш профіль" in me and "Проєкти" in me
    wrong = english.form("/me", {"action": "password", "current": "x", "new": "abcdefgh1", "confirm": "abcdefgh1"})
    assert wrong.status_code == 400 and "Поточний пароль неправильний" in text_of(wrong.text)
    bad = english.form("/me", {"action": "language", "language": "xx"})
    assert bad.status_code == 400 and "Недійсна мова" in text_of(bad.text)
    english.form("/me", {"action": "language", "language": ""})  # back to the browser's choice
    assert "Your profile" in text_of(english.get("/me").text)


def test_the_account_path_prefix_is_kept_in_links_forms_redirects_and_the_cookie_path(web_app: Starlette,
                                                                                       api: Api) -> None:
    web = web_client(web_app, api, by_path=True)
    root = f"/a/{api.account}"
    assert web.get("/").headers["location"] == f"{root}/login"
    login = web.get("/login")
    assert f'action="{root}/login"' in login.text and f'href="{root}/static/app.css?v=' in login.text
    assert f'href="{root}/password/forgot"' in login.text
    resp = web.sign_in()
    assert resp.headers["location"] == f"{root}/projects"
    assert f"Path={root};" in resp.headers["set-cookie"]
    me = web.get("/me")
    assert me.status_code == 200
    hrefs = re.findall(r'(?:href|action|src)="([^"]+)"', me.text)
    assert hrefs and all(h.startswith((root + "/", "#")) for h in hrefs), hrefs
    assert web.get("/me", headers={"Host": "elsewhere.localhost"}).status_code == 200  # the path names the account
    unknown = web.http.get("/a/nosuchaccount/login")
    assert unknown.status_code == 404 and unknown.headers["content-type"].startswith("application/json")


def test_unknown_pages_are_an_html_404_and_api_paths_keep_their_json_404(web: WebClient) -> None:
    page = web.get("/no/such/page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Page not found" in text_of(page.text)
    for path in ("/api/admin/v3", "/oauth2/nothing", "/download/x", "/avatars/x.png"):
        resp = web.get(path)
        assert resp.status_code == 404 and resp.headers["content-type"].startswith("application/json"), path
    assert web.get("/logout").status_code == 405


def test_pages_carry_the_security_headers_and_no_inline_script_or_style(web_app: Starlette,
                                                                       owner_web: WebClient) -> None:
    anonymous = web_client(web_app, owner_web.api)
    for client, path in ((anonymous, "/login"), (anonymous, "/password/forgot"), (owner_web, "/me"),
                         (owner_web, "/nothing-here")):
        resp = client.get(path)
        assert resp.headers["content-security-policy"] == handlers.CSP
        assert resp.headers["x-content-type-options"] == "nosniff"
        assert resp.headers["referrer-policy"] == "same-origin"
        assert resp.headers["cache-control"] == "no-store"
        assert "<script>" not in resp.text and "style=" not in resp.text and "<style" not in resp.text
        assert resp.text.count('name="csrf"') == resp.text.count("<form"), path  # every form carries the token


def test_static_files_are_versioned_and_cached_for_a_year(web: WebClient) -> None:
    css = templating.STATIC_FILES["app.css"]
    resp = web.get(f"/static/app.css?v={css.version}")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/css")
    assert "max-age=31536000" in resp.headers["cache-control"] and resp.content == css.body
    assert web.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    assert web.get("/static/../models.py").status_code == 404
    assert web.get("/static/nothing.css").status_code == 404


def test_only_owners_and_admins_see_settings_in_the_navigation(web_app: Starlette, owner_web: WebClient) -> None:
    assert 'href="/settings"' in owner_web.get("/me").text
    add_user(owner_web.api, "member@example.com")
    member = web_client(web_app, owner_web.api)
    member.sign_in("member@example.com", "user-pass-123")
    page = member.get("/me").text
    assert 'href="/settings"' not in page and 'href="/projects"' in page


def test_a_flash_is_shown_once(owner_web: WebClient) -> None:
    owner_web.form("/me", {"action": "language", "language": "en"})
    assert "Language saved." in text_of(owner_web.get("/me").text)
    assert "Language saved." not in text_of(owner_web.get("/me").text)


def test_a_forged_flash_cookie_is_ignored(owner_web: WebClient) -> None:
    owner_web.http.cookies.set(handlers.FLASH_COOKIE, "eyJ4IjoxfQ.forged", domain=owner_web.api.host)
    assert owner_web.get("/me").status_code == 200


def test_oversized_forms_are_refused_before_reading(owner_web: WebClient) -> None:
    resp = owner_web.post("/me", {"action": "language", "language": "x" * (handlers.MAX_FORM + 10)})
    assert resp.status_code == 413
    assert owner_web.cookie(sessions.COOKIE)


def test_over_https_the_session_cookie_is_secure(web_app: Starlette, api: Api) -> None:
    from starlette.testclient import TestClient

    from tests.webapp.helpers import WebClient as Client

    web = Client(TestClient(web_app, base_url=f"https://{api.host}"), api)
    assert "Secure" in web.sign_in().headers["set-cookie"]
