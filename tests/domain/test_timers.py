"""domain.timers called directly: one running timer per user, stopping saves a cost row, admins see all."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localsection import clock, errors
from localsection.domain import costs, timers
from localsection.domain.costs import CostQuery
from tests.factories import make_project, make_task
from tests.helpers import Api


@pytest.fixture(autouse=True)
def reset_clock() -> Iterator[None]:
    yield
    clock.reset()


@pytest.fixture
def kate(api: Api) -> int:
    """A project member and a task she can change."""
    api.add_user("kate@example.com")
    kate_id = int(next(u for u in api.ok("get_users") if u["email"] == "kate@example.com")["id"])
    return make_task(api, make_project(api, "Timed", members=[kate_id]), "Timed task")


def test_a_stopped_timer_becomes_a_timer_cost_row(api: Api, kate: int) -> None:
    with api.ctx("kate@example.com") as ctx:
        started = timers.start_my_timer(ctx, task_id=kate)
        assert started.task_id == kate
    clock.shift(125)
    with api.ctx("kate@example.com") as ctx:
        running = timers.my_timer(ctx)
        assert running is not None and 125 <= timers.elapsed_seconds(ctx, running) <= 127
        saved = timers.stop_my_timer(ctx, comment="Pairing")
        assert (saved.task_id, saved.minutes, saved.comment, saved.is_timer) == (kate, 2, "Pairing", True)
        assert timers.my_timer(ctx) is None
    with api.ctx(write=False) as ctx:
        [row] = costs.list_costs(ctx, query=CostQuery(is_timer=True))
        assert (row.id, row.minutes) == (saved.id, 2)


def test_one_timer_per_user_and_none_to_stop(api: Api, kate: int) -> None:
    with api.ctx("kate@example.com") as ctx:
        timers.start_my_timer(ctx, task_id=kate)
    with pytest.raises(errors.ApiError) as exc, api.ctx("kate@example.com") as ctx:
        timers.start_my_timer(ctx, task_id=kate)
    assert (exc.value.code, exc.value.message) == (6, "Timer is already started")
    with api.ctx("kate@example.com") as ctx:
        timers.delete_my_timer(ctx)
    with pytest.raises(errors.ApiError) as exc, api.ctx("kate@example.com") as ctx:
        timers.stop_my_timer(ctx)
    assert (exc.value.code, exc.value.message) == (7, "Timer is not started")
    with api.ctx(write=False) as ctx:
        assert costs.list_costs(ctx, query=CostQuery()) == []


def test_a_timer_needs_a_task_the_user_may_change(api: Api, kate: int) -> None:
    hidden = make_task(api, make_project(api, "Not hers"))
    with pytest.raises(errors.ApiError) as exc, api.ctx("kate@example.com") as ctx:
        timers.start_my_timer(ctx, task_id=hidden)
    assert exc.value.code == 5
    api.add_user("rita@example.com", role="reader")
    with pytest.raises(errors.ApiError) as exc, api.ctx("rita@example.com") as ctx:
        timers.delete_my_timer(ctx)
    assert (exc.value.code, exc.value.details) == (20, "role")


def test_only_admins_see_and_stop_everyones_timers(api: Api, kate: int) -> None:
    with api.ctx("kate@example.com") as ctx:
        timer = timers.start_my_timer(ctx, task_id=kate)
    for call in (lambda ctx: timers.running_timers(ctx), lambda ctx: timers.stop_timer(ctx, timer_id=timer.id)):
        with pytest.raises(errors.ApiError) as exc, api.ctx("kate@example.com") as ctx:
            call(ctx)
        assert (exc.value.code, exc.value.details) == (20, "role")
    with api.ctx() as ctx:
        assert [t.id for t in timers.running_timers(ctx)] == [timer.id]
        saved = timers.stop_timer(ctx, timer_id=timer.id)
        assert saved.minutes == 1 and saved.comment == ""
        assert timers.running_timers(ctx) == []
    with pytest.raises(errors.ApiError) as exc, api.ctx() as ctx:
        timers.stop_timer(ctx, timer_id=timer.id)
    assert (exc.value.code, exc.value.message) == (7, "Timer not found")
