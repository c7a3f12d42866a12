"""domain.costs called directly: rows written and read back, totals, who may add and change rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from localsection import errors
from localsection.domain import costs
from localsection.domain.costs import CostQuery
from localsection.models import User
from tests.factories import make_project, make_task
from tests.helpers import Api


def _user(api: Api, email: str, role: str = "user") -> int:
    api.add_user(email, role=role)
    return int(next(u for u in api.ok("get_users") if u["email"] == email)["id"])


def _code(exc: pytest.ExceptionInfo[errors.ApiError]) -> tuple[int | None, str, str | None]:
    return exc.value.code, exc.value.message, exc.value.details


def test_a_row_added_by_the_admin_key_is_read_back_with_its_total(api: Api) -> None:
    task = make_task(api, make_project(api, "Billing"), "Invoice")
    with api.ctx() as ctx:
        first = costs.add_cost(ctx, task_id=task, author_email=api.owner_email, minutes=90, cents=1250,
                               day=dt.date(2024, 5, 2), comment="Design")
        costs.add_cost(ctx, task_id=task, author_email=api.owner_email, minutes=30, day=dt.date(2024, 5, 1))
    with api.ctx(write=False) as ctx:
        rows = costs.list_costs(ctx, query=CostQuery(task_id=task))
        assert [r.date for r in rows] == [dt.date(2024, 5, 1), dt.date(2024, 5, 2)]
        assert (rows[1].id, rows[1].minutes, rows[1].money_cents, rows[1].comment) == (first, 90, 1250, "Design")
        assert rows[1].user_id == api.owner_id and not rows[1].is_timer
        assert costs.cost_total(ctx, query=CostQuery(task_id=task)) == (120, 1250)
        assert costs.cost_total(ctx, query=CostQuery(task_id=task, start=dt.date(2024, 5, 2))) == (90, 1250)
        assert [r.id for r in costs.list_costs(ctx, query=CostQuery(filter="comment has 'design'"))] == [first]


def test_the_admin_key_must_name_the_author_and_needs_time_or_money(api: Api) -> None:
    task = make_task(api, make_project(api))
    with pytest.raises(errors.ApiError) as exc, api.ctx() as ctx:
        costs.add_cost(ctx, task_id=task, minutes=10)
    assert _code(exc) == (10, "Field is required", "email_user_from")
    with pytest.raises(errors.ApiError) as exc, api.ctx() as ctx:
        costs.add_cost(ctx, task_id=task, author_email=api.owner_email, cents=500, is_rate=True)
    assert _code(exc) == (10, "Field is required", "time or money")


def test_a_user_is_the_author_of_their_rows_and_sees_only_their_projects(api: Api) -> None:
    kate = _user(api, "kate@example.com")
    mine = make_task(api, make_project(api, "Mine", members=[kate]))
    other = make_task(api, make_project(api, "Other"))
    with api.ctx("kate@example.com") as ctx:
        costs.add_cost(ctx, task_id=mine, author_email=api.owner_email, minutes=15)
    with pytest.raises(errors.ApiError) as exc, api.ctx("kate@example.com") as ctx:
        costs.add_cost(ctx, task_id=other, minutes=15)
    assert _code(exc) == (5, "Task is invalid", None)
    with api.ctx() as ctx:
        costs.add_cost(ctx, task_id=other, author_email=api.owner_email, minutes=45)
    with api.ctx("kate@example.com", write=False) as ctx:
        [row] = costs.list_costs(ctx, query=CostQuery())
        assert (row.task_id, row.user_id, row.minutes) == (mine, kate, 15)
        with pytest.raises(errors.ApiError) as exc:
            costs.list_costs(ctx, query=CostQuery(task_id=other))
        assert exc.value.code == 5


def test_a_reader_may_not_add_and_only_admins_or_the_author_may_change_a_row(api: Api) -> None:
    kate = _user(api, "kate@example.com")
    reader = _user(api, "rita@example.com", role="reader")
    task = make_task(api, make_project(api, members=[kate, reader]))
    with pytest.raises(errors.ApiError) as exc, api.ctx("rita@example.com") as ctx:
        costs.add_cost(ctx, task_id=task, minutes=5)
    assert _code(exc) == (20, "Access denied", "role")
    with api.ctx() as ctx:
        owners = costs.add_cost(ctx, task_id=task, author_email=api.owner_email, minutes=5)
    with pytest.raises(errors.ApiError) as exc, api.ctx("kate@example.com") as ctx:
        costs.update_cost(ctx, cost_id=owners, comment="mine now")
    assert _code(exc) == (20, "Access denied", "author")
    with api.ctx("kate@example.com") as ctx:
        kates = costs.add_cost(ctx, task_id=task, minutes=5)
        costs.update_cost(ctx, cost_id=kates, minutes=75, comment="Review", day=dt.date(2024, 1, 3))
    with api.ctx(write=False) as ctx:
        row = next(r for r in costs.list_costs(ctx, query=CostQuery()) if r.id == kates)
        assert (row.minutes, row.comment, row.date) == (75, "Review", dt.date(2024, 1, 3))
    with api.ctx("kate@example.com") as ctx:
        costs.delete_cost(ctx, cost_id=kates)
    with pytest.raises(errors.ApiError) as exc, api.ctx() as ctx:
        costs.delete_cost(ctx, cost_id=kates)
    assert _code(exc) == (4, "Costs not found", None)


def test_project_options_refuse_manual_amounts_and_other_days(api: Api) -> None:
    timer_only = make_task(api, make_project(api, "Timer only", options={"timer_only": "1"}))
    today_only = make_task(api, make_project(api, "Today only", options={"time_today": 1}))
    with pytest.raises(errors.ApiError) as exc, api.ctx() as ctx:
        costs.add_cost(ctx, task_id=timer_only, author_email=api.owner_email, minutes=10)
    assert _code(exc) == (11, "Costs can be added from timer only", None)
    with pytest.raises(errors.ApiError) as exc, api.ctx() as ctx:
        costs.add_cost(ctx, task_id=today_only, author_email=api.owner_email, minutes=10,
                       day=dt.date(2001, 1, 1))
    assert _code(exc) == (11, "Costs can be added for today only", None)
    with api.ctx() as ctx:
        costs.add_cost(ctx, task_id=today_only, author_email=api.owner_email, minutes=10)
        assert costs.cost_total(ctx, query=CostQuery()) == (10, 0)


def test_is_rate_prices_time_at_the_authors_rate(api: Api) -> None:
    kate = _user(api, "kate@example.com")
    with api.state.db.session() as s:
        user = s.get(User, kate)
        assert user is not None
        user.rate = Decimal("40")
    task = make_task(api, make_project(api))
    with api.ctx() as ctx:
        cost_id = costs.add_cost(ctx, task_id=task, author_email="kate@example.com", minutes=90, cents=1,
                                 is_rate=True)
        assert costs.cost_total(ctx, query=CostQuery()) == (90, 6000)
        costs.update_cost(ctx, cost_id=cost_id, minutes=30, is_rate=True)
        assert costs.cost_total(ctx, query=CostQuery()) == (30, 2000)


def test_project_sums_by_month_and_top_task(api: Api) -> None:
    project = make_project(api, "Sums")
    top = make_task(api, project, "Top")
    sub = make_task(api, project, "Sub", parent_id=top)
    with api.ctx() as ctx:
        for task, day, minutes in ((top, dt.date(2024, 4, 30), 60), (sub, dt.date(2024, 5, 1), 30)):
            costs.add_cost(ctx, task_id=task, author_email=api.owner_email, minutes=minutes, day=day)
    with api.ctx(write=False) as ctx:
        [item], total = costs.project_costs(ctx, query=CostQuery(), per_task="tasks_top_level")
        assert total == (90, 0) and (item.id, item.name, item.sums) == (project, "Sums", (90, 0))
        assert item.monthly == {"2024-04": (60, 0), "2024-05": (30, 0)}
        assert item.tasks is not None and [(t.id, s) for t, s in item.tasks] == [(top, (90, 0))]
        [item], _ = costs.project_costs(ctx, query=CostQuery())
        assert item.tasks is None


def test_value_formats_of_time_and_money() -> None:
    assert costs.parse_time("1:30") == costs.parse_time("1,5") == 90
    assert costs.parse_money("12,345") == 1235
    with pytest.raises(errors.ApiError) as exc:
        costs.parse_time("1:75")
    assert _code(exc) == (11, "Invalid time", "time")
