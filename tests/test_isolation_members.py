"""Accounts: the Host picks the account, and no account ever sees or changes another's members data."""

from __future__ import annotations

import hashlib

import pytest

from localsection.accounts import default_account
from tests.helpers import ADMIN_PATH, USER_PATH, Api


@pytest.fixture
def populated(api: Api) -> Api:
    """Account A with one of everything of §4.1."""
    api.add_user("kate.greenway@ws.com", group="Marketing")
    api.ok("add_user_group", title="Singing bird", client=1)
    api.ok("add_contact", email="brian@gmail.com", name="Brian Dragonfly", group="Clients")
    api.ok("add_contact_group", title="Contractors")
    return api


def test_reads_through_another_account_never_show_its_data(populated: Api, other: Api) -> None:
    assert [u["email"] for u in other.ok("get_users")] == [other.owner_email]
    assert [t["title"] for t in other.ok("get_user_groups")] == [other.ok("get_users")[0]["group"]]
    assert other.ok("get_contacts") == []
    assert [g["title"] for g in other.ok("get_contact_groups")] == ["USERS", "DEFAULT", "TEAM_ONLY", "HIDDEN"]


def test_writes_with_the_same_names_create_the_other_accounts_own_rows(populated: Api, other: Api) -> None:
    a_user = next(u for u in populated.ok("get_users") if u["email"] == "kate.greenway@ws.com")
    b_user = other.add_user("kate.greenway@ws.com", group="Marketing", title="Other")
    assert b_user["id"] != a_user["id"]
    assert b_user["title"] == "Other"
    a_teams = {t["title"]: t["id"] for t in populated.ok("get_user_groups")}
    assert other.ok("add_user_group", title="Singing bird")["id"] != a_teams["Singing bird"]
    assert other.ok("add_user_group", title="Marketing")["id"] != a_teams["Marketing"]
    a_folders = {g["title"]: g["id"] for g in populated.ok("get_contact_groups")}
    assert other.ok("add_contact_group", title="Contractors")["id"] != a_folders["Contractors"]
    assert other.ok("add_contact", email="x@y.com", name="X Y", group="Clients")["group"] == "Clients"
    assert other.ok("add_contact_group", title="Clients")["id"] != a_folders["Clients"]
    # ... and account A is exactly as it was.
    assert next(u for u in populated.ok("get_users") if u["email"] == "kate.greenway@ws.com") == a_user
    assert {t["title"]: t["id"] for t in populated.ok("get_user_groups")} == a_teams
    assert [c["email"] for c in populated.ok("get_contacts")] == ["brian@gmail.com"]


def test_one_accounts_key_is_refused_on_another_accounts_host(api: Api, other: Api) -> None:
    digest = hashlib.md5(("action=get_users" + api.api_key).encode()).hexdigest()
    resp = api.client.get(f"{ADMIN_PATH}?action=get_users&hash={digest}", headers={"Host": other.host})
    assert resp.json() == {"status": "error", "status_code": 2, "message": "Action hash is missed or invalid"}
    resp = api.client.post(f"{ADMIN_PATH}?action=add_user", json={"email": "intruder@x.com"},
                           headers={"Host": other.host, "Authorization": api.admin_header("add_user")})
    assert (resp.status_code, resp.json()["message"]) == (401, "Admin token is invalid")
    assert "intruder@x.com" not in [u["email"] for u in other.ok("get_users")]


def test_one_accounts_token_is_refused_on_another_accounts_host(api: Api, other: Api) -> None:
    resp = api.client.get(f"{USER_PATH}?action=get_users", headers={"Host": other.host,
                                                                     "Authorization": f"Bearer {api.token()}"})
    assert resp.status_code == 401
    assert resp.json()["errorDescription"] == "Access token is invalid"


def test_the_host_selects_the_account(api: Api, other: Api) -> None:
    for acc in (api, other):
        resp = acc.client.post(f"{ADMIN_PATH}?action=get_users", headers={
            "Host": f"{acc.account}.localhost:8000", "Authorization": acc.admin_header("get_users")})
        assert resp.json()["data"][0]["email"] == acc.owner_email


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "localhost:8000", "[::1]:8000", "10.1.2.3"])
def test_an_ip_address_or_localhost_host_gets_the_default_account(api: Api, host: str) -> None:
    with api.state.db.session(write=False) as s:
        default = default_account(s, api.state.settings)
        assert default is not None
        key = default.api_key
    digest = hashlib.md5(("action=get_users" + key).encode()).hexdigest()
    body = api.client.get(f"{ADMIN_PATH}?action=get_users&hash={digest}", headers={"Host": host}).json()
    assert body["status"] == "ok"


def test_an_unknown_account_host_is_404_json(api: Api) -> None:
    resp = api.client.post(f"{ADMIN_PATH}?action=get_users", headers={
        "Host": "nosuchaccount.localhost", "Authorization": api.admin_header("get_users")})
    assert resp.status_code == 404
    assert resp.json() == {"status": "error", "message": "Account not found"}
