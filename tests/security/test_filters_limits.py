"""Attack (issue 11, item 6): filters that used to answer 500 — far dates, and expression trees too large for the
database — now answer `11 Filter is invalid`; filters at the limits still run on both databases."""

from __future__ import annotations

import datetime as dt

import pytest

from localsection import filters
from localsection.models import Account
from tests.factories import make_project, make_task
from tests.helpers import Api

INVALID = {"status": "error", "status_code": 11, "message": "Filter is invalid"}


def refused(api: Api, action: str, text: str) -> str:
    """Call `action` with `filter=text` and assert the exact 11 envelope; returns the details."""
    body = api.call(action, filter=text)
    assert {k: body.get(k) for k in INVALID} == INVALID, body
    return str(body.get("message_details", ""))


@pytest.mark.parametrize(("action", "text"), [
    ("search_tasks", "dateadd < '9999-12-31'"),
    ("search_tasks", "dateend > '31.12.9999'"),
    ("search_tasks", "date_closed != '31.12.9999'"),
    ("get_costs", "dateadd <= '31.12.9999'"),
    ("get_costs", "dateadd = '9999-12-31'"),
])
def test_the_last_representable_day_is_refused_as_out_of_range_not_a_500(api: Api, action: str, text: str) -> None:
    assert "out of range" in refused(api, action, text)


def test_year_one_in_a_zone_east_of_utc_is_refused_as_out_of_range(api: Api) -> None:
    with api.state.db.session() as s:
        row = s.get(Account, api.account_id)
        assert row is not None
        row.timezone = "Europe/Kyiv"
    # Local midnight of 01.01.0001 in Kyiv is still year 0 in UTC, which Python cannot represent.
    assert "out of range" in refused(api, "search_tasks", "dateadd = '01.01.0001'")


def test_far_but_representable_dates_still_work(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid, "old", date_added=dt.datetime(2021, 5, 1, 10, 0), date_end=dt.date(2021, 5, 3))
    assert [t["id"] for t in api.ok("search_tasks", filter="dateadd < '30.12.9999'")] == [str(tid)]
    assert [t["id"] for t in api.ok("search_tasks", filter="dateend > '01.01.0001'")] == [str(tid)]
    assert api.ok("get_costs", filter="dateadd < '30.12.9999'") == []


def test_995_or_terms_under_the_length_cap_are_11_not_a_database_500(api: Api) -> None:
    text = " or ".join(["id = 1"] * 995)
    assert len(text) < filters.MAX_LENGTH
    details = refused(api, "search_tasks", text)
    assert f"more than {filters.MAX_CONDITIONS} conditions" in details
    refused(api, "get_costs", text)
    refused(api, "get_costs_total", " or ".join(["project = 1"] * 995))


def test_a_filter_of_exactly_the_maximum_of_the_costliest_conditions_runs_on_both_databases(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid, "kept", date_end=dt.date(2021, 5, 3))
    # `!=` on a date is the deepest condition: NOT NULL and (before or after); mixing and/or nests the tree.
    terms = [f"dateend != '0{1 + i % 9}.01.2020'" for i in range(filters.MAX_CONDITIONS)]
    text = " and ".join(terms[:100]) + " or " + " or ".join(terms[100:])
    assert len(text) <= filters.MAX_LENGTH
    assert [t["id"] for t in api.ok("search_tasks", filter=text)] == [str(tid)]
    over = text + " or dateend = '01.01.2020'"
    assert f"more than {filters.MAX_CONDITIONS} conditions" in refused(api, "search_tasks", over)


def test_nesting_at_the_limit_runs_and_one_level_deeper_is_refused(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid, "x")
    at_limit = "(" * filters.MAX_DEPTH + f"id = {tid}" + ")" * filters.MAX_DEPTH
    assert [t["id"] for t in api.ok("search_tasks", filter=at_limit)] == [str(tid)]
    # Alternating and/or at every level: every parenthesis is a real node of the SQL tree.
    nested = f"id = {tid}"
    for i in range(filters.MAX_DEPTH):
        nested = f"(id = {tid} {'and' if i % 2 else 'or'} {nested})"
    assert [t["id"] for t in api.ok("search_tasks", filter=nested)] == [str(tid)]
    assert "nested" in refused(api, "search_tasks", "(" + nested + ")")


def test_in_lists_are_bounded_in_total_values(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid, "x")
    values = ", ".join(str(tid + i) for i in range(filters.MAX_IN_VALUES))
    assert [t["id"] for t in api.ok("search_tasks", filter=f"id in ({values})")] == [str(tid)]
    details = refused(api, "search_tasks", f"id in ({values}) or id in (1)")
    assert f"more than {filters.MAX_IN_VALUES} values" in details
