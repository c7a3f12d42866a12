"""Our project responses have every key of the official Postman examples (nested too), with the same JSON types."""

from __future__ import annotations

import pytest

from localsection.models import Project
from tests import postman
from tests.factories import make_project
from tests.helpers import Api


def rich_project(api: Api) -> int:
    """A project with everything the PM examples show: manager, dates, text, estimates, tags, members, options."""
    api.add_user("frank.harper@ws.example.com", first_name="Frank", last_name="Harper")
    api.add_user("kate.greenway@ws.example.com", first_name="Kate", last_name="Greenway")
    from localsection.models import Tag, TagGroup

    with api.state.db.session() as s:
        group = TagGroup(account_id=api.account_id, applies_to="project", title="Kind", type="label",
                         access="public")
        s.add(group)
        s.flush()
        s.add_all([Tag(account_id=api.account_id, group_id=group.id, title=t) for t in ("inner", "wiki")])
    data = api.ok("post_project", title="Performance improvement", email_manager="kate.greenway@ws.example.com",
                  members="frank.harper@ws.example.com", text="Inner project", company="Development",
                  datestart="01.01.2021", dateend="01.07.2021", max_time=1200, max_money=20400, tags="inner,wiki",
                  **{"options.allow_close": 1, "options.timer_only": 1})
    return int(data["id"])


def test_get_projects_matches_the_postman_example(api: Api) -> None:
    rich_project(api)
    ours = api.call("get_projects", extra="text,options,users")
    expected = postman.example("get_projects")
    postman.assert_shape({"status": "ok"}, ours)
    postman.assert_shape(expected["data"][0], ours["data"][0], key_order=True)


def test_get_project_matches_the_postman_example(api: Api) -> None:
    pid = rich_project(api)
    ours = api.call("get_project", id_project=pid, extra="text,options,users")
    postman.assert_shape(postman.example("get_project"), ours, key_order=True)


def test_a_sleeping_project_without_manager_matches_the_second_get_projects_item(api: Api) -> None:
    pid = int(api.ok("post_project", title="Prototyping")["id"])
    with api.state.db.session() as s:
        row = s.get(Project, pid)
        assert row is not None
        row.status = "pending"
    ours = api.ok("get_projects", extra="text,options,users")[0]
    expected = postman.example("get_projects")["data"][1]
    postman.assert_shape(expected, ours)
    assert set(ours) == set(expected)
    assert ours["user_to"] == expected["user_to"]
    assert ours["users"] == [ours["user_from"]]  # the author is in the team, as in the example


@pytest.mark.parametrize("index", [0, 1])
def test_post_project_matches_both_postman_examples(api: Api, index: int) -> None:
    expected = postman.example("post_project", index=index)
    if index == 0:
        pid = rich_project(api)
        ours = api.call("get_project", id_project=pid, extra="options")
    else:
        ours = api.call("post_project", title="New brand launch", extra="options")
    postman.assert_shape(expected, ours, key_order=True)
    assert set(ours["data"]) == set(expected["data"])


def test_update_project_matches_the_postman_example(api: Api) -> None:
    pid = make_project(api, "Brand launch")
    ours = api.call("update_project", id_project=pid, title="Owl brand launch")
    postman.assert_shape(postman.example("update_project"), ours)
    assert list(ours["data"]) == list(postman.example("update_project")["data"])


@pytest.mark.parametrize("name", ["close_project", "activate_project"])
def test_state_changes_answer_exactly_like_postman(api: Api, name: str) -> None:
    pid = make_project(api, "P", status="pending" if name == "activate_project" else "active")
    assert api.call(name, id_project=pid) == postman.example(name)


@pytest.mark.parametrize("name", ["add_project_members", "delete_project_members"])
def test_member_changes_answer_exactly_like_postman(api: Api, name: str) -> None:
    api.add_user("frank.harper@ws.example.com")
    pid = make_project(api, "P")
    assert api.call(name, id_project=pid, members="frank.harper@ws.example.com") == postman.example(name)


def test_get_project_groups_matches_the_postman_example(api: Api) -> None:
    api.ok("add_project_group", title="Design")
    api.ok("add_user_group", title="Singing bird", client=1)
    ours = api.call("get_project_groups")
    expected = postman.example("get_project_groups")["data"]
    folder = next(g for g in ours["data"] if g["type"] == "folder")
    company = next(g for g in ours["data"] if g["type"] == "company")
    assert set(folder) == set(expected[0]) and set(company) == set(expected[1])
    postman.assert_shape(expected[0], folder)
    postman.assert_shape(expected[1], company)


def test_add_project_group_matches_the_postman_example(api: Api) -> None:
    ours = api.call("add_project_group", title="Outsource")
    postman.assert_shape(postman.example("add_project_group"), ours)
    assert set(ours["data"]) == set(postman.example("add_project_group")["data"])
    assert ours["data"]["title"] == "Outsource" and ours["data"]["type"] == "folder"
