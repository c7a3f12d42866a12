"""The `localsection` fixture's methods against a real server, through the official SDK (this suite loads the plugin
through its entry point like any user's). Endpoints that are not on the branch yet are skipped while the server
answers them with its generic 404; the ones already there (accounts, reset, clock, tokens) never skip."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from localsection.testing import Account, ControlError, LocalsectionServer, ServerError

T = TypeVar("T")


def or_skip(endpoint: str, call: Callable[[], T]) -> T:
    """The call's result; a skip (with the reason) when the endpoint does not exist on this server yet."""
    try:
        return call()
    except ControlError as exc:
        if exc.status == 404 and exc.message == "Not found":
            pytest.skip(f"{endpoint} is not on this branch yet (built in parallel, merged by the lead)")
        raise


def sdk(account: Account) -> Any:
    from worksection.client import Client

    return Client(account.url).set_api_key(account.api_key)


def test_the_account_is_fresh_and_reached_by_path(localsection: Account) -> None:
    assert localsection.url.endswith(f"/a/{localsection.name}")
    assert [u.email for u in sdk(localsection).members.list()] == [localsection.owner_email]
    assert len(localsection.owner_password) >= 8


def test_clock_set_freeze_and_advance(localsection: Account) -> None:
    target = dt.datetime(2030, 1, 31, 9, 0, tzinfo=dt.UTC)
    assert abs((localsection.clock.set(target) - target).total_seconds()) < 2
    frozen = localsection.clock.freeze()
    assert localsection.clock.now() == frozen  # a frozen clock stands still
    assert localsection.clock.advance(3600) == frozen + dt.timedelta(hours=1)
    ws = sdk(localsection)
    project = ws.projects.create("Dated", {})
    task = ws.tasks.create(int(project.id), "Written in 2030", {})
    assert ws.tasks.get(int(task.id)).date_added.startswith("2030-01-31")  # server-side dates follow the clock


def test_a_bad_clock_value_is_refused_with_the_field_named(localsection: Account) -> None:
    with pytest.raises(ControlError) as info:
        localsection.control.set_clock(advance=10**12)
    assert info.value.status == 400 and "advance" in info.value.message


def test_reset_keeps_the_key_and_the_owner(localsection: Account) -> None:
    ws = sdk(localsection)
    ws.projects.create("Soon gone", {})
    localsection.reset()
    assert ws.projects.list() == []
    assert [u.email for u in ws.members.list()] == [localsection.owner_email]


def test_a_token_for_a_second_user_sees_only_that_users_scopes(localsection: Account) -> None:
    from worksection.client import Client
    from worksection.exceptions.response_exception import ResponseException

    sdk(localsection).members.create("kate@example.com", {"first_name": "Kate"})
    token = localsection.token("kate@example.com", ["projects_read"])
    assert token.email == "kate@example.com" and token.scopes == ("projects_read",)
    kate = Client(localsection.url).set_client(token.sdk_client_config()).set_access_token(token.as_dict())
    assert kate.projects.list() == []
    with pytest.raises(ResponseException, match="Access denied"):
        kate.members.list()


def test_fixtures_load_and_read_back_through_the_sdk(localsection: Account) -> None:
    ids = or_skip("POST /_localsection/fixtures", lambda: localsection.fixtures({
        "projects": [{"key": "site", "title": "Website"}],
        "tasks": [{"key": "copy", "project": "site", "title": "Write the copy", "priority": 7},
                  {"key": "pics", "project": "site", "title": "Take the pictures"}]}))
    assert set(ids) >= {"site", "copy", "pics"}
    ws = sdk(localsection)
    assert [p.name for p in ws.projects.list()] == ["Website"]
    tasks = {t.name: t for t in ws.tasks.list(int(ids["site"]))}
    assert set(tasks) == {"Write the copy", "Take the pictures"}
    assert int(tasks["Write the copy"].id) == int(ids["copy"]) and int(tasks["Write the copy"].priority) == 7


def test_a_fault_fires_exactly_times_times_and_the_journal_shows_each_call(localsection: Account) -> None:
    from worksection.exceptions.response_exception import ResponseException

    fault = or_skip("POST /_localsection/faults", lambda: localsection.fault("get_projects", http_status=503,
                                                                             times=2))
    assert fault.id
    ws = sdk(localsection)
    for _ in range(2):
        with pytest.raises(ResponseException) as info:
            ws.projects.list()
        assert info.value.status_code == 503
    assert ws.projects.list() == []
    calls = or_skip("GET /_localsection/requests", lambda: localsection.requests(action="get_projects"))
    assert len(calls) == 3
    assert localsection.api_key not in json.dumps(calls)  # secrets are redacted
    assert all(c.get("account") in (None, localsection.name) for c in calls)


def test_the_journal_is_per_account_and_can_be_cleared(localsection: Account,
                                                       localsection_server: LocalsectionServer) -> None:
    other = localsection_server.new_account()
    try:
        sdk(localsection).projects.list()
        sdk(other).members.list()
        mine = or_skip("GET /_localsection/requests", localsection.requests)
        assert [c.get("action") for c in mine] == ["get_projects"]
        assert [c.get("action") for c in other.requests()] == ["get_users"]
        localsection.control.clear_requests()
        assert localsection.requests() == [] and other.requests() == []
    finally:
        other.cleanup()


def has_realistic_switch(account: Account) -> bool:
    """Whether this server has `POST /_localsection/accounts/<name>` (without it: 405, only DELETE is there)."""
    try:
        account.control.call("POST", f"/accounts/{account.name}", json={})
    except ControlError as exc:
        return exc.status not in (404, 405)
    return True


@pytest.mark.localsection(realistic=True)
def test_the_marker_makes_a_realistic_account_that_is_rate_limited(localsection: Account) -> None:
    from worksection.exceptions.response_exception import ResponseException

    if not has_realistic_switch(localsection):
        pytest.skip("realistic mode is not on this branch yet (built in parallel, merged by the lead)")
    ws = sdk(localsection)
    with pytest.raises(ResponseException) as info:
        for _ in range(5):
            ws.projects.list()
    assert info.value.status_code == 429
    localsection.realistic(False)
    for _ in range(5):
        ws.projects.list()


def test_a_snapshot_restores_the_same_tasks(localsection: Account) -> None:
    ws = sdk(localsection)
    project = ws.projects.create("Kept", {})
    ws.tasks.create(int(project.id), "Before the snapshot", {})
    before = ws.call_admin_action("get_all_tasks")
    or_skip("POST /_localsection/snapshots/<name>", lambda: localsection.snapshot("before-extra"))
    ws.tasks.create(int(project.id), "After the snapshot", {})
    localsection.restore("before-extra")
    assert ws.call_admin_action("get_all_tasks") == before


def test_a_fresh_account_has_no_deliveries(localsection: Account) -> None:
    assert or_skip("GET /_localsection/deliveries", localsection.deliveries) == []


def test_a_server_that_cannot_start_says_why() -> None:
    with pytest.raises(ServerError) as info:
        LocalsectionServer.start(env={"LOCALSECTION_DURABILITY": "sometimes"}, startup_timeout=60)
    assert "LOCALSECTION_DURABILITY" in str(info.value) and "exited with status 2" in str(info.value)


def test_cleanup_deletes_the_account_and_puts_the_clock_back(localsection_server: LocalsectionServer) -> None:
    account = localsection_server.new_account()
    account.clock.advance(7 * 86400)
    account.cleanup()
    assert abs(localsection_server.control.clock()["offset_seconds"]) < 5
    with pytest.raises(ControlError) as info:
        localsection_server.control.delete_account(account.name)
    assert info.value.status == 404
