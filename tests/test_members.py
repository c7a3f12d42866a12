"""Members, teams, contacts and contact folders (PROTOCOL.md §4.1): success and error paths."""

from __future__ import annotations

import pytest

from tests.helpers import Api
from tests.test_transport import admin, app_with

FULL_USER_KEYS = ["id", "first_name", "last_name", "name", "title", "rate", "avatar", "group", "department",
                  "role", "email"]


def teams(api: Api) -> dict[str, dict[str, object]]:
    return {t["title"]: t for t in api.ok("get_user_groups")}


# -- get_users / add_user ------------------------------------------------------------------------


def test_get_users_lists_every_user_with_string_ids_numeric_rate_and_lowercase_roles(api: Api) -> None:
    api.add_user("frank.harper@ws.com", role="admin")
    users = api.ok("get_users")
    assert [(u["email"], u["role"]) for u in users] == [(api.owner_email, "owner"),
                                                         ("frank.harper@ws.com", "account admin")]
    for u in users:
        assert list(u) == FULL_USER_KEYS  # empty phones and addresses are omitted
        assert isinstance(u["id"], str) and u["id"].isdigit()
        assert isinstance(u["rate"], int)


def test_avatars_are_absolute_urls_on_the_requests_origin(api: Api) -> None:
    user = api.ok("get_users")[0]
    assert user["avatar"] == f"http://{api.host}/avatars/{user['id']}.png"
    png = api.client.get(f"/avatars/{user['id']}.png", headers={"Host": api.host})
    assert (png.status_code, png.headers["content-type"]) == (200, "image/png")


def test_public_url_setting_with_the_account_placeholder_drives_avatar_urls(api: Api) -> None:
    public = app_with(api, public_url="https://{account}.tracker.example.com/")
    user = public.ok("get_users")[0]
    assert user["avatar"] == f"https://{api.account}.tracker.example.com/avatars/{user['id']}.png"


def test_add_user_derives_names_from_the_email_and_joins_the_inviters_team(api: Api) -> None:
    owner_team = api.ok("get_users")[0]["group"]
    user = api.add_user("kate.greenway@ws.com", role="")
    assert {k: user[k] for k in ("first_name", "last_name", "name", "title", "department", "role", "group")} == {
        "first_name": "kate", "last_name": "greenway", "name": "kate greenway", "title": "", "department": "",
        "role": "user", "group": owner_team}
    assert list(user) == FULL_USER_KEYS
    assert user["email"] in [u["email"] for u in api.ok("get_users")]


def test_add_user_takes_the_given_names_title_and_department(api: Api) -> None:
    user = api.add_user("x@ws.com", first_name="Frank", last_name="Harper", title="QA specialist",
                        department="Test team")
    assert (user["name"], user["title"], user["department"]) == ("Frank Harper", "QA specialist", "Test team")


def test_add_user_with_an_unknown_team_name_creates_that_team(api: Api) -> None:
    user = api.add_user("y@ws.com", group="Singing bird")
    assert user["group"] == "Singing bird"
    assert teams(api)["Singing bird"]["client"] == 0


def test_add_user_with_an_existing_team_name_uses_it(api: Api) -> None:
    team = api.ok("add_user_group", title="Marketing")
    api.add_user("m@ws.com", group="Marketing")
    assert teams(api)["Marketing"]["id"] == team["id"]
    assert len([t for t in api.ok("get_user_groups") if t["title"] == "Marketing"]) == 1


@pytest.mark.parametrize(("given", "stored"), [
    ("user", "user"), ("guest", "guest"), ("reader", "reader"), ("admin", "account admin"),
    ("manager", "team admin"), ("Reader", "reader"), ("owner", "user"), ("wizard", "user"),
])
def test_add_user_roles_and_sdk_role_aliases(api: Api, given: str, stored: str) -> None:
    assert api.add_user(f"{given}@ws.com", role=given)["role"] == stored


def test_add_user_with_an_existing_members_email_returns_that_user_unchanged(api: Api) -> None:
    first = api.add_user("kate.greenway@ws.com", title="QA")
    again = api.add_user("Kate.Greenway@WS.com", title="Boss", role="reader")
    assert again == first
    assert len(api.ok("get_users")) == 2


@pytest.mark.parametrize("params", [{}, {"email": ""}, {"email": "   "}])
def test_add_user_without_email_is_field_required(api: Api, params: dict[str, str]) -> None:
    assert api.error("add_user", **params) == {"status": "error", "status_code": 10,
                                                "message": "Field is required", "message_details": "email"}


@pytest.mark.parametrize("email", ["not-an-email", "a@b.com,c@d.com", "a b@c.com", "x@" + "y" * 260 + ".com"])
def test_add_user_with_a_malformed_email_is_invalid_email_with_the_value(api: Api, email: str) -> None:
    assert api.error("add_user", email=email) == {"status": "error", "status_code": 11,
                                                   "message": "Invalid email", "message_details": email}
    assert len(api.ok("get_users")) == 1


def test_get_users_with_is_me_only_returns_the_caller_alone(api: Api) -> None:
    api.add_user("other@ws.com")
    assert api.ok("get_users", is_me_only="true")["email"] == api.owner_email


def test_overlong_text_is_cut_to_fit_instead_of_failing(api: Api) -> None:
    user = api.add_user("long@ws.com", title="t" * 1000)
    assert user["title"] == "t" * 255


# -- teams ---------------------------------------------------------------------------------------


def test_a_new_account_has_one_company_team(api: Api) -> None:
    groups = api.ok("get_user_groups")
    assert len(groups) == 1
    assert groups[0] == {"id": groups[0]["id"], "title": groups[0]["title"], "type": "company", "client": 0}
    assert groups[0]["title"] == api.ok("get_users")[0]["group"]


def test_add_user_group_creates_a_team_and_a_client_team(api: Api) -> None:
    team = api.ok("add_user_group", title="Marketing")
    client = api.ok("add_user_group", title="Singing bird", client=1)
    assert (team["title"], team["type"], team["client"]) == ("Marketing", "company", 0)
    assert client["client"] == 1
    assert isinstance(team["id"], str)
    assert [t["title"] for t in api.ok("get_user_groups")][-2:] == ["Marketing", "Singing bird"]


def test_add_user_group_with_an_existing_title_returns_that_team(api: Api) -> None:
    first = api.ok("add_user_group", title="Marketing")
    assert api.ok("add_user_group", title="Marketing", client=1) == first
    assert len(api.ok("get_user_groups")) == 2


@pytest.mark.parametrize("title", [None, "", "  "])
def test_add_user_group_without_title_is_field_required(api: Api, title: str | None) -> None:
    params = {} if title is None else {"title": title}
    assert api.error("add_user_group", **params)["message_details"] == "title"
    assert len(api.ok("get_user_groups")) == 1


# -- contacts ------------------------------------------------------------------------------------


def test_add_contact_returns_the_full_contact_and_get_contacts_lists_it(api: Api) -> None:
    fields = {"title": "manager", "group": "Clients", "phone": "1 345 234 23 67", "phone2": "486 09 77",
              "phone3": "(8984) 345 65 02", "phone4": "389 87 35", "address": "Apt. 406",
              "address2": "59064 Robby Prairie"}
    contact = api.ok("add_contact", email="brian.dragonfly@gmail.com", name="Brian Dragonfly", **fields)
    assert list(contact) == ["id", "first_name", "last_name", "name", "title", "group", "email", "phone", "phone2",
                             "phone3", "phone4", "address", "address2"]
    assert (contact["first_name"], contact["last_name"], contact["name"]) == ("Brian", "Dragonfly", "Brian Dragonfly")
    assert {k: contact[k] for k in fields} == fields
    assert api.ok("get_contacts") == [contact]


def test_contacts_omit_empty_optional_fields_and_default_to_the_default_folder(api: Api) -> None:
    contact = api.ok("add_contact", email="mike.shaw@gmail.com", name="Mike Shaw")
    assert list(contact) == ["id", "first_name", "last_name", "name", "title", "group", "email"]
    assert (contact["group"], contact["title"]) == ("DEFAULT", "")


def test_a_one_word_contact_name_is_the_first_name(api: Api) -> None:
    contact = api.ok("add_contact", email="cher@example.com", name="Cher")
    assert (contact["first_name"], contact["last_name"], contact["name"]) == ("Cher", "", "Cher")


def test_add_contact_with_a_new_folder_name_creates_the_folder(api: Api) -> None:
    api.ok("add_contact", email="s@example.com", name="Steve Powerhold", group="Contractors")
    folders = api.ok("get_contact_groups")
    assert [f["title"] for f in folders] == ["USERS", "DEFAULT", "TEAM_ONLY", "HIDDEN", "Contractors"]


def test_add_contact_into_a_preset_folder_keeps_it_a_preset(api: Api) -> None:
    contact = api.ok("add_contact", email="h@example.com", name="Hidden One", group="hidden")
    assert contact["group"] == "HIDDEN"
    assert len(api.ok("get_contact_groups")) == 4


def test_add_contact_with_a_comma_list_of_emails_is_invalid_email_with_the_whole_value(api: Api) -> None:
    value = "brian.dragonfly@gmail.com,mike.showcase@gmail.com"
    body = api.error("add_contact", email=value, name="Brian Dragonfly,Mike Showcase")
    assert body == {"status": "error", "status_code": 11, "message": "Invalid email", "message_details": value}
    assert api.ok("get_contacts") == []


@pytest.mark.parametrize(("params", "missing"), [
    ({"name": "Brian Dragonfly"}, "email"),
    ({"email": "b@example.com"}, "name"),
    ({"email": "b@example.com", "name": " "}, "name"),
])
def test_add_contact_without_email_or_name_is_field_required(api: Api, params: dict[str, str],
                                                             missing: str) -> None:
    body = api.error("add_contact", **params)
    assert (body["status_code"], body["message"], body["message_details"]) == (10, "Field is required", missing)


# -- contact folders -----------------------------------------------------------------------------


def test_get_contact_groups_begins_with_the_four_presets_with_integer_ids(api: Api) -> None:
    assert api.ok("get_contact_groups") == [
        {"id": 1, "title": "USERS", "type": "preset"}, {"id": 2, "title": "DEFAULT", "type": "preset"},
        {"id": 3, "title": "TEAM_ONLY", "type": "preset"}, {"id": 4, "title": "HIDDEN", "type": "preset"}]


def test_add_contact_group_creates_a_folder_with_a_string_id(api: Api) -> None:
    folder = api.ok("add_contact_group", title="Contractors")
    assert folder == {"id": folder["id"], "title": "Contractors", "type": "folder"}
    assert isinstance(folder["id"], str)
    assert api.ok("get_contact_groups")[-1] == folder


def test_add_contact_group_with_an_existing_title_returns_it(api: Api) -> None:
    first = api.ok("add_contact_group", title="Contractors")
    assert api.ok("add_contact_group", title="Contractors") == first
    assert api.ok("add_contact_group", title="DEFAULT") == {"id": 2, "title": "DEFAULT", "type": "preset"}
    assert len(api.ok("get_contact_groups")) == 5


def test_add_contact_group_without_title_is_field_required(api: Api) -> None:
    body = admin(api, "GET", "add_contact_group", query="title").json()
    assert body == {"status": "error", "status_code": 10, "message": "Field is required", "message_details": "title"}
