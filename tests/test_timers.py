"""Timers (PROTOCOL.md §4.7, §2.6): user timers, admin timers, saved cost rows and who may call what."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from localsection import clock
from localsection.models import User
from tests.factories import make_project, make_task
from tests.helpers import Api


@pytest.fixture(autouse=True)
def reset_clock() -> Iterator[None]:
    yield
    clock.reset()


@pytest.fixture
def kate(api: Api) -> tuple[str, int]:
    """A project member with a token (all scopes) and a task she can see."""
    api.add_user("kate@example.com")
    kate_id = int(next(u for u in api.ok("get_users") if u["email"] == "kate@example.com")["id"])
    task = make_task(api, make_project(api, "Timed", members=[kate_id]), "Timed task")
    return api.token("kate@example.com"), task


def ok(api: Api, token: str, action: str, **params: Any) -> Any:
    body = api.user_call(token, action, **params)
    assert body["status"] == "ok", body
    return body.get("data", body)


def costs(api: Api) -> list[dict[str, Any]]:
    body = api.md5_get("action=get_costs")  # md5 signatures do not depend on the (shifted) clock
    assert body["status"] == "ok", body
    return body["data"]  # type: ignore[no-any-return]


def timers(api: Api) -> list[dict[str, Any]]:
    body = api.md5_get("action=get_timers")
    assert body["status"] == "ok", body
    return body["data"]  # type: ignore[no-any-return]


def test_a_started_timer_shows_its_elapsed_seconds_and_task(api: Api, kate: tuple[str, int]) -> None:
    token, task = kate
    assert ok(api, token, "get_my_timer") == []
    assert api.user_call(token, "start_my_timer", id_task=task) == {"_http": 200, "status": "ok"}
    clock.shift(4360)
    [timer] = ok(api, token, "get_my_timer")
    assert list(timer) == ["time", "date_started", "task"]
    assert 4360 <= timer["time"] <= 4362 and isinstance(timer["time"], int)
    assert timer["task"]["id"] == str(task) and timer["task"]["name"] == "Timed task"


def test_stopping_my_timer_saves_a_timer_cost_row_with_the_comment(api: Api, kate: tuple[str, int]) -> None:
    token, task = kate
    with api.state.db.session() as s:
        user = s.scalars(select(User).where(User.account_id == api.account_id,
                                            User.email == "kate@example.com")).one()
        user.rate = Decimal("60")
    ok(api, token, "start_my_timer", id_task=task)
    clock.shift(41 * 60 + 10)
    assert api.user_call(token, "stop_my_timer", comment="Fixed it") == {"_http": 200, "status": "ok"}
    [row] = costs(api)
    assert (row["time"], row["money"], row["is_timer"], row["comment"]) == ("0:41", "41.00", True, "Fixed it")
    assert row["user_from"]["email"] == "kate@example.com"
    assert ok(api, token, "get_my_timer") == []


def test_a_very_short_timer_still_records_one_minute(api: Api, kate: tuple[str, int]) -> None:
    token, task = kate
    ok(api, token, "start_my_timer", id_task=task)
    ok(api, token, "stop_my_timer", comment="")
    assert [r["time"] for r in costs(api)] == ["0:01"]


def test_one_running_timer_per_user(api: Api, kate: tuple[str, int]) -> None:
    token, task = kate
    ok(api, token, "start_my_timer", id_task=task)
    body = api.user_call(token, "start_my_timer", id_task=task)
    assert (body["status_code"], body["message"]) == (6, "Timer is already started")
    ok(api, api.token(), "start_my_timer", id_task=task)
    assert len(timers(api)) == 2


def test_stop_and_delete_without_a_running_timer_are_7(api: Api, kate: tuple[str, int]) -> None:
    token, _ = kate
    for action in ("stop_my_timer", "delete_my_timer"):
        body = api.user_call(token, action)
        assert (body["status_code"], body["message"]) == (7, "Timer is not started")


def test_delete_my_timer_discards_without_saving(api: Api, kate: tuple[str, int]) -> None:
    token, task = kate
    ok(api, token, "start_my_timer", id_task=task)
    clock.shift(600)
    assert api.user_call(token, "delete_my_timer") == {"_http": 200, "status": "ok"}
    assert costs(api) == [] and ok(api, token, "get_my_timer") == []


def test_start_my_timer_needs_a_task_the_user_can_see(api: Api, other: Api, kate: tuple[str, int]) -> None:
    token, _ = kate
    hidden_project_task = make_task(api, make_project(api, "Not Kate's"))
    foreign = make_task(other, make_project(other))
    for task_id in (hidden_project_task, foreign, 999999999):
        body = api.user_call(token, "start_my_timer", id_task=task_id)
        assert (body["status_code"], body["message"]) == (5, "Task is invalid")
    assert api.user_call(token, "start_my_timer")["message_details"] == "id_task"
    assert ok(api, token, "get_my_timer") == []


def test_get_timers_lists_everyones_running_timers(api: Api, kate: tuple[str, int]) -> None:
    token, task = kate
    ok(api, token, "start_my_timer", id_task=task)
    clock.shift(3600 + 12 * 60 + 45)
    [timer] = timers(api)
    assert list(timer) == ["id", "time", "date_started", "user_from", "task"]
    assert timer["time"] in ("01:12:45", "01:12:46")
    assert timer["user_from"]["email"] == "kate@example.com"
    assert timer["task"]["id"] == str(task)
    assert isinstance(timer["id"], str)


def test_stop_timer_saves_someone_elses_timer(api: Api, kate: tuple[str, int]) -> None:
    token, task = kate
    ok(api, token, "start_my_timer", id_task=task)
    clock.shift(90 * 60)
    timer_id = timers(api)[0]["id"]
    assert api.md5_get(f"action=stop_timer&timer={timer_id}") == {"status": "ok"}
    [row] = costs(api)
    assert (row["time"], row["is_timer"], row["user_from"]["email"]) == ("1:30", True, "kate@example.com")
    assert timers(api) == []
    body = api.md5_get(f"action=stop_timer&timer={timer_id}")
    assert (body["status_code"], body["message"]) == (7, "Timer not found")


def test_stop_timer_cannot_reach_another_accounts_timer(api: Api, other: Api) -> None:
    task = make_task(other, make_project(other))
    ok(other, other.token(), "start_my_timer", id_task=task)
    timer_id = timers(other)[0]["id"]
    assert api.error("stop_timer", timer=timer_id)["status_code"] == 7
    assert timers(api) == []
    assert len(timers(other)) == 1
    assert api.error("stop_timer")["message_details"] == "timer"


def test_user_methods_refuse_the_admin_key(api: Api) -> None:
    for action in ("get_my_timer", "start_my_timer", "stop_my_timer", "delete_my_timer"):
        body = api.error(action)
        assert (body["status_code"], body["message"], body["message_details"]) == (
            0, "Action is invalid", "user method: access token only")


def test_admin_methods_need_the_administrative_scope_and_an_admin_role(api: Api, kate: tuple[str, int]) -> None:
    token, _ = kate
    assert api.user_call(token, "get_timers")["message_details"] == "role"
    owner_plain = api.token(scopes=["costs_read", "costs_write"])
    assert api.user_call(owner_plain, "get_timers")["message_details"] == "administrative"
    owner_admin = api.token(scopes=["administrative"])
    assert ok(api, owner_admin, "get_timers") == []


def test_timer_actions_need_the_costs_scopes(api: Api, kate: tuple[str, int]) -> None:
    _, task = kate
    token = api.token("kate@example.com", scopes=["tasks_read"])
    assert api.user_call(token, "get_my_timer")["message_details"] == "costs_read"
    assert api.user_call(token, "start_my_timer", id_task=task)["message_details"] == "costs_write"
