"""The emulator's control API (`/_localsection/*`): off by default; accounts, reset, clock (README)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from localsection import clock
from localsection.app import create_app
from localsection.state import AppState
from tests.conftest import new_account_name
from tests.factories import make_comment, make_project
from tests.helpers import Api


@pytest.fixture(scope="module")
def ctl(backend: AppState) -> TestClient:
    """An app with the switch on, over the same database (no lifespan: the shared engine stays open)."""
    return TestClient(create_app(state=AppState(backend.settings.with_(emulator=True), backend.db)),
                      base_url="http://testserver")


@pytest.fixture
def fresh_clock() -> Iterator[None]:
    clock.reset()
    yield
    clock.reset()


def signed(key: str, action: str) -> dict[str, str]:
    t = int(time.time())
    sig = hmac.new(key.encode(), f"{action}:{t}".encode(), hashlib.sha256).hexdigest()
    return {"Authorization": f"Admin {t}_{sig}"}


def by_path(c: TestClient, account: str, key: str, action: str, **params: Any) -> Any:
    resp = c.post(f"/a/{account}/api/admin/v2?action={action}", json=params or None, headers=signed(key, action))
    return resp.status_code, resp.json()


def emails(body: dict[str, Any]) -> list[str]:
    assert body["status"] == "ok", body
    return sorted(u["email"] for u in body["data"])


@pytest.mark.parametrize(("method", "path"), [("GET", "/_localsection/clock"), ("POST", "/_localsection/clock"),
                                              ("POST", "/_localsection/accounts"), ("POST", "/_localsection/reset"),
                                              ("DELETE", "/_localsection/accounts/x"), ("GET", "/_localsection/")])
def test_off_by_default_every_control_path_is_the_usual_json_404(client: TestClient, method: str,
                                                                  path: str) -> None:
    resp = client.request(method, path, json={"advance": 3600})
    assert (resp.status_code, resp.json()) == (404, {"status": "error", "message": "Not found"})
    assert clock.offset() == pytest.approx(0, abs=5)


def test_a_created_account_answers_through_its_path_url_with_its_key(ctl: TestClient) -> None:
    name = new_account_name()
    resp = ctl.post("/_localsection/accounts", json={"name": name, "owner_email": "Boss@Example.com"})
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert set(body) == {"account", "url", "api_key", "owner"}
    assert (body["account"], body["url"]) == (name, f"http://testserver/a/{name}")
    assert body["owner"]["email"] == "boss@example.com" and len(body["owner"]["password"]) >= 8
    status, users = by_path(ctl, name, body["api_key"], "get_users")
    assert status == 200 and emails(users) == ["boss@example.com"]
    # The same name again: 409.
    again = ctl.post("/_localsection/accounts", json={"name": name})
    assert again.status_code == 409 and again.json()["status"] == "error"


def test_a_created_account_without_an_owner_email_gets_one(ctl: TestClient) -> None:
    name = new_account_name()
    body = ctl.post("/_localsection/accounts", json={"name": name}).json()
    assert body["owner"]["email"] == f"owner@{name}.example.com"


def test_reset_empties_one_account_and_keeps_its_key_owner_and_name(ctl: TestClient, api: Api,
                                                                    other: Api) -> None:
    api.add_user("second@x.example.com")
    pid = make_project(api, "P")
    task = api.ok("post_task", id_project=pid, title="T")
    make_comment(api, int(task["id"]))
    other_pid = make_project(other, "Other's")
    other.ok("post_task", id_project=other_pid, title="kept")
    started = time.perf_counter()
    resp = ctl.post("/_localsection/reset", json={"account": api.account})
    elapsed = time.perf_counter() - started
    assert resp.status_code == 200, resp.text
    assert resp.json()["accounts"] == [api.account]
    assert elapsed < 0.5, elapsed  # measured ~10-30 ms on SQLite; generous for a loaded CI machine
    assert api.ok("get_all_tasks") == []
    assert [u["email"] for u in api.ok("get_users")] == [api.owner_email]
    assert api.ok("get_projects") == []
    status, users = by_path(ctl, api.account, api.api_key, "get_users")
    assert status == 200 and emails(users) == [api.owner_email]
    # Another account is untouched.
    assert [t["name"] for t in other.ok("get_all_tasks")] == ["kept"]


def test_reset_with_no_body_resets_every_account(ctl: TestClient, api: Api, other: Api) -> None:
    for each in (api, other):
        each.ok("post_task", id_project=make_project(each, "P"), title="T")
    resp = ctl.post("/_localsection/reset")
    assert resp.status_code == 200, resp.text
    assert {api.account, other.account} <= set(resp.json()["accounts"])
    assert api.ok("get_all_tasks") == [] and other.ok("get_all_tasks") == []
    assert [u["email"] for u in other.ok("get_users")] == [other.owner_email]


def test_reset_of_an_unknown_account_is_404(ctl: TestClient) -> None:
    resp = ctl.post("/_localsection/reset", json={"account": "nosuch-" + new_account_name()})
    assert resp.status_code == 404 and resp.json()["status"] == "error"


def test_delete_removes_the_account_and_its_data(ctl: TestClient) -> None:
    name = new_account_name()
    body = ctl.post("/_localsection/accounts", json={"name": name}).json()
    key = body["api_key"]
    status, project = by_path(ctl, name, key, "post_project", title="P")
    assert project["status"] == "ok", project
    status, task = by_path(ctl, name, key, "post_task", id_project=project["data"]["id"], title="T")
    assert task["status"] == "ok", task
    by_path(ctl, name, key, "add_user", email="u@x.example.com")
    resp = ctl.delete(f"/_localsection/accounts/{name}")
    assert resp.status_code == 200, resp.text
    status, gone = by_path(ctl, name, key, "get_users")
    assert (status, gone["status"]) == (404, "error")
    assert ctl.delete(f"/_localsection/accounts/{name}").status_code == 404
    # The name is free again.
    assert ctl.post("/_localsection/accounts", json={"name": name}).status_code == 201


def test_moving_the_clock_25_hours_dates_new_tasks_25_hours_later_and_admin_calls_still_work(
        ctl: TestClient, api: Api, fresh_clock: None) -> None:
    pid = make_project(api, "P")
    before = dt.datetime.fromisoformat(api.ok("post_task", id_project=pid, title="before")["date_added"])
    resp = ctl.post("/_localsection/clock", json={"advance": 25 * 3600})
    assert resp.status_code == 200, resp.text
    assert resp.json()["offset_seconds"] == pytest.approx(25 * 3600, abs=2)
    after = dt.datetime.fromisoformat(api.ok("post_task", id_project=pid, title="after")["date_added"])
    assert dt.timedelta(hours=25) <= after - before <= dt.timedelta(hours=25, seconds=60)


def test_the_clock_can_be_set_frozen_and_advanced(ctl: TestClient, fresh_clock: None) -> None:
    state = ctl.get("/_localsection/clock").json()
    assert state["frozen"] is False and abs(state["offset_seconds"]) < 2
    state = ctl.post("/_localsection/clock", json={"now": "2031-02-03T04:05:06Z", "freeze": True}).json()
    assert state == {"now": "2031-02-03T04:05:06Z", "offset_seconds": state["offset_seconds"], "frozen": True}
    time.sleep(1.1)
    assert ctl.get("/_localsection/clock").json()["now"] == "2031-02-03T04:05:06Z"
    state = ctl.post("/_localsection/clock", json={"advance": 60}).json()
    assert (state["now"], state["frozen"]) == ("2031-02-03T04:06:06Z", True)
    state = ctl.post("/_localsection/clock", json={"freeze": False}).json()
    assert state["frozen"] is False and state["now"].startswith("2031-02-03T04:06")


def test_a_frozen_clock_dates_every_task_the_same_and_admin_calls_still_work(
        ctl: TestClient, api: Api, fresh_clock: None) -> None:
    ctl.post("/_localsection/clock", json={"now": "2030-01-01T00:00:00", "freeze": True})
    pid = make_project(api, "P")
    first = api.ok("post_task", id_project=pid, title="a")["date_added"]
    time.sleep(1.1)
    assert api.ok("post_task", id_project=pid, title="b")["date_added"] == first
    assert first.startswith("2030-01-01")


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/_localsection/accounts", {}, "name"),
    ("/_localsection/accounts", {"name": 5}, "name"),
    ("/_localsection/accounts", {"name": "Not A Label!"}, "name"),
    ("/_localsection/accounts", {"name": "okname", "owner_email": "nope"}, "owner_email"),
    ("/_localsection/accounts", b"{not json", "JSON"),
    ("/_localsection/accounts", [1, 2], "object"),
    ("/_localsection/reset", {"account": ""}, "account"),
    ("/_localsection/reset", b"[", "JSON"),
    ("/_localsection/clock", {}, "advance"),
    ("/_localsection/clock", {"advance": "soon"}, "advance"),
    ("/_localsection/clock", {"advance": True}, "advance"),
    ("/_localsection/clock", {"advance": 1e300}, "advance"),
    ("/_localsection/clock", {"now": "yesterday"}, "now"),
    ("/_localsection/clock", {"now": 5}, "now"),
    ("/_localsection/clock", {"now": "0001-01-01T00:00:00"}, "now"),
    ("/_localsection/clock", {"now": "9998-12-01T00:00:00+00:00", "advance": 86400 * 365}, "advance"),
    ("/_localsection/clock", {"freeze": "yes"}, "freeze"),
])
def test_bad_input_is_a_400_naming_the_field(ctl: TestClient, fresh_clock: None, path: str, body: Any,
                                             field: str) -> None:
    if isinstance(body, bytes):
        resp = ctl.post(path, content=body, headers={"Content-Type": "application/json"})
    else:
        resp = ctl.post(path, json=body)
    assert resp.status_code == 400, resp.text
    assert resp.json()["status"] == "error" and field in resp.json()["message"]
    assert clock.offset() == pytest.approx(0, abs=5)


def test_reset_gives_an_account_back_the_default_status_group_it_was_created_with(ctl: TestClient) -> None:
    body = ctl.post("/_localsection/accounts", json={"name": new_account_name()}).json()

    def status_tags() -> list[str]:
        status, groups = by_path(ctl, body["account"], body["api_key"], "get_task_tags")
        assert status == 200
        return sorted(t["title"] for t in groups["data"] if t["group"]["type"] == "status")

    created = status_tags()
    assert created == sorted(["To do", "In progress", "Review", "Done"])
    by_path(ctl, body["account"], body["api_key"], "add_task_tags", group="Status", title="Blocked")
    assert "Blocked" in status_tags()
    assert ctl.post("/_localsection/reset", json={"account": body["account"]}).status_code == 200
    assert status_tags() == created  # the board has its columns again, and only those
