"""`/people`: users by team, contacts by folder; invitations with roles (a reset link for the new user), teams,
contact folders and contacts — the same rules as the API for each role. Both databases."""

from __future__ import annotations

import logging
import re

import pytest
from starlette.applications import Starlette

from tests.helpers import Api
from tests.webapp.helpers import PASSWORD, WebClient, add_user, csrf_in, text_of, web_client


def _users(api: Api) -> dict[str, dict[str, str]]:
    return {u["email"]: u for u in api.ok("get_users")}


def test_people_lists_users_by_team_and_contacts_by_folder(owner_web: WebClient) -> None:
    api = owner_web.api
    api.ok("add_user_group", title="Acme", client=1)
    api.ok("add_user", email="client@example.com", group="Acme", first_name="Cleo")
    api.ok("add_contact", email="vendor@example.com", name="Vera Vendor", group="Suppliers")
    page = owner_web.get("/people")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Acme Client team" in text and "Cleo" in text and "client@example.com" in text
    assert "Suppliers" in text and "Vera Vendor" in text
    assert text.index("Acme") > text.index(api.owner_email)  # client teams after the account's own


def test_an_admin_invites_a_user_with_a_role_and_gets_a_one_time_link(owner_web: WebClient,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    api = owner_web.api
    with caplog.at_level(logging.WARNING, logger="localsection.mail"):
        resp = owner_web.form("/people", {"action": "user", "email": "New.Person@Example.com", "role": "account admin",
                                          "team": "Designers", "first_name": "Nina", "title": "Lead"})
    assert resp.status_code == 200
    link = re.search(r'id="invite-link" type="text" readonly value="(http[^"]+/password/reset/[^"]+)"', resp.text)
    assert link is not None and "new.person@example.com can now set a password" in text_of(resp.text)
    assert link.group(1) in caplog.text  # mailed (the log, until mail is configured)
    user = _users(api)["new.person@example.com"]
    assert user["role"] == "account admin" and user["group"] == "Designers" and user["first_name"] == "Nina"
    assert user["title"] == "Lead"
    # the link sets the password once, then the new user signs in
    path = link.group(1).split("testserver", 1)[-1].split(".localhost", 1)[-1]
    fresh = web_client(owner_web.http.app, api)  # type: ignore[arg-type]
    assert fresh.form(path, {"password": "brand-new-pass", "confirm": "brand-new-pass"}).status_code == 303
    fresh.sign_in("new.person@example.com", "brand-new-pass")
    assert fresh.get(path).status_code == 404
    # the page does not show it again
    assert link.group(1) not in owner_web.get("/people").text
    again = owner_web.form("/people", {"action": "user", "email": "new.person@example.com"})
    assert again.status_code == 400 and "is a user of this account already" in text_of(again.text)


def test_bad_invitations_change_nothing(owner_web: WebClient) -> None:
    api = owner_web.api
    before = _users(api)
    for data, message in (({"email": ""}, "E-mail is required."),
                          ({"email": "not-an-email"}, "Invalid email"),
                          ({"email": "a@example.com,b@example.com"}, "Invalid email"),
                          ({"email": "x@example.com", "role": "owner"}, "Choose one of the roles offered."),
                          ({"email": "x@example.com", "first_name": "n" * 300}, "First name is too long.")):
        resp = owner_web.form("/people", {"action": "user", **data})
        assert resp.status_code == 400 and message in text_of(resp.text), (data, text_of(resp.text)[:300])
    assert _users(api) == before


def test_teams_contact_folders_and_contacts_are_created(owner_web: WebClient) -> None:
    api = owner_web.api
    assert owner_web.form("/people", {"action": "team", "title": "Outside", "client": "1"}).status_code == 303
    assert {"id": next(t["id"] for t in api.ok("get_user_groups") if t["title"] == "Outside"), "title": "Outside",
            "type": "company", "client": 1} in api.ok("get_user_groups")
    assert owner_web.form("/people", {"action": "folder", "title": "Press"}).status_code == 303
    assert "Press" in [g["title"] for g in api.ok("get_contact_groups")]
    resp = owner_web.form("/people", {"action": "contact", "name": "Pat Press", "email": "pat@example.com",
                                      "folder": "Press", "phone": "+380 44 000"})
    assert resp.status_code == 303
    contact = next(c for c in api.ok("get_contacts") if c["email"] == "pat@example.com")
    assert contact["first_name"] == "Pat" and contact["last_name"] == "Press" and contact["group"] == "Press"
    assert contact["phone"] == "+380 44 000"
    for data, message in (({"action": "team", "title": " "}, "Name of the team is required."),
                          ({"action": "team", "title": "t" * 300}, "Name of the team is too long."),
                          ({"action": "folder", "title": ""}, "Name of the folder is required."),
                          ({"action": "contact", "name": "X", "email": "bad"}, "Invalid email"),
                          ({"action": "nonsense"}, "Unknown action.")):
        bad = owner_web.form("/people", data)
        assert bad.status_code == 400 and message in text_of(bad.text), (data, text_of(bad.text)[:300])
    assert len(api.ok("get_contacts")) == 1


def test_the_people_form_without_a_csrf_token_is_refused(owner_web: WebClient) -> None:
    resp = owner_web.post("/people", {"action": "user", "email": "forged@example.com"})
    assert resp.status_code == 403
    assert "forged@example.com" not in _users(owner_web.api)


def test_each_role_sees_the_users_and_contacts_the_api_gives_it_and_invites_as_the_api_allows(
        web_app: Starlette, api: Api) -> None:
    api.ok("add_user_group", title="Acme", client=1)
    api.ok("add_user", email="client@example.com", group="Acme")
    from localsection import accounts

    with api.state.db.session() as s:
        accounts.set_password(s, api.account, "client@example.com", PASSWORD)
    api.ok("add_contact", email="vendor@example.com", name="Vera Vendor")
    for email, role in (("client@example.com", None), ("plain@example.com", "user"),
                        ("reader@example.com", "reader"), ("guest@example.com", "guest")):
        if role:
            add_user(api, email, role=role)  # type: ignore[arg-type]
        web = web_client(web_app, api)
        web.sign_in(email, PASSWORD)
        page = web.get("/people")
        assert page.status_code == 200
        token = api.token(email)
        shown = set(re.findall(r"[\w.+-]+@[\w.-]+\.\w+", text_of(page.text.split('id="main"')[1])))
        api_users = {u["email"] for u in api.user_call(token, "get_users")["data"]}
        api_contacts = {c["email"] for c in api.user_call(token, "get_contacts")["data"]}
        assert shown == api_users | api_contacts, (email, shown ^ (api_users | api_contacts))
        assert "New sign-in link" not in page.text  # admins only
        writes = role not in ("reader", "guest")
        assert ('value="user"' in page.text) == writes
        assert "account admin</option>" not in page.text  # admin roles only for admins
        resp = web.post("/people", {"action": "user", "email": f"by-{role or 'client'}@example.com",
                                    "csrf": csrf_in(page.text)})
        via_api = api.user_call(token, "add_user", email=f"api-{role or 'client'}@example.com")
        assert (resp.status_code == 303) == writes == (via_api["status"] == "ok"), (email, resp.status_code)
        if writes:  # a plain user's invitation is mailed, never shown to them
            assert "/password/reset/" not in web.get("/people").text
        promoted = web.form("/people", {"action": "user", "email": "boss@example.com", "role": "account admin"})
        assert promoted.status_code == 400
    assert "boss@example.com" not in _users(api)


def test_an_admin_hands_a_user_without_a_password_a_new_link_and_nobody_else_can(web_app: Starlette,
                                                                               api: Api) -> None:
    uid = add_user(api, "nopass@example.com", password=None)
    has_password = add_user(api, "plain@example.com")
    owner = web_client(web_app, api)
    owner.sign_in()
    resp = owner.form("/people", {"action": "link", "user": str(uid)})
    assert resp.status_code == 200 and "nopass@example.com can now set a password" in text_of(resp.text)
    refused = owner.form("/people", {"action": "link", "user": str(has_password)})
    assert refused.status_code == 400 and "has a password already" in text_of(refused.text)
    plain = web_client(web_app, api)
    plain.sign_in("plain@example.com", PASSWORD)
    denied = plain.form("/people", {"action": "link", "user": str(uid)})
    assert denied.status_code == 400 and "/password/reset/" not in denied.text
