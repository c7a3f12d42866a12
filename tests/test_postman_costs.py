"""Our cost and timer responses carry every key of the official Postman examples, nested, with the same JSON types."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from localsection import clock
from localsection.models import Cost
from tests.factories import make_project, make_task
from tests.helpers import Api

COLLECTION = Path(__file__).resolve().parents[2] / "shared" / "reference" / "ws_client_api_postman_collection.json"
pytestmark = pytest.mark.skipif(not COLLECTION.exists(), reason="Postman collection not available")


@cache
def examples() -> dict[tuple[str, str], Any]:
    """(action, example name) -> parsed example body; hand-edited trailing commas are tolerated."""
    out: dict[tuple[str, str], Any] = {}

    def walk(items: list[dict[str, Any]]) -> None:
        for item in items:
            if "item" in item:
                walk(item["item"])
                continue
            url = item["request"]["url"]
            raw = url["raw"] if isinstance(url, dict) else url
            m = re.search(r"action=([a-z_]+)", raw)
            for resp in item.get("response", []):
                if m and resp.get("body") and resp["body"].lstrip().startswith("{"):
                    body = re.sub(r",(\s*[}\]])", r"\1", resp["body"])
                    out[(m.group(1), resp["name"])] = json.loads(body)

    walk(json.loads(COLLECTION.read_text())["item"])
    return out


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def assert_covers(ours: Any, example: Any, path: str = "$") -> None:
    """Every key of `example` exists in `ours` with the same JSON type; list items compared pairwise."""
    assert kind(ours) == kind(example), f"{path}: {kind(ours)} != {kind(example)}"
    if isinstance(example, dict):
        for key, value in example.items():
            assert key in ours, f"{path}.{key} missing"
            assert_covers(ours[key], value, f"{path}.{key}")
    elif isinstance(example, list) and example:
        assert ours, f"{path}: empty list where the example has items"
        for i, item in enumerate(example):
            assert_covers(ours[min(i, len(ours) - 1)], item, f"{path}[{i}]")


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
    assert_covers(api.call("get_costs"), examples()[("get_costs", "success")])


def test_get_costs_total_matches_the_postman_example(api: Api, scene: dict[str, Any]) -> None:
    ours = api.call("get_costs_total")
    example = examples()[("get_costs_total", "success")]
    assert_covers(ours, example)
    assert set(ours) == set(example)


def test_add_update_delete_costs_match_the_postman_examples(api: Api, scene: dict[str, Any]) -> None:
    created = api.call("add_costs", id_task=scene["active"], time="0:09", email_user_from=api.owner_email)
    assert_covers(created, examples()[("add_costs", "success")])
    assert set(created) == {"status", "id"}
    assert api.call("add_costs", id_task="", time="") == examples()[("add_costs", "error")]
    assert api.call("update_costs", id_costs=created["id"], time="1") == examples()[("update_costs", "success")]
    assert api.call("delete_costs", id_costs=created["id"]) == examples()[("delete_costs", "success")]


def test_timer_actions_match_the_postman_examples(api: Api, scene: dict[str, Any]) -> None:
    token = scene["frank_token"]

    def user(action: str, **params: Any) -> dict[str, Any]:
        body = api.user_call(token, action, **params)
        body.pop("_http")
        return body

    assert user("stop_my_timer") == examples()[("stop_my_timer", "error")]
    assert user("start_my_timer", id_task=scene["active"]) == examples()[("start_my_timer", "success")]
    assert user("start_my_timer", id_task=scene["active"]) == examples()[("start_my_timer", "error")]
    clock.shift(673)
    mine = user("get_my_timer")
    # §4.7 decision: data is a list of zero or one timer where the Postman example shows the object itself.
    assert_covers(mine["data"][0], examples()[("get_my_timer", "success")]["data"])
    timers = api.md5_get("action=get_timers")
    assert_covers(timers, examples()[("get_timers", "success")])
    assert api.md5_get("action=stop_timer&timer=999999999") == examples()[("stop_timer", "error")]
    stopped = api.md5_get(f"action=stop_timer&timer={timers['data'][0]['id']}")
    assert stopped == examples()[("stop_timer", "success")]
    user("start_my_timer", id_task=scene["active"])
    assert user("stop_my_timer", comment="") == examples()[("stop_my_timer", "success")]
