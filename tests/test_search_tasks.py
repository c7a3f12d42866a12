"""search_tasks: scope parameters, the §5 filter over task fields, status, extras and archive rules."""

from __future__ import annotations

import datetime as dt

import pytest

from localsection.models import Account, Task
from tests.factories import make_project, make_task
from tests.helpers import Api


def ids(data: list[dict[str, object]]) -> list[str]:
    return [str(t["id"]) for t in data]


def test_search_without_any_scope_is_10_with_the_field_list(api: Api) -> None:
    body = api.error("search_tasks", status="active", extra="text")
    assert (body["status_code"], body["message"]) == (10, "At least one of fields required")
    assert body["message_details"] == "filter, id_project, id_task, email_user_from, email_user_to"


def test_search_returns_tasks_and_subtasks_flat_with_their_parent(api: Api) -> None:
    pid = make_project(api)
    top = make_task(api, pid, "Worksection implementation")
    sub = make_task(api, pid, "Worksection docs", parent_id=top)
    make_task(api, pid, "Other")
    data = api.ok("search_tasks", filter="name has 'Worksection'")
    assert ids(data) == [str(top), str(sub)]
    assert "parent" not in data[0] and "child" not in data[0]
    assert data[1]["parent"]["id"] == str(top)


def test_filter_fields_select_the_expected_tasks(api: Api) -> None:
    p1, p2 = make_project(api, "A"), make_project(api, "B")
    a = make_task(api, p1, "Task Report", date_start=dt.date(2021, 5, 20), date_end=dt.date(2021, 5, 26),
                  date_added=dt.datetime(2021, 5, 1, 10, 0))
    b = make_task(api, p1, "Approval", date_end=dt.date(2021, 6, 1), date_added=dt.datetime(2021, 5, 2, 9, 0))
    c = make_task(api, p2, "Bug report", parent_id=None, date_added=dt.datetime(2021, 5, 3, 9, 0))
    d = make_task(api, p2, "Child item", parent_id=c)
    cases = {
        f"project = {p1}": [a, b],
        f"id in ({a}, {c})": [a, c],
        f"parent = {c}": [d],
        "name = 'task report'": [a],
        "name has 'REPORT'": [a, c],
        "dateadd = '01.05.2021'": [a],
        "date_added >= '2021-05-02'": [b, c, d],
        "datestart = '20.05.2021'": [a],
        "(name has 'Report' or name has 'Approval') and (dateend>'25.05.2021' and dateend<'02.06.2021')": [a, b],
        f"(name has 'Bug' or name has 'Report') and (project = {p2})": [c],
        "dateend != '01.06.2021'": [a],
    }
    for text, expected in cases.items():
        assert ids(api.ok("search_tasks", filter=text)) == [str(t) for t in expected], text


def test_date_closed_filters_only_match_done_tasks(api: Api) -> None:
    pid = make_project(api)
    done = make_task(api, pid, "done", status="done", date_closed=dt.datetime(2021, 3, 5, 12, 0))
    make_task(api, pid, "open")
    assert ids(api.ok("search_tasks", filter="dateclose = '05.03.2021'")) == [str(done)]
    assert ids(api.ok("search_tasks", filter="date_closed != '06.03.2021'")) == [str(done)]


def test_date_filters_use_the_account_time_zone(api: Api) -> None:
    with api.state.db.session() as s:
        account = s.get(Account, api.account_id)
        assert account is not None
        account.timezone = "Europe/Kyiv"
    pid = make_project(api)
    late = make_task(api, pid, "late evening UTC", date_added=dt.datetime(2021, 5, 1, 22, 30))
    assert ids(api.ok("search_tasks", filter="dateadd = '02.05.2021'")) == [str(late)]
    assert api.ok("search_tasks", filter="dateadd = '01.05.2021'") == []


@pytest.mark.parametrize("text", ["name has 'Bug' and priority >= 7", "name HAS 'x'", "dateend > 25.05.2021",
                                  "project in ()", "name has 'x' AND id = 1", "comment has 'x'"])
def test_invalid_filters_are_11_with_a_pointer_to_the_problem(api: Api, text: str) -> None:
    body = api.error("search_tasks", filter=text)
    assert (body["status_code"], body["message"]) == (11, "Filter is invalid")
    assert body["message_details"]


def test_scope_parameters_combine_with_and(api: Api) -> None:
    pid, other_pid = make_project(api, "A"), make_project(api, "B")
    frank = api.add_user("frank@example.com")
    mine = make_task(api, pid, "mine", user_to_id=int(frank["id"]))
    make_task(api, pid, "anyone", user_to_any=True)
    make_task(api, other_pid, "elsewhere", user_to_id=int(frank["id"]))
    by_frank = make_task(api, pid, "by frank")
    with api.state.db.session() as s:
        row = s.get(Task, by_frank)
        assert row is not None
        row.user_from_id = int(frank["id"])
    assert ids(api.ok("search_tasks", id_project=pid, email_user_to="frank@example.com")) == [str(mine)]
    assert ids(api.ok("search_tasks", email_user_from="frank@example.com")) == [str(by_frank)]
    assert len(api.ok("search_tasks", id_project=pid, email_user_to="ANY")) == 1
    assert ids(api.ok("search_tasks", id_project=pid, email_user_to="NOONE")) == [str(by_frank)]


def test_id_task_searches_the_task_and_its_subtasks(api: Api) -> None:
    pid = make_project(api)
    top = make_task(api, pid, "top")
    sub = make_task(api, pid, "sub", parent_id=top)
    subsub = make_task(api, pid, "subsub", parent_id=sub)
    make_task(api, pid, "unrelated")
    assert ids(api.ok("search_tasks", id_task=top)) == [str(top), str(sub), str(subsub)]
    assert ids(api.ok("search_tasks", id_task=top, filter="name has 'subsub'")) == [str(subsub)]


def test_status_narrows_to_active_or_done(api: Api) -> None:
    pid = make_project(api)
    open_t, done_t = make_task(api, pid, "o"), make_task(api, pid, "d", status="done")
    assert ids(api.ok("search_tasks", id_project=pid, status="active")) == [str(open_t)]
    assert ids(api.ok("search_tasks", id_project=pid, status="done")) == [str(done_t)]


def test_archived_projects_are_searched_only_with_a_project_scope(api: Api) -> None:
    old = make_project(api, "Old", status="archive")
    t = make_task(api, old, "archived report")
    assert api.ok("search_tasks", filter="name has 'report'") == []
    assert ids(api.ok("search_tasks", id_project=old)) == [str(t)]
    assert ids(api.ok("search_tasks", filter=f"project = {old} and name has 'report'")) == [str(t)]
    assert api.ok("search_tasks", filter="name has 'project'") == []


def test_search_extras_are_limited_to_text_html_and_files(api: Api) -> None:
    pid = make_project(api)
    make_task(api, pid, "t", text="body")
    [task] = api.ok("search_tasks", id_project=pid, extra="text,comments,subtasks")
    assert task["text"] == "body"
    assert "has_comments" not in task and "child" not in task


def test_search_never_crosses_accounts_or_hidden_tasks(api: Api, other: Api) -> None:
    foreign_pid = make_project(other)
    make_task(other, foreign_pid, "their report")
    assert api.ok("search_tasks", filter="name has 'report'") == []
    assert api.error("search_tasks", id_project=foreign_pid)["status_code"] == 4
    pid = make_project(api)
    user = api.add_user("member@example.com")
    from localsection.models import ProjectMember

    with api.state.db.session() as s:
        s.add(ProjectMember(project_id=pid, user_id=int(user["id"])))
    make_task(api, pid, "hidden report", hidden=True)
    visible = make_task(api, pid, "plain report")
    token = api.token("member@example.com")
    body = api.user_call(token, "search_tasks", filter="name has 'report'")
    assert ids(body["data"]) == [str(visible)]


def test_unknown_scope_values_are_refused(api: Api) -> None:
    assert api.error("search_tasks", email_user_to="ghost@example.com")["status_code"] == 11
    assert api.error("search_tasks", id_task=999999999)["status_code"] == 5
    assert api.error("search_tasks", id_project=999999999)["status_code"] == 4
