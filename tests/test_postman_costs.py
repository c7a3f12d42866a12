"""Our cost and timer responses carry every key of the official Postman examples, nested, with the same JSON types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from localsection import clock
from localsection.models import Cost
from tests import postman
from tests.factories import make_project, make_task
from tests.helpers import Api


def assert_shape(example: Any, ours: Any) -> None:
    """Pairwise: get_costs lists a done task's timer row (with `date_closed`), then an active task's manual row."""
    postman.assert_shape(example, ours, lists="pairwise")


@pytest.fixture(autouse=True)
def reset_clock() -> Iterator[None]:
    yield
    clock.reset()


@pytest.fixture
def scene(api: Api) -> dict[str, Any]:
    """Like the Postman data: a done task with a timer row, an active ANY task with a manual row."""
    api.add_user("frank@example.com", first_name="Frank", last_name="Harper")
    frank = int(next(u for u in api.ok("get_users") if u["email"] == "frank@example.com")["id"])
    project = make_project(api, "Performance improvement", members=[frank])
    done = make_task(api, project, "Workflow revision", status="done", user_to_id=frank,
                     date_closed=dt.datetime(2021, 1, 2, 12, 43))
    active = make_task(api, project, "Worksection implementation", user_to_any=True)
    first = api.call("add_costs", id_task=done, time="6:50", money="75.17", date="2021-01-01",
                     comment="Developed new workflow scheme", email_user_from="frank@example.com")["id"]
    with api.state.db.session() as s:
        row = s.get(Cost, first)
        assert row is not None
        row.is_timer = True
    api.ok("add_costs", id_task=active, time="3:22", date="2021-01-03", email_user_from=api.owner_email)
    return {"frank_token": api.token("frank@example.com"), "active": active}


def test_get_costs_matches_the_postman_example(api: Api, scene: dict[str, Any]) -> None:
    assert_shape(postman.example("get_costs"), api.call("get_costs"))


def test_get_costs_total_matches_the_postman_example(api: Api, scene: dict[str, Any]) -> None:
    ours = api.call("get_costs_total")
    example = postman.example("get_costs_total")
    assert_shape(example, ours)
    assert set(ours) == set(example)


def test_add_update_delete_costs_match_the_postman_examples(api: Api, scene: dict[str, Any]) -> None:
    created = api.call("add_costs", id_task=scene["active"], time="0:09", email_user_from=api.owner_email)
    assert_shape(postman.example("add_costs"), created)
    assert set(created) == {"status", "id"}
    assert api.call("add_costs", id_task="", time="") == postman.example("add_costs", "error")
    assert api.call("update_costs", id_costs=created["id"], time="1") == postman.example("update_costs", "success")
    assert api.call("delete_costs", id_costs=created["id"]) == postman.example("delete_costs", "success")


def test_timer_actions_match_the_postman_examples(api: Api, scene: dict[str, Any]) -> None:
    token = scene["frank_token"]

    def user(action: str, **params: Any) -> dict[str, Any]:
        body = api.user_call(token, action, **params)
        body.pop("_http")
        return body

    assert user("stop_my_timer") == postman.example("stop_my_timer", "error")
    assert user("start_my_timer", id_task=scene["active"]) == postman.example("start_my_timer", "success")
    assert user("start_my_timer", id_task=scene["active"]) == postman.example("start_my_timer", "error")
    clock.shift(673)
    mine = user("get_my_timer")
    # §4.7 decision: data is a list of zero or one timer where the Postman example shows the object itself.
    assert_shape(postman.example("get_my_timer")["data"], mine["data"][0])
    timers = api.md5_get("action=get_timers")
    assert_shape(postman.example("get_timers"), timers)
    assert api.md5_get("action=stop_timer&timer=999999999") == postman.example("stop_timer", "error")
    stopped = api.md5_get(f"action=stop_timer&timer={timers['data'][0]['id']}")
    assert stopped == postman.example("stop_timer", "success")
    user("start_my_timer", id_task=scene["active"])
    assert user("stop_my_timer", comment="") == postman.example("stop_my_timer", "success")
