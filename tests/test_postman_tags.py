"""Every tags action answers in the shape of the official Postman examples (key order and JSON types)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.factories import make_project, make_task
from tests.helpers import Api

COLLECTION = Path("/work/shared/reference/ws_client_api_postman_collection.json")


def _requests(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        if "item" in item:
            yield from _requests(item["item"])
        else:
            yield item


@cache
def examples() -> dict[tuple[str, str], dict[str, Any]]:
    """{(action, "success"|"error"): example body} of the tags requests of the collection."""
    data = json.loads(COLLECTION.read_text())
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for item in _requests(data["item"]):
        if "tag" not in item["name"]:
            continue
        for resp in item.get("response", []):
            out[(item["name"], resp["name"])] = json.loads(resp["body"])
    return out


def shape(value: Any) -> Any:
    """Key order and JSON types, with lists reduced to the shape of their first item."""
    if isinstance(value, dict):
        return [(k, shape(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def example(action: str, kind: str = "success") -> dict[str, Any]:
    if not COLLECTION.exists():
        pytest.skip("Postman collection not available")
    return examples()[(action, kind)]


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
    assert shape(body) == shape(example(action))


def test_add_project_tag_groups_returns_an_empty_type_like_postman(api: Api) -> None:
    body = api.call("add_project_tag_groups", access="public", title="Budget level, Devs number")
    assert [g["type"] for g in body["data"]] == [g["type"] for g in example("add_project_tag_groups")["data"]]


@pytest.mark.parametrize("action", ["update_task_tags", "update_project_tags"])
def test_update_tags_success_and_unknown_tag_match_postman(api: Api, action: str) -> None:
    _setup(api)
    key, ident = (("id_task", make_task(api, make_project(api))) if action == "update_task_tags"
                  else ("id_project", make_project(api)))
    tag = "To-do" if action == "update_task_tags" else "Backlog"
    assert api.call(action, **{key: ident, "plus": tag, "minus": ""}) == example(action)
    wanted = example(action, "error")
    body = api.call(action, **{key: ident, "plus": wanted["message_details"]})
    assert body == wanted


@pytest.mark.parametrize(("action", "params"), [
    ("add_task_tags", {"group": "", "title": ""}),
    ("add_project_tags", {"group": "", "title": ""}),
    ("add_task_tag_groups", {"access": "public", "type": "label", "title": ""}),
    ("add_project_tag_groups", {"access": "public", "title": ""}),
])
def test_missing_fields_match_the_postman_error_example(api: Api, action: str, params: dict[str, str]) -> None:
    assert api.call(action, **params) == example(action, "error")


def test_postman_query_string_requests_work_with_md5_signatures(api: Api) -> None:
    _setup(api)
    body = api.md5_get("action=add_task_tags&group=Basic workflow&title=bug,feature,design")
    assert [t["title"] for t in body["data"]] == ["bug", "feature", "design"]
    assert api.md5_get("action=add_task_tags&group=&title") == example("add_task_tags", "error")
