"""Our project responses have every key of the official Postman examples (nested too), with the same JSON types."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from localsection.models import Project
from tests.factories import make_project
from tests.helpers import Api

COLLECTION = Path(__file__).resolve().parents[2] / "shared" / "reference" / "ws_client_api_postman_collection.json"
if not COLLECTION.exists():
    COLLECTION = Path("/work/shared/reference/ws_client_api_postman_collection.json")

_TRAILING_COMMA = re.compile(r",(\s*[\]}])")


@cache
def _examples() -> dict[str, list[dict[str, Any]]]:
    """Success example bodies by request name; two PM examples carry trailing commas (hand-edited), so strip them."""
    found: dict[str, list[dict[str, Any]]] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if "item" in item:
                walk(item["item"])
                continue
            for resp in item.get("response", []):
                try:
                    body = json.loads(_TRAILING_COMMA.sub(r"\1", resp.get("body") or "null"))
                except json.JSONDecodeError:  # the download example is a file, not JSON
                    continue
                if isinstance(body, dict) and body.get("status") == "ok":
                    found.setdefault(item["name"], []).append(body)

    walk(json.loads(COLLECTION.read_text(encoding="utf-8"))["item"])
    return found


def example(name: str, index: int = 0) -> dict[str, Any]:
    return _examples()[name][index]


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def assert_shape(expected: Any, actual: Any, path: str = "$") -> None:
    """Every key of `expected` is in `actual` with the same JSON type; lists compare item by item shape."""
    assert _kind(actual) == _kind(expected), f"{path}: {_kind(actual)} != {_kind(expected)}"
    if isinstance(expected, dict):
        if expected and all(k.isdigit() for k in expected):  # an {id: title} map such as `tags`
            assert actual, f"{path}: empty map"
            assert all(k.isdigit() for k in actual), path
            for value in actual.values():
                assert_shape(next(iter(expected.values())), value, path + ".*")
            return
        for key, value in expected.items():
            assert key in actual, f"{path}: missing {key}"
            assert_shape(value, actual[key], f"{path}.{key}")
    elif isinstance(expected, list) and expected:
        assert actual, f"{path}: empty list"
        for item in actual:
            assert_shape(expected[0], item, path + "[]")


def assert_same_key_order(expected: dict[str, Any], actual: dict[str, Any]) -> None:
    """The keys the example has appear in our object in the same relative order."""
    ours = [k for k in actual if k in expected]
    assert ours == list(expected), (ours, list(expected))


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
    expected = example("get_projects")
    assert_shape({"status": "ok"}, ours)
    assert_shape(expected["data"][0], ours["data"][0])
    assert_same_key_order(expected["data"][0], ours["data"][0])


def test_get_project_matches_the_postman_example(api: Api) -> None:
    pid = rich_project(api)
    ours = api.call("get_project", id_project=pid, extra="text,options,users")
    assert_shape(example("get_project"), ours)
    assert_same_key_order(example("get_project")["data"], ours["data"])


def test_a_sleeping_project_without_manager_matches_the_second_get_projects_item(api: Api) -> None:
    pid = int(api.ok("post_project", title="Prototyping")["id"])
    with api.state.db.session() as s:
        row = s.get(Project, pid)
        assert row is not None
        row.status = "pending"
    ours = api.ok("get_projects", extra="text,options,users")[0]
    expected = example("get_projects")["data"][1]
    assert_shape(expected, ours)
    assert set(ours) == set(expected)
    assert ours["user_to"] == expected["user_to"]
    assert ours["users"] == [ours["user_from"]]  # the author is in the team, as in the example


@pytest.mark.parametrize("index", [0, 1])
def test_post_project_matches_both_postman_examples(api: Api, index: int) -> None:
    expected = example("post_project", index)
    if index == 0:
        pid = rich_project(api)
        ours = api.call("get_project", id_project=pid, extra="options")
    else:
        ours = api.call("post_project", title="New brand launch", extra="options")
    assert_shape(expected, ours)
    assert set(ours["data"]) == set(expected["data"])
    assert_same_key_order(expected["data"], ours["data"])


def test_update_project_matches_the_postman_example(api: Api) -> None:
    pid = make_project(api, "Brand launch")
    ours = api.call("update_project", id_project=pid, title="Owl brand launch")
    assert_shape(example("update_project"), ours)
    assert list(ours["data"]) == list(example("update_project")["data"])


@pytest.mark.parametrize("name", ["close_project", "activate_project"])
def test_state_changes_answer_exactly_like_postman(api: Api, name: str) -> None:
    pid = make_project(api, "P", status="pending" if name == "activate_project" else "active")
    assert api.call(name, id_project=pid) == example(name)


@pytest.mark.parametrize("name", ["add_project_members", "delete_project_members"])
def test_member_changes_answer_exactly_like_postman(api: Api, name: str) -> None:
    api.add_user("frank.harper@ws.example.com")
    pid = make_project(api, "P")
    assert api.call(name, id_project=pid, members="frank.harper@ws.example.com") == example(name)


def test_get_project_groups_matches_the_postman_example(api: Api) -> None:
    api.ok("add_project_group", title="Design")
    api.ok("add_user_group", title="Singing bird", client=1)
    ours = api.call("get_project_groups")
    expected = example("get_project_groups")["data"]
    folder = next(g for g in ours["data"] if g["type"] == "folder")
    company = next(g for g in ours["data"] if g["type"] == "company")
    assert set(folder) == set(expected[0]) and set(company) == set(expected[1])
    assert_shape(expected[0], folder)
    assert_shape(expected[1], company)


def test_add_project_group_matches_the_postman_example(api: Api) -> None:
    ours = api.call("add_project_group", title="Outsource")
    assert_shape(example("add_project_group"), ours)
    assert set(ours["data"]) == set(example("add_project_group")["data"])
    assert ours["data"]["title"] == "Outsource" and ours["data"]["type"] == "folder"
