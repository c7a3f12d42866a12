"""The profile page's notification e-mails switch (all, and per kind): what it shows, what it saves, for whom."""

from __future__ import annotations

import re

from starlette.applications import Starlette

from localsection.domain import mail_prefs
from tests.helpers import Api
from tests.webapp.helpers import PASSWORD, add_user, text_of, web_client

ALL = {"mail": "on", "kind_assigned": "on", "kind_mentioned": "on", "kind_comment": "on", "kind_completed": "on"}


def _kinds(api: Api, email: str | None = None) -> set[str]:
    with api.ctx(email) as ctx:
        return set(mail_prefs.mail_notifications(ctx).kinds)


def _ticked(html: str) -> set[str]:
    return {m for m in re.findall(r'name="(mail|kind_\w+)" value="on" checked', html)}


def test_the_profile_switches_notification_e_mails_per_kind_and_all_off_and_on_again(web_app: Starlette,
                                                                                     api: Api) -> None:
    web = web_client(web_app, api)
    web.sign_in()
    assert _ticked(web.get("/me").text) == set(ALL) and _kinds(api) == {"assigned", "mentioned", "comment",
                                                                         "completed"}
    resp = web.form("/me", {"action": "mail", "mail": "on", "kind_assigned": "on", "kind_completed": "on"})
    assert resp.status_code == 303
    assert _kinds(api) == {"assigned", "completed"}
    page = web.get("/me").text
    assert "Notification e-mails saved." in text_of(page)
    assert _ticked(page) == {"mail", "kind_assigned", "kind_completed"}
    assert web.form("/me", {"action": "mail", **{k: v for k, v in ALL.items() if k != "mail"}}).status_code == 303
    assert _kinds(api) == set()  # the main switch off: nothing at all
    assert "mail" not in _ticked(web.get("/me").text)
    assert web.form("/me", {"action": "mail", **ALL}).status_code == 303
    assert _kinds(api) == {"assigned", "mentioned", "comment", "completed"}


def test_each_user_switches_only_their_own_and_the_page_speaks_ukrainian(web_app: Starlette, api: Api) -> None:
    add_user(api, "bob@example.com")
    bob = web_client(web_app, api, **{"Accept-Language": "uk"})
    bob.sign_in("bob@example.com", PASSWORD)
    page = text_of(bob.get("/me").text)
    for words in ("Сповіщення електронною поштою", "Мені призначено завдання", "Зберегти сповіщення",
                  "Роль користувач"):
        assert words in page, words
    assert bob.form("/me", {"action": "mail", "mail": "on", "kind_comment": "on",
                            "email": api.owner_email}).status_code == 303  # an `email` field is ignored
    assert _kinds(api, "bob@example.com") == {"comment"}
    assert _kinds(api) == {"assigned", "mentioned", "comment", "completed"}  # the owner's are untouched


def test_the_switch_refuses_a_forged_request(web_app: Starlette, api: Api) -> None:
    web = web_client(web_app, api)
    web.sign_in()
    web.get("/me")
    refused = web.post("/me", {"action": "mail"})  # no CSRF token
    assert refused.status_code == 403
    assert _kinds(api) == {"assigned", "mentioned", "comment", "completed"}
