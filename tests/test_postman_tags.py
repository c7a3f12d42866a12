"""Every tags action answers in the shape of the official Postman examples (key order and JSON types)."""

from __future__ import annotations

import pytest

from tests import postman
from tests.factories import make_project, make_task
from tests.helpers import Api


def _setup(api: Api) -> None:
    api.ok("add_task_tag_groups", type="status", access="public", title="Basic workflow")
    api.ok("add_task_tags", group="Basic workflow", title="To-do,In progress")
    api.ok("add_project_tag_groups", type="status", access="public", title="Project status")
    api.ok("add_project_tags", group="Project status", title="Backlog,Paused")


@pytest.mark.parametrize(("action", "params"), [
    ("get_task_tags", {"group": "Basic workflow"}),
    ("get_task_tag_groups", {}),
    ("get_project_tags", {"group": "Project status"}),
    ("get_project_tag_groups", {}),
    ("add_task_tags", {"group": "Basic workflow", "title": "bug,feature,design"}),
    ("add_project_tags", {"group": "Project status", "title": "paid, bill, contract"}),
    ("add_task_tag_groups", {"access": "public", "type": "label", "title": "Development,Marketing"}),
    ("add_project_tag_groups", {"access": "public", "title": "Budget level, Devs number"}),
])
def test_tag_lists_and_creations_match_the_postman_success_example(api: Api, action: str,
                                                                   params: dict[str, str]) -> None:
    _setup(api)
    body = api.call(action, **params)
    postman.assert_shape(postman.example(action), body, key_order=True, exact=True)


def test_add_project_tag_groups_returns_an_empty_type_like_postman(api: Api) -> None:
    body = api.call("add_project_tag_groups", access="public", title="Budget level, Devs number")
    assert [g["type"] for g in body["data"]] == [g["type"] for g in postman.example("add_project_tag_groups")["data"]]


@pytest.mark.parametrize("action", ["update_task_tags", "update_project_tags"])
def test_update_tags_success_and_unknown_tag_match_postman(api: Api, action: str) -> None:
    _setup(api)
    key, ident = (("id_task", make_task(api, make_project(api))) if action == "update_task_tags"
                  else ("id_project", make_project(api)))
    tag = "To-do" if action == "update_task_tags" else "Backlog"
    assert api.call(action, **{key: ident, "plus": tag, "minus": ""}) == postman.example(action)
    wanted = postman.example(action, "error")
    body = api.call(action, **{key: ident, "plus": wanted["message_details"]})
    assert body == wanted


@pytest.mark.parametrize(("action", "params"), [
    ("add_task_tags", {"group": "", "title": ""}),
    ("add_project_tags", {"group": "", "title": ""}),
    ("add_task_tag_groups", {"access": "public", "type": "label", "title": ""}),
    ("add_project_tag_groups", {"access": "public", "title": ""}),
])
def test_missing_fields_match_the_postman_error_example(api: Api, action: str, params: dict[str, str]) -> None:
    assert api.call(action, **params) == postman.example(action, "error")


def test_postman_query_string_requests_work_with_md5_signatures(api: Api) -> None:
    _setup(api)
    body = api.md5_get("action=add_task_tags&group=Basic workflow&title=bug,feature,design")
    assert [t["title"] for t in body["data"]] == ["bug", "feature", "design"]
    assert api.md5_get("action=add_task_tags&group=&title") == postman.example("add_task_tags", "error")
