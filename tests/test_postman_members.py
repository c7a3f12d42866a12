"""Our §4.1 responses against the official Postman collection's success examples.

For comparable data, every key an example has must be in our response (nested too), with the same JSON
type and in the same relative order. Documented decisions: roles are lowercase; optional phones and
addresses are omitted when empty (so the data set up here fills them in where the example has them).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from localsection.models import User
from tests.helpers import Api

COLLECTION = Path("/work/shared/reference/ws_client_api_postman_collection.json")
PHONES = {"phone": "+15852827023", "phone2": "4 4950 234 45 90", "phone3": "1 (049) 143-235-08",
          "phone4": "5989 243 88 1", "address": "Apt. 902", "address2": "Suite 329"}


@cache
def examples() -> dict[str, dict[str, Any]]:
    """action name -> body of its first success example, for the collection's Members folder."""
    folders = json.loads(COLLECTION.read_text())["item"]
    members = next(f for f in folders if f["name"] == "Members")["item"]
    out: dict[str, dict[str, Any]] = {}
    for item in members:
        success = [r for r in item.get("response", []) if r["name"] == "success"]
        if success:
            out[item["name"]] = json.loads(success[0]["body"])
    return out


def jtype(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "string", list: "array", dict: "object", type(None): "null"}[type(value)]


def shape_problems(example: Any, ours: Any, path: str = "$") -> list[str]:
    """Every key of `example` present in `ours` with the same JSON type, in the same relative order."""
    if jtype(example) != jtype(ours):
        return [f"{path}: example is {jtype(example)}, ours is {jtype(ours)}"]
    problems: list[str] = []
    if isinstance(example, dict):
        missing = [k for k in example if k not in ours]
        problems += [f"{path}.{k}: missing" for k in missing]
        common = [k for k in example if k in ours]
        if [k for k in ours if k in example] != common:
            problems.append(f"{path}: key order {list(ours)} differs from {list(example)}")
        for k in common:
            problems += shape_problems(example[k], ours[k], f"{path}.{k}")
    elif isinstance(example, list):
        if len(ours) < len(example):
            problems.append(f"{path}: {len(ours)} items, the example has {len(example)}")
        for i, (ex, mine) in enumerate(zip(example, ours, strict=False)):
            problems += shape_problems(ex, mine, f"{path}[{i}]")
    return problems


def assert_like_postman(action: str, body: dict[str, Any]) -> None:
    assert shape_problems(examples()[action], body) == []


def fill_profile(api: Api, email: str) -> None:
    """Users' phones and addresses are not settable through the API; set them like the web UI would."""
    with api.state.db.session() as s:
        s.execute(update(User).where(User.account_id == api.account_id, User.email == email)
                  .values(title="developer", department="Dev team", **PHONES))


def test_the_collection_has_a_success_example_for_every_members_action() -> None:
    wanted = {"me", "get_users", "add_user", "get_user_groups", "add_user_group", "get_contacts", "add_contact",
              "get_contact_groups", "add_contact_group"}
    assert wanted <= set(examples())


def test_me_matches_the_postman_example(api: Api) -> None:
    fill_profile(api, api.owner_email)
    body = api.user_call(api.token(), "me")
    del body["_http"]
    assert_like_postman("me", body)
    assert "rate" not in body["data"]
    assert body["data"]["role"] == examples()["me"]["data"]["role"].lower()


def test_get_users_matches_the_postman_example(api: Api) -> None:
    fill_profile(api, api.owner_email)
    api.add_user("frank.harper@ws.com", role="admin", title="QA specialist", department="Test team")
    api.add_user("john.doe@ws.com", first_name="John Doe", last_name="John Doe", title="PM")
    body = api.call("get_users")
    assert_like_postman("get_users", body)
    example_roles = [u["role"].lower() for u in examples()["get_users"]["data"][:2]]
    assert [u["role"] for u in body["data"][:2]] == example_roles


def test_add_user_matches_the_postman_example(api: Api) -> None:
    body = api.call("add_user", email="kate.greenway@ws.com")
    assert_like_postman("add_user", body)
    example = examples()["add_user"]["data"]
    for key in ("first_name", "last_name", "name", "title", "department", "email"):
        assert body["data"][key] == example[key]
    assert body["data"]["role"] == example["role"].lower()


def test_get_user_groups_matches_the_postman_example(api: Api) -> None:
    api.ok("add_user_group", title="Singing bird", client=1)
    assert_like_postman("get_user_groups", api.call("get_user_groups"))


def test_add_user_group_matches_the_postman_example(api: Api) -> None:
    body = api.call("add_user_group", title="Marketing")
    assert_like_postman("add_user_group", body)
    assert body["data"]["title"] == examples()["add_user_group"]["data"]["title"]


def test_get_contacts_matches_the_postman_example(api: Api) -> None:
    full = {k: v for k, v in examples()["add_contact"]["data"].items() if k not in ("id", "first_name", "last_name")}
    api.ok("add_contact", **full)
    api.ok("add_contact", email="steve@example.com", name="Steve Powerhold", group="Contractors",
           phone="1265 458 32 12")
    api.ok("add_contact", email="mike.shaw@gmail.com", name="Mike Shaw")
    assert_like_postman("get_contacts", api.call("get_contacts"))


@pytest.mark.parametrize("encoded", [False, True])
def test_add_contact_from_the_postman_request_url_matches_the_example(api: Api, encoded: bool) -> None:
    """The example's raw URL (literal `+` in the phone) gives the example's values back."""
    query = ("action=add_contact&email=brian.dragonfly@gmail.com&name=Brian Dragonfly&title=manager"
             "&group=Clients&phone=+1 345 234 23 67&phone2=486 09 77&phone3=(8984) 345 65 02&phone4=389 87 35"
             "&address=Apt. 406 855 Renner Trail, Rowemouth, IN 42165"
             "&address2=59064 Robby Prairie, North Abel, NE 93368")
    wire = query.replace(" ", "%20") if encoded else query
    body = api.client.post(f"/api/admin/v2?{wire}", headers={"Host": api.host,
                                                              "Authorization": api.admin_header("add_contact")})
    data = body.json()
    assert_like_postman("add_contact", data)
    expected = {k: v for k, v in examples()["add_contact"]["data"].items() if k != "id"}
    assert {k: data["data"][k] for k in expected} == expected


def test_get_contact_groups_matches_the_postman_example(api: Api) -> None:
    api.ok("add_contact_group", title="Clients")
    body = api.call("get_contact_groups")
    assert_like_postman("get_contact_groups", body)
    assert body["data"][:4] == examples()["get_contact_groups"]["data"][:4]


def test_add_contact_group_matches_the_postman_example(api: Api) -> None:
    body = api.call("add_contact_group", title="Contractors")
    assert_like_postman("add_contact_group", body)
    assert body["data"]["type"] == "folder"


def test_the_shape_check_notices_a_wrong_type_and_a_missing_key() -> None:
    assert shape_problems({"id": "1", "client": 0}, {"id": 1}) == ["$.client: missing",
                                                                   "$.id: example is string, ours is number"]
