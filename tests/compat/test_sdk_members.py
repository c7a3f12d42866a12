"""The official Python SDK and raw md5-signed HTTP against a real `localsection serve` process (§4.1)."""

from __future__ import annotations

import hashlib
import uuid

import httpx
import pytest
from sqlalchemy import select
from worksection.client import Client
from worksection.exceptions import ResponseException, UnauthorizedException

from localsection import tokens
from localsection.config import Settings
from localsection.db import Database
from localsection.models import User
from tests.compat.conftest import Server


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def test_members_list_returns_sdk_users_with_the_owner_first(sdk: Client, server: Server) -> None:
    users = sdk.members.list()
    assert users[0].email == server.owner_email
    assert users[0].is_owner()
    assert all(isinstance(u.id, str) and u.avatar.startswith(server.url) for u in users)


def test_members_create_invites_a_user_with_names_from_the_email_and_sdk_roles(sdk: Client) -> None:
    local = unique("kate.")
    user = sdk.members.create(f"{local}@ws.com")
    assert (user.first_name, user.last_name, user.role) == ("kate", local[5:], "user")
    admin = sdk.members.create(unique("boss") + "@ws.com", {"role": "admin", "title": "CTO"})
    assert admin.is_admin() and admin.title == "CTO"
    assert sdk.members.create(unique("lead") + "@ws.com", {"role": "manager"}).is_team_admin()
    assert {user.email, admin.email} <= {u.email for u in sdk.members.list()}


def test_members_create_without_email_raises_the_worksection_message(sdk: Client) -> None:
    with pytest.raises(ResponseException, match="add_user: Field is required"):
        sdk.members.create("")


def test_member_groups_and_create_group(sdk: Client) -> None:
    title = unique("Clients ")
    group = sdk.members.create_group(title, {"client": 1})
    assert (group.title, group.type, group.client) == (title, "company", 1)
    assert sdk.members.create_group(title).id == group.id
    assert title in [g.title for g in sdk.members.groups()]


def test_contacts_create_list_groups_and_create_group(sdk: Client) -> None:
    folder = sdk.contacts.create_group(unique("Partners "))
    assert folder.type == "folder" and isinstance(folder.id, str)
    email = unique("brian") + "@gmail.com"
    contact = sdk.contacts.create(email, "Brian Dragonfly", {"group": folder.title, "phone": "1 345", "title": "boss"})
    assert (contact.first_name, contact.last_name, contact.group, contact.phone) == (
        "Brian", "Dragonfly", folder.title, "1 345")
    assert email in [c.email for c in sdk.contacts.list()]
    groups = sdk.contacts.groups()
    assert [(g.id, g.type) for g in groups[:4]] == [(1, "preset"), (2, "preset"), (3, "preset"), (4, "preset")]
    assert folder.id in [g.id for g in groups[4:]]


def test_contacts_create_with_two_emails_raises_invalid_email(sdk: Client) -> None:
    with pytest.raises(ResponseException, match="add_contact: Invalid email"):
        sdk.contacts.create("a@x.com,b@x.com", "A B")


def test_user_profile_with_an_access_token(server: Server) -> None:
    settings = Settings(data_dir=server.data_dir)
    db = Database(settings)
    with db.session(write=False) as s:
        owner = s.scalars(select(User).where(User.email == server.owner_email)).one()
        token, _ = tokens.issue_access_token(settings, user_id=owner.id, account_id=owner.account_id,
                                             client_id="0" * 32, scopes=["users_read"])
    db.dispose()
    profile = Client(server.url).set_access_token(token).user.profile()
    assert (profile.email, profile.role, profile.rate) == (server.owner_email, "owner", None)


def test_a_wrong_api_key_raises_unauthorized_admin_token_is_invalid(server: Server) -> None:
    with pytest.raises(UnauthorizedException, match="Admin token is invalid"):
        Client(server.url).set_api_key("0" * 32).members.list()


@pytest.mark.parametrize("path", ["/api/admin/v2", "/api/admin/v2/"])
def test_raw_get_signed_as_the_seed_shows(server: Server, path: str) -> None:
    digest = hashlib.md5(("action=get_users" + server.api_key).encode()).hexdigest()
    resp = httpx.get(f"{server.url}{path}?action=get_users&hash={digest}", follow_redirects=False)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json; charset=utf-8"
    assert server.owner_email in [u["email"] for u in resp.json()["data"]]


def test_an_8_kb_url_works_over_real_http(server: Server) -> None:
    query = "action=get_users&filter=" + "x" * 8192
    digest = hashlib.md5((query + server.api_key).encode()).hexdigest()
    resp = httpx.get(f"{server.url}/api/admin/v2?{query}&hash={digest}")
    assert resp.json()["status"] == "ok"



def test_a_url_over_the_cap_is_a_clean_414_json_over_real_http(server: Server) -> None:
    resp = httpx.get(f"{server.url}/api/admin/v2?action=get_users&filter=" + "x" * 20000)
    assert resp.status_code == 414
    assert resp.json() == {"status": "error", "message": "Request URL is too long"}
