"""WebClient: a browser-like in-process client of the web app for one account (its own cookie jar), which
signs in and posts forms with the CSRF token picked from the page, as a person's browser would."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.testclient import TestClient

from localsection import accounts
from localsection.domain import members
from tests.helpers import Api

_CSRF = re.compile(r'<input type="hidden" name="csrf" value="([0-9a-f]+)">')
PASSWORD = "user-pass-123"


def csrf_in(page_html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = _CSRF.search(page_html)
    assert match is not None, "no csrf field on the page"
    return match.group(1)


def text_of(page_html: str) -> str:
    """The page's visible text, tags stripped and whitespace folded (for asserting what a person reads)."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page_html, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


@dataclass
class WebClient:
    """Requests go to `root + path` on the account's host (`root` is '' or `/a/<account>`)."""

    http: TestClient
    api: Api
    root: str = ""

    def url(self, path: str) -> str:
        return self.root + path

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("follow_redirects", False)
        return self.http.get(self.url(path), **kwargs)

    def post(self, path: str, data: dict[str, str], **kwargs: Any) -> httpx.Response:
        """A raw POST (no CSRF token added): for tests of the CSRF check itself."""
        kwargs.setdefault("follow_redirects", False)
        return self.http.post(self.url(path), data=data, **kwargs)

    def form(self, path: str, data: dict[str, str], *, page: str | None = None, **kwargs: Any) -> httpx.Response:
        """Open `page` (default: `path`), take its CSRF token and POST `data` to `path`, like submitting the form.
        Not following the redirect: assert `resp.status_code == 303` and `resp.headers["location"]`."""
        shown = self.get(page or path, follow_redirects=True)
        assert shown.status_code == 200, (shown.status_code, shown.text[:500])
        return self.post(path, {**data, "csrf": csrf_in(shown.text)}, **kwargs)

    def sign_in(self, email: str | None = None, password: str | None = None) -> httpx.Response:
        """Sign in (the account's owner by default); asserts it worked."""
        resp = self.form("/login", {"email": email or self.api.owner_email,
                                    "password": password or self.api.owner_password})
        assert resp.status_code == 303, (resp.status_code, text_of(resp.text)[:300])
        return resp

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.http.cookies.jar if c.name == name), None)


def web_client(app: Starlette, api: Api, *, by_path: bool = False, **headers: str) -> WebClient:
    """A fresh browser (empty cookie jar) for `api`'s account: by its host, or by path (`/a/<account>/...`)."""
    base = "http://testserver" if by_path else f"http://{api.host}"
    http = TestClient(app, base_url=base, headers=headers or None)
    return WebClient(http, api, f"/a/{api.account}" if by_path else "")


def add_user(api: Api, email: str, *, role: members.Role = "user", password: str | None = PASSWORD) -> int:
    """A user of `api`'s account (with a password unless None); returns their id."""
    with api.ctx() as ctx:
        user = members.add_user(ctx, new=members.NewUser(email=email, role=role))
        if password is not None:
            accounts.set_password(ctx.db, api.account, email, password)
        return user.id
