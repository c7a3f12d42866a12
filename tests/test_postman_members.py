"""Our §4.1 responses against the official Postman collection's success examples.

For comparable data, every key an example has must be in our response (nested too), with the same JSON
type and in the same relative order. Documented decisions: roles are lowercase; optional phones and
addresses are omitted when empty (so the data set up here fills them in where the example has them).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update

from localsection.models import User
from tests import postman
from tests.helpers import Api

PHONES = {"phone": "+15852827023", "phone2": "4 4950 234 45 90", "phone3": "1 (049) 143-235-08",
          "phone4": "5989 243 88 1", "address": "Apt. 902", "address2": "Suite 329"}


def assert_like_postman(action: str, body: dict[str, Any]) -> None:
    """Pairwise (get_users and get_contacts list differently filled people), in order, at least as many items."""
    postman.assert_shape(postman.example(action), body, lists="pairwise", key_order=True, as_many_items=True)


def fill_profile(api: Api, email: str) -> None:
    """Users' phones and addresses are not settable through the API; set them like the web UI would."""
    with api.state.db.session() as s:
        s.execute(update(User).where(User.account_id == api.account_id, User.email == email)
                  .values(title="developer", department="Dev team", **PHONES))


def test_the_collection_has_a_success_example_for_every_members_action() -> None:
    wanted = {"me", "get_users", "add_user", "get_user_groups", "add_user_group", "get_contacts", "add_contact",
              "get_contact_groups", "add_contact_group"}
    found = postman.example_names(folder="Members")
    assert wanted <= {name for name, responses in found.items() if "success" in responses}


def test_me_matches_the_postman_example(api: Api) -> None:
    fill_profile(api, api.owner_email)
    body = api.user_call(api.token(), "me")
    del body["_http"]
    assert_like_postman("me", body)
    assert "rate" not in body["data"]
    assert body["data"]["role"] == postman.example("me")["data"]["role"].lower()


def test_get_users_matches_the_postman_example(api: Api) -> None:
    fill_profile(api, api.owner_email)
    api.add_user("frank.harper@ws.com", role="admin", title="QA specialist", department="Test team")
    api.add_user("john.doe@ws.com", first_name="John Doe", last_name="John Doe", title="PM")
    body = api.call("get_users")
    assert_like_postman("get_users", body)
    example_roles = [u["role"].lower() for u in postman.example("get_users")["data"][:2]]
    assert [u["role"] for u in body["data"][:2]] == example_roles


def test_add_user_matches_the_postman_example(api: Api) -> None:
    body = api.call("add_user", email="kate.greenway@ws.com")
    assert_like_postman("add_user", body)
    example = postman.example("add_user")["data"]
    for key in ("first_name", "last_name", "name", "title", "department", "email"):
        assert body["data"][key] == example[key]
    assert body["data"]["role"] == example["role"].lower()


def test_get_user_groups_matches_the_postman_example(api: Api) -> None:
    api.ok("add_user_group", title="Singing bird", client=1)
    assert_like_postman("get_user_groups", api.call("get_user_groups"))


def test_add_user_group_matches_the_postman_example(api: Api) -> None:
    body = api.call("add_user_group", title="Marketing")
    assert_like_postman("add_user_group", body)
    assert body["data"]["title"] == postman.example("add_user_group")["data"]["title"]


def test_get_contacts_matches_the_postman_example(api: Api) -> None:
    full = {k: v for k, v in postman.example("add_contact")["data"].items()
            if k not in ("id", "first_name", "last_name")}
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
    expected = {k: v for k, v in postman.example("add_contact")["data"].items() if k != "id"}
    assert {k: data["data"][k] for k in expected} == expected


def test_get_contact_groups_matches_the_postman_example(api: Api) -> None:
    api.ok("add_contact_group", title="Clients")
    body = api.call("get_contact_groups")
    assert_like_postman("get_contact_groups", body)
    assert body["data"][:4] == postman.example("get_contact_groups")["data"][:4]


def test_add_contact_group_matches_the_postman_example(api: Api) -> None:
    body = api.call("add_contact_group", title="Contractors")
    assert_like_postman("add_contact_group", body)
    assert body["data"]["type"] == "folder"


def test_the_shape_check_notices_a_wrong_type_and_a_missing_key() -> None:
    assert postman.shape_problems({"id": "1", "client": 0}, {"id": 1}) == ["$.client: missing",
                                                                           "$.id: example is string, ours is integer"]
    # The same inside list items and {id: title} maps, whichever way lists are compared.
    example = {"data": [{"id": "1", "tags": {"7": "wiki"}}, {"id": "2"}]}
    ours = {"data": [{"id": "3", "tags": {"8": 5}}, {"id": 4.0}]}
    assert postman.shape_problems(example, ours) == ["$.data[0].tags.8: example is string, ours is integer",
                                                     "$.data[1].tags: missing",
                                                     "$.data[1].id: example is string, ours is number"]
    assert postman.shape_problems(example, ours, lists="pairwise") == [
        "$.data[0].tags.8: example is string, ours is integer", "$.data[1].id: example is string, ours is number"]
    assert postman.shape_problems({"a": 1, "b": 2}, {"b": 2, "a": 1, "c": 3}, key_order=True, exact=True) == [
        "$.c: not in the example", "$: key order ['b', 'a', 'c'] differs from ['a', 'b']"]
    assert postman.shape_problems([1, 2], [1], as_many_items=True) == ["$: 1 items, the example has 2"]
    with pytest.raises(AssertionError, match=r"\$\.client: missing"):
        postman.assert_shape({"client": 0}, {})
