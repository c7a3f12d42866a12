"""Costs (PROTOCOL.md §4.6): add/update/delete, get_costs rows and filters, get_costs_total sums and breakdowns."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from localsection.api.params import Params
from localsection.domain.costs import parse_money, parse_time
from localsection.domain.timers import timer_minutes
from localsection.errors import ApiError
from localsection.models import Account, Cost, Project, User
from tests.factories import make_project, make_task
from tests.helpers import Api

HYPOTHESIS = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def set_rate(api: Api, email: str, rate: str) -> None:
    with api.state.db.session() as s:
        user = s.scalars(select(User).where(User.account_id == api.account_id, User.email == email)).one()
        user.rate = Decimal(rate)


def set_options(api: Api, project_id: int, **options: int) -> None:
    with api.state.db.session() as s:
        project = s.get(Project, project_id)
        assert project is not None
        project.options = {**(project.options or {}), **options}


def cost_count(api: Api) -> int:
    with api.state.db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(Cost).where(Cost.account_id == api.account_id)) or 0)


def add(api: Api, task_id: int, **params: Any) -> int:
    params.setdefault("email_user_from", api.owner_email)
    body = api.call("add_costs", id_task=task_id, **params)
    assert body["status"] == "ok", body
    return int(body["id"])


def rows_of(api: Api, **params: Any) -> list[dict[str, Any]]:
    data = api.ok("get_costs", **params)
    assert isinstance(data, list)
    return data


@pytest.fixture
def task(api: Api) -> int:
    return make_task(api, make_project(api, "Costs project"), "Costed task")


# -- add_costs ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("time", "shown"), [
    ("0.15", "0:09"), ("0,15", "0:09"), ("0:09", "0:09"), (0.15, "0:09"), (1.5, "1:30"), ("1,5", "1:30"),
    ("2", "2:00"), (90, "90:00"), ("103:39", "103:39"), ("0:5", "0:05"), (".5", "0:30"),
])
def test_add_costs_accepts_every_time_format(api: Api, task: int, time: Any, shown: str) -> None:
    add(api, task, time=time)
    assert [r["time"] for r in rows_of(api, id_task=task)] == [shown]


def test_add_costs_answers_a_top_level_integer_id_and_no_data(api: Api, task: int) -> None:
    body = api.call("add_costs", id_task=task, time="1:00", email_user_from=api.owner_email)
    assert list(body) == ["status", "id"]
    assert isinstance(body["id"], int)
    assert rows_of(api, id_task=task)[0]["id"] == str(body["id"])


def test_money_takes_a_comma_or_a_dot_and_is_exact_to_the_cent(api: Api, task: int) -> None:
    add(api, task, money="12,5")
    add(api, task, money="0.1")
    add(api, task, money="0.2")
    body = api.call("get_costs", id_task=task)
    assert [r["money"] for r in body["data"]] == ["12.50", "0.10", "0.20"]
    assert body["total"] == {"time": "0:00", "money": "12.80"}


def test_is_rate_prices_the_time_at_the_authors_hourly_rate_and_ignores_money(api: Api, task: int) -> None:
    api.add_user("kate@example.com")
    set_rate(api, "kate@example.com", "40.50")
    add(api, task, time="1:30", money="999", is_rate=1, email_user_from="kate@example.com")
    row = rows_of(api, id_task=task)[0]
    assert (row["time"], row["money"], row["user_from"]["email"]) == ("1:30", "60.75", "kate@example.com")


def test_comment_and_date_in_both_formats_are_stored(api: Api, task: int) -> None:
    add(api, task, time="1", comment="Review", date="03.01.2021")
    add(api, task, time="1", date="2021-01-02")
    rows = rows_of(api, id_task=task)
    assert [(r["date"], r["comment"]) for r in rows] == [("2021-01-02", ""), ("2021-01-03", "Review")]


def test_the_default_date_is_today_in_the_account_time_zone(api: Api, task: int) -> None:
    with api.state.db.session() as s:
        account = s.get(Account, api.account_id)
        assert account is not None
        account.timezone = "Pacific/Kiritimati"
    add(api, task, time="1")
    assert rows_of(api, id_task=task)[0]["date"] == dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()


@pytest.mark.parametrize(("params", "code", "message", "details"), [
    ({"id_task": "", "time": ""}, 10, "Field is required", "time or money"),
    ({"time": "1", "id_task": None}, 10, "Field is required", "id_task"),
    ({"time": "1", "email_user_from": None}, 10, "Field is required", "email_user_from"),
    ({"time": "1", "email_user_from": "nobody@example.com"}, 11, "Invalid email", "nobody@example.com"),
    ({"money": "5", "is_rate": 1}, 10, "Field is required", "time or money"),
    ({"time": "abc"}, 11, "Invalid time", "time"),
    ({"time": "-1"}, 11, "Invalid time", "time"),
    ({"time": "1:60"}, 11, "Invalid time", "time"),
    ({"money": "ten"}, 11, "Invalid number", "money"),
    ({"money": "-3"}, 11, "Invalid number", "money"),
    ({"time": "1", "date": "31.02.2021"}, 11, "Invalid date", "date"),
])
def test_add_costs_refuses_bad_input_and_changes_nothing(api: Api, task: int, params: dict[str, Any], code: int,
                                                         message: str, details: str) -> None:
    params = {"id_task": task, "email_user_from": api.owner_email, **params}
    body = api.error("add_costs", **{k: v for k, v in params.items() if v is not None})
    assert (body["status_code"], body["message"], body.get("message_details")) == (code, message, details)
    assert cost_count(api) == 0


def test_add_costs_on_an_unknown_or_foreign_task_is_5(api: Api, other: Api, task: int) -> None:
    foreign = make_task(other, make_project(other))
    for task_id in (foreign, 999999999, "abc"):
        body = api.error("add_costs", id_task=task_id, time="1", email_user_from=api.owner_email)
        assert (body["status_code"], body["message"]) == (5, "Task is invalid")
    assert cost_count(api) == 0 and cost_count(other) == 0


def test_timer_only_projects_refuse_manual_costs(api: Api, task: int) -> None:
    set_options(api, make_project(api), timer_only=1)
    project = make_project(api, "Timer only")
    set_options(api, project, timer_only=1)
    body = api.error("add_costs", id_task=make_task(api, project), time="1", email_user_from=api.owner_email)
    assert (body["status_code"], body["message"]) == (11, "Costs can be added from timer only")


def test_time_today_projects_refuse_other_days_and_take_today(api: Api) -> None:
    project = make_project(api, "Today only")
    set_options(api, project, time_today=1)
    task = make_task(api, project)
    body = api.error("add_costs", id_task=task, time="1", date="01.01.2020", email_user_from=api.owner_email)
    assert (body["status_code"], body["message"]) == (11, "Costs can be added for today only")
    add(api, task, time="1")
    add(api, task, time="1", date=dt.date.today().isoformat())
    assert len(rows_of(api, id_task=task)) == 2


def test_a_token_user_is_always_the_author(api: Api) -> None:
    api.add_user("kate@example.com")
    kate_id = int(api.ok("get_users")[-1]["id"])
    project = make_project(api, members=[kate_id])
    task = make_task(api, project)
    token = api.token("kate@example.com")
    body = api.user_call(token, "add_costs", id_task=task, time="0:30", email_user_from=api.owner_email)
    assert body["status"] == "ok", body
    assert rows_of(api, id_task=task)[0]["user_from"]["email"] == "kate@example.com"


# -- get_costs ------------------------------------------------------------------------------------------------


@pytest.fixture
def spread(api: Api) -> dict[str, int]:
    """Two projects, a subtask, rows on several days, two authors and one timer row."""
    api.add_user("kate@example.com")
    p1, p2 = make_project(api, "Alpha"), make_project(api, "Beta")
    t1 = make_task(api, p1, "Design")
    sub = make_task(api, p1, "Design detail", parent_id=t1)
    t2 = make_task(api, p2, "Build")
    out = {"p1": p1, "p2": p2, "t1": t1, "sub": sub, "t2": t2}
    out["a"] = add(api, t1, time="1:00", money="10", date="2024-04-01", comment="Weekly REPORT")
    out["b"] = add(api, sub, time="0:30", money="5.55", date="2024-04-15", comment="review",
                   email_user_from="kate@example.com")
    out["c"] = add(api, t2, time="2:15", date="2024-05-02", comment="Straße")
    out["d"] = add(api, t1, money="0.45", date="2024-05-31")
    with api.state.db.session() as s:
        row = s.get(Cost, out["d"])
        assert row is not None
        row.is_timer = True
    return out


def ids_of(rows: list[dict[str, Any]]) -> list[int]:
    return [int(r["id"]) for r in rows]


def test_get_costs_lists_rows_oldest_first_with_the_total_of_those_rows(api: Api, spread: dict[str, int]) -> None:
    body = api.call("get_costs")
    assert ids_of(body["data"]) == [spread[k] for k in "abcd"]
    assert body["total"] == {"time": "3:45", "money": "16.00"}
    assert list(body) == ["status", "data", "total"]


def test_get_costs_rows_have_the_documented_shape(api: Api, spread: dict[str, int]) -> None:
    row = rows_of(api, id_task=spread["sub"])[0]
    assert list(row) == ["id", "comment", "time", "money", "date", "is_timer", "user_from", "task"]
    assert row["is_timer"] is False
    assert row["user_from"]["email"] == "kate@example.com"
    assert row["task"]["id"] == str(spread["sub"])
    assert row["task"]["page"] == f"/project/{spread['p1']}/{spread['t1']}/{spread['sub']}/"
    assert "text" not in row["task"] and "parent" not in row["task"]


@pytest.mark.parametrize(("params", "expected"), [
    ({"id_project": "p1"}, "abd"),
    ({"id_task": "t1"}, "ad"),
    ({"datestart": "15.04.2024"}, "bcd"),
    ({"dateend": "2024-05-02"}, "abc"),
    ({"datestart": "2024-04-15", "dateend": "02.05.2024"}, "bc"),
    ({"is_timer": 1}, "d"),
    ({"is_timer": 0}, "abc"),
    ({"filter": "id = t2"}, "c"),
    ({"filter": "project in (p2, p1) and comment has 'e'"}, "abc"),
    ({"filter": "comment has 'report' or comment = 'REVIEW'"}, "ab"),
    ({"filter": "comment has 'STRASSE'"}, "c"),
    ({"filter": "dateadd >= '15.04.2024' and dateadd < '31.05.2024'"}, "bc"),
    ({"filter": "dateadd = '2024-05-31'", "id_project": "p1"}, "d"),
    ({"filter": "project = p2", "id_project": "p1"}, ""),
])
def test_get_costs_filters_combine(api: Api, spread: dict[str, int], params: dict[str, Any], expected: str) -> None:
    def resolve(value: Any) -> Any:
        text = str(value)
        for key in ("p1", "p2", "t1", "t2", "sub"):
            text = text.replace(key, str(spread[key]))
        return text

    body = api.call("get_costs", **{k: resolve(v) for k, v in params.items()})
    assert ids_of(body["data"]) == [spread[k] for k in expected]


def test_get_costs_by_author_id(api: Api, spread: dict[str, int]) -> None:
    kate = next(u for u in api.ok("get_users") if u["email"] == "kate@example.com")
    assert ids_of(rows_of(api, id_user=kate["id"])) == [spread["b"]]


@pytest.mark.parametrize(("params", "code", "message"), [
    ({"id_project": 999999999}, 4, "Project is invalid"),
    ({"id_task": 999999999}, 5, "Task is invalid"),
    ({"datestart": "2024-13-01"}, 11, "Invalid date"),
    ({"filter": "name has 'x'"}, 11, "Filter is invalid"),
    ({"filter": "comment > 'x'"}, 11, "Filter is invalid"),
    ({"filter": "project = 1 AND id = 2"}, 11, "Filter is invalid"),
])
def test_get_costs_refuses_bad_parameters(api: Api, params: dict[str, Any], code: int, message: str) -> None:
    body = api.error("get_costs", **params)
    assert (body["status_code"], body["message"]) == (code, message)


def test_get_costs_never_shows_another_accounts_rows(api: Api, other: Api) -> None:
    foreign_project = make_project(other)
    add(other, make_task(other, foreign_project), time="1")
    assert api.call("get_costs") == {"status": "ok", "data": [], "total": {"time": "0:00", "money": "0.00"}}
    assert api.error("get_costs", id_project=foreign_project)["status_code"] == 4


def test_a_token_user_sees_costs_only_of_tasks_they_can_see(api: Api, spread: dict[str, int]) -> None:
    kate = next(u for u in api.ok("get_users") if u["email"] == "kate@example.com")
    with api.state.db.session() as s:
        from localsection.models import ProjectMember

        s.add(ProjectMember(project_id=spread["p2"], user_id=int(kate["id"])))
    token = api.token("kate@example.com")
    body = api.user_call(token, "get_costs")
    assert ids_of(body["data"]) == [spread["c"]]
    total = api.user_call(token, "get_costs_total", extra="projects")
    assert [p["id"] for p in total["projects"]] == [str(spread["p2"])]
    assert api.user_call(token, "get_costs", id_project=spread["p1"])["status_code"] == 4


def test_the_record_cap_refuses_too_many_rows(api: Api, spread: dict[str, int]) -> None:
    old = api.state.settings.record_cap
    object.__setattr__(api.state.settings, "record_cap", 3)
    try:
        assert api.error("get_costs") == {"status": "error", "message": "Too many tasks (3 max)"}
        assert len(rows_of(api, id_project=spread["p1"])) == 3
    finally:
        object.__setattr__(api.state.settings, "record_cap", old)


# -- get_costs_total ------------------------------------------------------------------------------------------


def test_get_costs_total_has_a_top_level_total_and_no_data(api: Api, spread: dict[str, int]) -> None:
    body = api.call("get_costs_total")
    assert body == {"status": "ok", "total": {"time": "3:45", "money": "16.00"}}


def test_get_costs_total_of_nothing_is_zero(api: Api) -> None:
    assert api.call("get_costs_total") == {"status": "ok", "total": {"time": "0:00", "money": "0.00"}}
    assert api.call("get_costs_total", extra="projects") == {"status": "ok", "total": {"time": "0:00",
                                                                                        "money": "0.00"},
                                                             "projects": []}


def test_extra_projects_gives_per_project_sums_with_a_monthly_breakdown(api: Api, spread: dict[str, int]) -> None:
    body = api.call("get_costs_total", extra="projects")
    assert body["total"] == {"time": "3:45", "money": "16.00"}
    alpha, beta = body["projects"]
    assert alpha == {"id": str(spread["p1"]), "name": "Alpha", "page": f"/project/{spread['p1']}/",
                     "time": "1:30", "money": "16.00",
                     "monthly": {"2024-04": {"time": "1:30", "money": "15.55"},
                                 "2024-05": {"time": "0:00", "money": "0.45"}}}
    assert (beta["id"], beta["time"], beta["money"], list(beta["monthly"])) == (str(spread["p2"]), "2:15", "0.00",
                                                                                ["2024-05"])


def test_extra_tasks_lists_tasks_and_subtasks_separately(api: Api, spread: dict[str, int]) -> None:
    alpha = api.call("get_costs_total", extra="projects,tasks")["projects"][0]
    assert [(t["id"], t["time"], t["money"]) for t in alpha["tasks"]] == [
        (str(spread["t1"]), "1:00", "10.45"), (str(spread["sub"]), "0:30", "5.55")]
    assert list(alpha["tasks"][0]) == ["id", "name", "page", "status", "priority", "time", "money"]


def test_extra_tasks_top_level_rolls_subtask_costs_into_the_top_task(api: Api, spread: dict[str, int]) -> None:
    alpha = api.call("get_costs_total", extra=["projects", "tasks_top_level"])["projects"][0]
    assert [(t["id"], t["name"], t["time"], t["money"]) for t in alpha["tasks"]] == [
        (str(spread["t1"]), "Design", "1:30", "16.00")]


def test_task_breakdowns_need_projects_and_projects_are_ignored_with_id_task(api: Api,
                                                                             spread: dict[str, int]) -> None:
    assert "projects" not in api.call("get_costs_total", extra="tasks")
    body = api.call("get_costs_total", extra="projects,tasks", id_task=spread["t1"])
    assert body == {"status": "ok", "total": {"time": "1:00", "money": "10.45"}}


def test_get_costs_total_filter_takes_project_equal_and_in_with_and_or(api: Api, spread: dict[str, int]) -> None:
    p1, p2 = spread["p1"], spread["p2"]
    assert api.call("get_costs_total", filter=f"project = {p2}")["total"]["time"] == "2:15"
    text = f"(project={p1} and project={p2}) or project in ({p2}, 999)"
    assert api.call("get_costs_total", filter=text)["total"]["time"] == "2:15"
    assert api.call("get_costs_total", filter=f"project in ({p1}, {p2})")["total"]["time"] == "3:45"
    body = api.error("get_costs_total", filter="comment has 'x'")
    assert (body["status_code"], body["message_details"]) == (11, "unknown field 'comment' at column 1")


def test_get_costs_total_honours_dates_timer_flag_and_scope(api: Api, spread: dict[str, int]) -> None:
    assert api.call("get_costs_total", datestart="01.05.2024")["total"] == {"time": "2:15", "money": "0.45"}
    assert api.call("get_costs_total", is_timer=1)["total"] == {"time": "0:00", "money": "0.45"}
    assert api.call("get_costs_total", id_project=spread["p1"])["total"] == {"time": "1:30", "money": "16.00"}
    assert api.error("get_costs_total", id_task=999999999)["status_code"] == 5


@HYPOTHESIS
@given(st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 10_000_000), st.integers(0, 90)),
                min_size=1, max_size=12))
def test_totals_always_equal_the_sum_of_the_rows(api: Api, entries: list[tuple[int, int, int]]) -> None:
    project = make_project(api)
    tasks = [make_task(api, project, "t"), make_task(api, project, "u")]
    for i, (mins, cents, day) in enumerate(entries):
        when = dt.date(2024, 1, 1) + dt.timedelta(days=day)
        add(api, tasks[i % 2], time=f"{mins // 60}:{mins % 60:02d}", money=f"{cents // 100}.{cents % 100:02d}",
            date=when.isoformat())
    body = api.call("get_costs", id_project=project)
    minutes = sum(int(r["time"].split(":")[0]) * 60 + int(r["time"].split(":")[1]) for r in body["data"])
    cents = sum(round(Decimal(r["money"]) * 100) for r in body["data"])
    assert (minutes, cents) == (sum(e[0] for e in entries), sum(e[1] for e in entries))
    expected = {"time": f"{minutes // 60}:{minutes % 60:02d}", "money": f"{cents // 100}.{cents % 100:02d}"}
    assert body["total"] == expected
    total = api.call("get_costs_total", id_project=project, extra="projects,tasks")
    assert total["total"] == expected
    assert total["projects"][0]["time"] == expected["time"]
    assert sum(round(Decimal(m["money"]) * 100) for m in total["projects"][0]["monthly"].values()) == cents
    assert sum(round(Decimal(t["money"]) * 100) for t in total["projects"][0]["tasks"]) == cents


@given(st.integers(0, 999_999 * 60))
def test_every_time_format_round_trips_to_the_same_minutes(minutes: int) -> None:
    hours = Decimal(minutes) / 60
    assert parse_time(f"{minutes // 60}:{minutes % 60:02d}") == minutes
    assert parse_time(f"{hours:.6f}") == minutes
    assert parse_time(f"{hours:.6f}".replace(".", ",")) == minutes
    as_json = Params()
    as_json.add_json({"time": minutes / 60})  # the SDK sends a JSON number of hours
    assert parse_time(as_json.req_text("time")) == minutes


@given(st.integers(0, 10**13))
def test_money_round_trips_to_the_cent(cents: int) -> None:
    text = f"{cents // 100}.{cents % 100:02d}"
    assert parse_money(text) == cents
    assert parse_money(text.replace(".", ",")) == cents


def test_timer_time_rounds_to_the_nearest_minute_and_never_to_zero() -> None:
    assert [timer_minutes(s) for s in (0, 29, 30, 89, 90, 3600)] == [1, 1, 1, 1, 2, 60]


def test_absurd_times_are_refused() -> None:
    with pytest.raises(ApiError):
        parse_time("1000000")
    with pytest.raises(ApiError):
        parse_time("1e3")


# -- update_costs / delete_costs ------------------------------------------------------------------------------


def test_update_costs_changes_time_money_comment_and_date(api: Api, task: int) -> None:
    cost = add(api, task, time="1", money="5", comment="old", date="2024-01-01")
    assert api.call("update_costs", id_costs=cost, time="0,5", money="7,25", comment="new",
                    date="02.01.2024") == {"status": "ok"}
    row = rows_of(api, id_task=task)[0]
    assert (row["time"], row["money"], row["comment"], row["date"]) == ("0:30", "7.25", "new", "2024-01-02")
    assert rows_of(api, filter="comment = 'NEW'")[0]["id"] == str(cost)


def test_update_costs_with_is_rate_recomputes_money_from_the_new_time(api: Api, task: int) -> None:
    set_rate(api, api.owner_email, "20")
    cost = add(api, task, time="1", money="1")
    api.ok("update_costs", id_costs=cost, time="2:15", is_rate=1)
    assert rows_of(api, id_task=task)[0]["money"] == "45.00"
    api.ok("update_costs", id_costs=cost, is_rate=1, comment="same time")
    assert rows_of(api, id_task=task)[0]["money"] == "45.00"


def test_update_and_delete_of_unknown_or_foreign_rows_are_4(api: Api, other: Api, task: int) -> None:
    foreign = add(other, make_task(other, make_project(other)), time="1")
    for action in ("update_costs", "delete_costs"):
        for cost_id in (foreign, 999999999, "x"):
            body = api.error(action, id_costs=cost_id, time="1")
            assert (body["status_code"], body["message"]) == (4, "Costs not found")
        assert api.error(action)["message_details"] == "id_costs"
    assert rows_of(other)[0]["time"] == "1:00"


def test_update_costs_respects_the_project_options(api: Api) -> None:
    project = make_project(api)
    task = make_task(api, project)
    cost = add(api, task, time="1")
    set_options(api, project, time_today=1)
    assert api.error("update_costs", id_costs=cost, date="01.01.2020")["message"] == "Costs can be added for today only"
    set_options(api, project, time_today=0, timer_only=1)
    assert api.error("update_costs", id_costs=cost, time="2")["message"] == "Costs can be added from timer only"
    api.ok("update_costs", id_costs=cost, comment="comments stay editable")
    assert rows_of(api, id_task=task)[0]["time"] == "1:00"


def test_delete_costs_removes_the_row_once(api: Api, task: int) -> None:
    cost = add(api, task, time="1")
    assert api.call("delete_costs", id_costs=cost) == {"status": "ok"}
    assert rows_of(api, id_task=task) == []
    assert api.error("delete_costs", id_costs=cost)["status_code"] == 4


def test_token_users_change_only_their_own_rows(api: Api) -> None:
    api.add_user("kate@example.com")
    kate_id = int(next(u for u in api.ok("get_users") if u["email"] == "kate@example.com")["id"])
    task = make_task(api, make_project(api, members=[kate_id]))
    owners = add(api, task, time="1")
    token = api.token("kate@example.com")
    kates = api.user_call(token, "add_costs", id_task=task, time="2")["id"]
    assert api.user_call(token, "update_costs", id_costs=owners, time="5")["status_code"] == 20
    assert api.user_call(token, "delete_costs", id_costs=owners)["status_code"] == 20
    assert api.user_call(token, "update_costs", id_costs=kates, time="3")["status"] == "ok"
    assert sorted(r["time"] for r in rows_of(api, id_task=task)) == ["1:00", "3:00"]


def test_cost_actions_need_the_costs_scopes(api: Api, task: int) -> None:
    token = api.token(scopes=["tasks_read"])
    for action in ("get_costs", "get_costs_total"):
        assert api.user_call(token, action)["message_details"] == "costs_read"
    body = api.user_call(token, "add_costs", id_task=task, time="1")
    assert (body["status_code"], body["message_details"]) == (20, "costs_write")


def test_options_set_through_post_project_are_enforced(api: Api) -> None:
    project = api.ok("post_project", title="Strict", **{"options.timer_only": 1})
    task = api.ok("post_task", id_project=project["id"], title="Only timers")
    body = api.error("add_costs", id_task=task["id"], time="1", email_user_from=api.owner_email)
    assert (body["status_code"], body["message"]) == (11, "Costs can be added from timer only")
