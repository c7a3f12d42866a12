"""domain.members called directly (no HTTP): users, teams, contacts and contact folders."""

from __future__ import annotations

import pytest

from localsection.domain import members
from localsection.domain.members import NewContact, NewUser
from localsection.errors import ApiError
from tests.helpers import Api


def test_add_user_takes_names_from_the_email_and_creates_an_unknown_team(api: Api) -> None:
    with api.ctx() as ctx:
        user = members.add_user(ctx, new=NewUser(email=" Kate.Greenway@X.com ", role="team admin", team="Design"))
        uid = user.id
    with api.ctx() as ctx:
        [kate] = [u for u in members.list_users(ctx) if u.id == uid]
        assert (kate.email, kate.first_name, kate.last_name, kate.role) == ("kate.greenway@x.com", "kate",
                                                                           "greenway", "team admin")
        teams = members.teams_by_id(ctx)
        assert kate.team_id is not None and teams[kate.team_id].title == "Design"
        again = members.add_user(ctx, new=NewUser(email="KATE.greenway@x.com", role="guest", first_name="K"))
        assert (again.id, again.role, again.first_name) == (uid, "team admin", "kate")  # returned unchanged


def test_only_admins_hand_out_admin_roles_and_guests_invite_nobody(api: Api) -> None:
    api.add_user("user@x.com")
    api.add_user("guest@x.com", role="guest")
    with api.ctx("user@x.com") as ctx:
        with pytest.raises(ApiError) as role:
            members.add_user(ctx, new=NewUser(email="boss@x.com", role="account admin"))
        assert (role.value.code, role.value.details) == (20, "role")
        assert members.add_user(ctx, new=NewUser(email="peer@x.com")).role == "user"
    with api.ctx("guest@x.com") as ctx, pytest.raises(ApiError) as guest:
        members.add_team(ctx, title="Guests")
    assert guest.value.code == 20


def test_email_validation(api: Api) -> None:
    with api.ctx() as ctx:
        for email, code in (("", 10), ("not-an-email", 11), ("a@x.com,b@x.com", 11)):
            with pytest.raises(ApiError) as bad:
                members.add_user(ctx, new=NewUser(email=email))
            assert bad.value.code == code


def test_teams_are_found_by_title_or_created(api: Api) -> None:
    with api.ctx() as ctx:
        client = members.add_team(ctx, title="Client Co", client=True)
        same = members.add_team(ctx, title="Client Co")
        assert same.id == client.id and same.client
        assert "Client Co" in [t.title for t in members.list_teams(ctx)]


def test_contacts_go_to_a_preset_or_a_new_folder(api: Api) -> None:
    with api.ctx() as ctx:
        hidden = members.add_contact(ctx, new=NewContact(email="ann@c.com", name="Ann Lee", folder="hidden"))
        filed = members.add_contact(ctx, new=NewContact(email="bob@c.com", name="Bob", folder="Suppliers",
                                                        phone="+1 555"))
        assert (hidden.preset_folder, hidden.folder_id, hidden.first_name, hidden.last_name) == ("HIDDEN", None,
                                                                                              "Ann", "Lee")
        folders = members.contact_folders_by_id(ctx)
        assert filed.folder_id is not None and folders[filed.folder_id].title == "Suppliers"
        assert [c.email for c in members.list_contacts(ctx)] == ["ann@c.com", "bob@c.com"]
        assert members.add_contact_folder(ctx, title="default") == "DEFAULT"
        again = members.add_contact_folder(ctx, title="Suppliers")
        assert not isinstance(again, str) and again.id == filed.folder_id
        assert [f.title for f in members.list_contact_folders(ctx)] == ["Suppliers"]
        with pytest.raises(ApiError) as nameless:
            members.add_contact(ctx, new=NewContact(email="cy@c.com", name=" "))
        assert (nameless.value.code, nameless.value.details) == (10, "name")


def test_a_reader_adds_no_contact(api: Api) -> None:
    api.add_user("reader@x.com", role="reader")
    with api.ctx("reader@x.com") as ctx, pytest.raises(ApiError) as refused:
        members.add_contact(ctx, new=NewContact(email="ann@c.com", name="Ann"))
    assert refused.value.code == 20
