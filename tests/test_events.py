"""get_events: period syntax and bounds, id_project, order and the event object (PROTOCOL.md §8)."""

from __future__ import annotations

from typing import Any

import pytest

from localsection import clock, events
from tests import postman
from tests.factories import make_project
from tests.helpers import Api


def record(api: Api, action: str, object_type: str, object_id: int, project_id: int, **kw: Any) -> None:
    with api.ctx() as ctx:
        events.record(ctx, action, object_type, object_id, f"/project/{project_id}/{object_id}/", project_id, **kw)


@pytest.mark.parametrize("period", ["", "0d", "60d", "31d", "73h", "361m", "1w", "-1d", "1.5h", "01d", "d", "99999d"])
def test_a_missing_or_out_of_range_period_is_field_is_required(api: Api, period: str) -> None:
    assert api.error("get_events", period=period) == postman.example("get_events", "error")


@pytest.mark.parametrize("period", ["1m", "360m", "72h", "30d"])
def test_periods_up_to_the_bounds_are_accepted(api: Api, period: str) -> None:
    assert api.ok("get_events", period=period) == []


def test_events_have_the_postman_shape_and_come_oldest_first(api: Api) -> None:
    p = make_project(api, "Log")
    owner_ref = {"id": str(api.owner_id), "email": api.owner_email, "name": api.ok("get_users")[0]["name"]}
    record(api, "post", "project", p, p, new={"title": "Log", "user_to": owner_ref})
    record(api, "update", "task", 7, p, new={"priority": "7"}, old={"priority": "1"})
    record(api, "close", "task", 7, p)
    data = api.ok("get_events", period="1h")
    example = postman.example("get_events", "success")["data"]
    assert [list(e) for e in data] == [list(example[0]), list(example[2]), list(example[3])]
    assert [e["action"] for e in data] == ["post", "update", "close"]
    assert data[0]["object"] == {"type": "project", "id": str(p), "page": f"/project/{p}/{p}/"}
    assert data[0]["user_from"] == owner_ref
    assert (data[1]["new"], data[1]["old"]) == ({"priority": "7"}, {"priority": "1"})
    assert "new" not in data[2] and "old" not in data[2]


def test_only_events_within_the_period_are_returned(api: Api) -> None:
    p = make_project(api)
    clock.shift(-2 * 3600)
    try:
        record(api, "post", "task", 1, p)
    finally:
        clock.shift(2 * 3600)
    record(api, "post", "task", 2, p)
    assert [e["object"]["id"] for e in api.ok("get_events", period="1h")] == ["2"]
    assert [e["object"]["id"] for e in api.ok("get_events", period="3h")] == ["1", "2"]
    assert [e["object"]["id"] for e in api.ok("get_events", period="90m")] == ["2"]


def test_id_project_limits_the_log_and_an_unknown_project_is_invalid(api: Api, other: Api) -> None:
    a, b = make_project(api, "A"), make_project(api, "B")
    record(api, "post", "task", 1, a)
    record(api, "post", "task", 2, b)
    assert [e["object"]["id"] for e in api.ok("get_events", period="1d", id_project=a)] == ["1"]
    assert api.error("get_events", period="1d", id_project=999999999)["message"] == "Project is invalid"
    assert api.error("get_events", period="1d", id_project=make_project(other))["status_code"] == 4


def test_accounts_never_see_each_others_events(api: Api, other: Api) -> None:
    record(api, "post", "task", 1, make_project(api))
    assert other.ok("get_events", period="1d") == []


def test_a_user_sees_only_events_of_projects_they_can_see(api: Api) -> None:
    member = api.add_user("member@example.com")
    mine = make_project(api, "Mine", members=[int(member["id"])])
    record(api, "post", "task", 1, mine)
    record(api, "post", "task", 2, make_project(api, "Secret"))
    body = api.user_call(api.token("member@example.com"), "get_events", period="1d")
    assert [e["object"]["id"] for e in body["data"]] == ["1"]


def test_creating_a_project_through_the_api_is_logged(api: Api) -> None:
    created = api.ok("post_project", title="Logged")
    data = api.ok("get_events", period="1h")
    assert [(e["action"], e["object"]["type"], e["object"]["id"]) for e in data] == [("post", "project",
                                                                                      created["id"])]
    assert data[0]["new"]["title"] == "Logged"


def test_events_of_objects_created_for_another_author_name_that_author(api: Api) -> None:
    author = api.add_user("writer@example.com")
    project = api.ok("post_project", title="Authored", email_user_from=author["email"])
    task = api.ok("post_task", id_project=project["id"], title="Draft", email_user_from=author["email"])
    api.ok("post_comment", id_task=task["id"], text="Done", email_user_from=author["email"])
    events = api.ok("get_events", period="1h")
    assert [(e["action"], e["object"]["type"], e["user_from"]["email"]) for e in events] == [
        ("post", "project", "writer@example.com"),
        ("post", "task", "writer@example.com"),
        ("post", "comment", "writer@example.com"),
    ]
