"""The filter language of PROTOCOL.md §5: grammar, error messages, and compiled SQL run against real rows."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from localsection.errors import ApiError
from localsection.filters import Field, compile_filter
from localsection.models import Task
from tests.factories import make_project, make_task
from tests.helpers import Api

UTC = ZoneInfo("UTC")
KYIV = ZoneInfo("Europe/Kyiv")

TASK_FIELDS = {
    "id": Field("int", Task.id),
    "project": Field("int", Task.project_id),
    "parent": Field("int", Task.parent_id),
    "name": Field("str", Task.name_folded),
    "dateadd": Field("datetime", Task.date_added),
    "date_added": Field("datetime", Task.date_added),
    "datestart": Field("date", Task.date_start),
    "dateend": Field("date", Task.date_end),
    "dateclose": Field("datetime", Task.date_closed),
}

SPEC_VALID = [
    "project = 2456",
    "id in (1234, 1240)",
    "name = 'Task Report'",
    "name has 'Report'",
    "dateadd = '01.05.2021'",
    "(name has 'Report' or name has 'Approval') and (dateend>'25.05.2021' and dateend<'31.05.2021')",
    "(name has 'report' or name has 'review') and (dateadd<'25.05.2021' and dateadd>'31.05.2021')",
    "(project=2456 and project=2464) or project in (2450, 2470)",
    "(name has 'Bug' or name has 'Report') and (project = 302485)",
]


def error_of(text: str, fields: dict[str, Field] | None = None) -> ApiError:
    with pytest.raises(ApiError) as info:
        compile_filter(text, fields or TASK_FIELDS, UTC)
    assert info.value.code == 11
    assert info.value.message == "Filter is invalid"
    return info.value


@pytest.mark.parametrize("text", SPEC_VALID)
def test_every_valid_example_of_the_spec_compiles(text: str) -> None:
    assert compile_filter(text, TASK_FIELDS, UTC) is not None


@pytest.mark.parametrize(("text", "hint"), [
    ("name has 'Bug' and priority >= 7", "unknown field 'priority'"),
    ("name HAS 'x'", "unexpected 'HAS' at column 6"),
    ("dateend > 25.05.2021", "date must be quoted"),
    ("project in ()", "unexpected ')' at column 13"),
])
def test_the_four_failing_examples_of_the_spec_give_11_pointing_at_the_problem(text: str, hint: str) -> None:
    assert hint in (error_of(text).details or "")


@pytest.mark.parametrize("text", [
    "project=2456", "project   =   2456", " ( project = 1 ) ", "dateend!='01.01.2021'", "dateend ! = '01.01.2021'",
    "dateend>='2021-01-01'", "dateend <= \"01.01.2021\"", "id = '5'", "id in ('1', 2)", "name = \"it\\\"s\"",
    "name has 'o\\'clock'", "((project = 1))", "project = 1 or project = 2 and id = 3",
])
def test_spacing_quoting_and_nesting_variants_are_accepted(text: str) -> None:
    assert compile_filter(text, TASK_FIELDS, UTC) is not None


@pytest.mark.parametrize(("text", "hint"), [
    ("", "filter is empty"),
    ("project", "unexpected end of filter"),
    ("project = 1 AND id = 2", "unexpected 'AND'"),
    ("project = 1 Or id = 2", "unexpected 'Or'"),
    ("project IN (1)", "unexpected 'IN'"),
    ("name = 'open", "unterminated string"),
    ("name > 'x'", "operator '>' is not allowed for 'name'"),
    ("project has '1'", "operator 'has' is not allowed for 'project'"),
    ("project > 1", "operator '>' is not allowed for 'project'"),
    ("dateend in ('01.01.2021')", "operator 'in' is not allowed for 'dateend'"),
    ("name has 5", "expects a quoted string"),
    ("project = 'abc'", "expects an integer"),
    ("dateend = '31.02.2021'", "invalid date"),
    ("dateend = 'tomorrow'", "invalid date"),
    ("dateend = 20210101", "date must be quoted"),
    ("((project = 1)", "unexpected end of filter"),
    ("project = 1)", "unexpected ')'"),
    ("project = 1 # 2", "unexpected '#'"),
    ("Name = 'x'", "unknown field 'Name'"),
    ("(" * 100 + "project = 1" + ")" * 100, "nested"),
])
def test_bad_filters_are_refused_with_a_short_pointer(text: str, hint: str) -> None:
    assert hint in (error_of(text).details or "")


def test_a_field_not_declared_by_the_action_is_unknown() -> None:
    assert "unknown field 'name'" in (error_of("name = 'x'", {"project": TASK_FIELDS["project"]}).details or "")


# -- compiled filters against real rows (both databases) ---------------------------------------------------------


def ids(api: Api, text: str, tz: ZoneInfo = UTC) -> set[int]:
    with api.state.db.session(write=False) as s:
        cond = compile_filter(text, TASK_FIELDS, tz)
        return set(s.scalars(select(Task.id).where(Task.account_id == api.account_id, cond)))


@pytest.fixture
def rows(api: Api) -> dict[str, int]:
    p1 = make_project(api, "One")
    p2 = make_project(api, "Two")
    at = dt.datetime(2021, 5, 1, 10, 0)
    out = {
        "p1": p1, "p2": p2,
        "report": make_task(api, p1, "Weekly Report", date_added=at, date_end=dt.date(2021, 5, 27)),
        "approval": make_task(api, p1, "Budget APPROVAL", date_added=at + dt.timedelta(days=1),
                              date_end=dt.date(2021, 5, 31)),
        "percent": make_task(api, p2, "100% done_ok", date_added=at + dt.timedelta(days=2)),
        "straße": make_task(api, p2, "Straße plan", date_added=at + dt.timedelta(days=3)),
    }
    out["sub"] = make_task(api, p1, "Report subtask", parent_id=out["report"], date_added=at)
    return out


def test_integer_fields_match_equal_and_in_lists(api: Api, rows: dict[str, int]) -> None:
    assert ids(api, f"project = {rows['p2']}") == {rows["percent"], rows["straße"]}
    assert ids(api, f"id in ({rows['report']}, {rows['percent']}, 999999999)") == {rows["report"], rows["percent"]}
    assert ids(api, f"parent = '{rows['report']}'") == {rows["sub"]}


def test_string_fields_compare_case_insensitively_whole_or_substring(api: Api, rows: dict[str, int]) -> None:
    assert ids(api, "name = 'weekly report'") == {rows["report"]}
    assert ids(api, "name = 'Report'") == set()
    assert ids(api, "name has 'REPORT'") == {rows["report"], rows["sub"]}
    assert ids(api, "name has 'approval'") == {rows["approval"]}
    assert ids(api, "name has 'STRASSE'") == {rows["straße"]}


def test_like_wildcards_in_the_needle_are_taken_literally(api: Api, rows: dict[str, int]) -> None:
    assert ids(api, "name has '0% d'") == {rows["percent"]}
    assert ids(api, "name has '_ok'") == {rows["percent"]}
    assert ids(api, "name has '%'") == {rows["percent"]}
    assert ids(api, "name has 'y_r'") == set()


def test_and_binds_tighter_than_or_and_parentheses_override(api: Api, rows: dict[str, int]) -> None:
    loose = f"name has 'straße' or project = {rows['p1']} and name has 'approval'"
    assert ids(api, loose) == {rows["straße"], rows["approval"]}
    grouped = f"(name has 'straße' or project = {rows['p1']}) and name has 'approval'"
    assert ids(api, grouped) == {rows["approval"]}


def test_date_fields_compare_calendar_days_and_null_never_matches(api: Api, rows: dict[str, int]) -> None:
    assert ids(api, "dateend = '27.05.2021'") == {rows["report"]}
    assert ids(api, "dateend != '27.05.2021'") == {rows["approval"]}
    assert ids(api, "dateend > '27.05.2021'") == {rows["approval"]}
    assert ids(api, "dateend >= '2021-05-27'") == {rows["report"], rows["approval"]}
    assert ids(api, "dateend < '31.05.2021'") == {rows["report"]}
    assert ids(api, "dateend <= '31.05.2021'") == {rows["report"], rows["approval"]}
    assert ids(api, "(dateend<'25.05.2021' and dateend>'31.05.2021')") == set()


def test_datetime_fields_compare_only_the_date_part(api: Api, rows: dict[str, int]) -> None:
    assert ids(api, "dateadd = '01.05.2021'") == {rows["report"], rows["sub"]}
    assert ids(api, "date_added > '02.05.2021'") == {rows["percent"], rows["straße"]}
    assert ids(api, "dateadd <= '2021-05-02'") == {rows["report"], rows["sub"], rows["approval"]}
    assert ids(api, "dateclose != '01.05.2021'") == set()


def test_datetime_days_follow_the_account_time_zone(api: Api) -> None:
    project = make_project(api)
    # 22:30 UTC on 30 April is already 1 May in Kyiv (UTC+3 in summer).
    late = make_task(api, project, "late", date_added=dt.datetime(2021, 4, 30, 22, 30))
    assert ids(api, "dateadd = '01.05.2021'", KYIV) == {late}
    assert ids(api, "dateadd = '01.05.2021'", UTC) == set()
    assert ids(api, "dateadd = '30.04.2021'", UTC) == {late}


# -- size and range bounds (issue 11, item 6) ----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "hint"), [
    ("dateend = '31.12.9999'", "out of range"),
    ("dateadd > '9999-12-31'", "out of range"),
    (" or ".join(["project = 1"] * 201), "more than 200 conditions"),
    (" and ".join(["(project = 1 or id = 2)"] * 101), "more than 200 conditions"),
    ("id in (" + ", ".join(["1"] * 1001) + ")", "more than 1000 values"),
])
def test_out_of_range_dates_and_oversized_expressions_are_11(text: str, hint: str) -> None:
    assert hint in (error_of(text).details or "")


def test_the_first_day_of_year_one_is_out_of_range_only_where_its_midnight_is_before_utc_year_one() -> None:
    assert compile_filter("dateadd = '01.01.0001'", TASK_FIELDS, UTC) is not None
    with pytest.raises(ApiError) as info:
        compile_filter("dateadd = '01.01.0001'", TASK_FIELDS, KYIV)
    assert info.value.code == 11 and "out of range" in (info.value.details or "")


def test_parentheses_inside_quoted_strings_do_not_count_as_nesting() -> None:
    assert compile_filter("name has '" + "(" * 100 + "' or name = \"((\\\"((\"", TASK_FIELDS, UTC) is not None
    assert "nested" in (error_of("(" * 33 + "name has '(('" + ")" * 33).details or "")
