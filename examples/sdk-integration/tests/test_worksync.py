"""The integration against a real localsection server, through the `localsection` pytest fixture (a fresh account
per test, on a server started once per session). Nothing is mocked: the SDK talks HTTP to the server."""

from __future__ import annotations

import datetime as dt

import pytest
from worksection.client import Client
from worksection.exceptions.response_exception import ResponseException
from worksync import Bug, Retry, daily_time_report, sync_bugs, yesterdays_report

from localsection.testing import Account, ControlError

NO_WAIT = Retry(sleep=lambda seconds: None)


@pytest.fixture
def ws(localsection: Account) -> Client:
    return Client(localsection.url).set_api_key(localsection.api_key)


@pytest.fixture
def project_id(ws: Client) -> int:
    return int(ws.projects.create("Bugs", {}).id)


def needs(endpoint: str, call):  # type: ignore[no-untyped-def]
    """Skip while the server does not have `endpoint` yet (it answers its generic 404)."""
    try:
        return call()
    except ControlError as exc:
        if exc.status == 404 and exc.message == "Not found":
            pytest.skip(f"this localsection has no {endpoint} yet")
        raise


def test_a_first_sync_creates_a_task_per_open_bug_and_a_second_changes_nothing(ws: Client, project_id: int) -> None:
    bugs = [Bug(12, "Crash on save", priority=9), Bug(15, "Typo in footer", priority=1), Bug(16, "Old", closed=True)]
    first = sync_bugs(ws, project_id, bugs, NO_WAIT)
    assert (first.created, first.completed) == ([12, 15], [])
    tasks = {t.name: t for t in ws.tasks.list(project_id)}
    assert set(tasks) == {"[BUG-12] Crash on save", "[BUG-15] Typo in footer"}
    assert int(tasks["[BUG-12] Crash on save"].priority) == 9
    again = sync_bugs(ws, project_id, bugs, NO_WAIT)
    assert (again.created, again.updated, again.completed) == ([], [], [])
    assert again.task_ids == first.task_ids


def test_renamed_and_closed_bugs_update_their_tasks(ws: Client, project_id: int) -> None:
    sync_bugs(ws, project_id, [Bug(1, "Slow page"), Bug(2, "Wrong total")], NO_WAIT)
    result = sync_bugs(ws, project_id, [Bug(1, "Slow search page", priority=8), Bug(2, "Wrong total", closed=True)],
                       NO_WAIT)
    assert (result.updated, result.completed) == ([1], [2])
    task = ws.tasks.get(result.task_ids[1])
    assert (task.name, int(task.priority)) == ("[BUG-1] Slow search page", 8)
    assert ws.tasks.get(result.task_ids[2]).status == "done"


def test_existing_tasks_from_fixtures_are_matched_not_duplicated(localsection: Account, ws: Client) -> None:
    ids = needs("POST /_localsection/fixtures", lambda: localsection.fixtures({
        "projects": [{"key": "bugs", "title": "Bugs"}],
        "tasks": [{"key": "b7", "project": "bugs", "title": "[BUG-7] Login loops", "priority": 5},
                  {"key": "note", "project": "bugs", "title": "Triage notes"}]}))
    result = sync_bugs(ws, ids["bugs"], [Bug(7, "Login loops"), Bug(8, "Logout fails")], NO_WAIT)
    assert result.created == [8] and result.task_ids[7] == ids["b7"]
    assert len(ws.tasks.list(ids["bugs"])) == 3


def test_temporary_failures_are_retried_and_create_no_duplicates(localsection: Account, ws: Client,
                                                                 project_id: int) -> None:
    needs("POST /_localsection/faults", lambda: localsection.fault("post_task", http_status=503, times=2))
    waits: list[float] = []
    result = sync_bugs(ws, project_id, [Bug(3, "Flaky upload")], Retry(sleep=waits.append))
    assert result.created == [3] and waits == [0.2, 0.4]  # two 503s, then it went through
    assert [t.name for t in ws.tasks.list(project_id)] == ["[BUG-3] Flaky upload"]
    posts = localsection.requests(action="post_task")
    assert len(posts) == 3  # the request journal saw every attempt


def test_rate_limiting_is_retried_too(localsection: Account, ws: Client, project_id: int) -> None:
    needs("POST /_localsection/faults", lambda: localsection.fault("get_tasks", http_status=429, times=1))
    waits: list[float] = []
    assert sync_bugs(ws, project_id, [Bug(4, "Slow export")], Retry(sleep=waits.append)).created == [4]
    assert waits == [0.2]


def test_a_real_error_is_not_retried(localsection: Account, ws: Client, project_id: int) -> None:
    needs("POST /_localsection/faults", lambda: localsection.fault(
        "post_task", status_code=4, message="Project is closed"))
    waits: list[float] = []
    with pytest.raises(ResponseException, match="Project is closed"):
        sync_bugs(ws, project_id, [Bug(5, "Never made")], Retry(sleep=waits.append))
    assert waits == [] and ws.tasks.list(project_id) == []


def test_the_daily_report_counts_only_that_days_time(localsection: Account, ws: Client, project_id: int) -> None:
    task_id = int(ws.tasks.create(project_id, "Support", {}).id)
    ws.members.create("kate@example.com", {"first_name": "Kate"})
    localsection.clock.set(dt.datetime(2030, 3, 9, 16, 0, tzinfo=dt.UTC))  # costs default to the server's today
    ws.costs.create(task_id, {"time": "3:00", "email_user_from": "kate@example.com"})
    localsection.clock.advance(86400)  # 10 March
    ws.costs.create(task_id, {"time": "1:30", "email_user_from": localsection.owner_email})
    ws.costs.create(task_id, {"time": "0:45", "email_user_from": "kate@example.com"})
    ws.costs.create(task_id, {"time": "2:00", "email_user_from": localsection.owner_email})
    localsection.clock.advance(86400)  # 11 March: the nightly job runs
    today = localsection.clock.now().date()
    assert today == dt.date(2030, 3, 11)
    assert yesterdays_report(ws, today) == {localsection.owner_email: 210, "kate@example.com": 45}
    assert daily_time_report(ws, dt.date(2030, 3, 9)) == {"kate@example.com": 180}
    assert daily_time_report(ws, today) == {}
