"""Realistic mode: 1 request/s per credential, the 10,000-record cap and strict inputs; normal mode unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from localsection import dev
from localsection.api.emulation import Emulation, emulation_for
from localsection.app import create_app
from localsection.state import AppState
from tests.conftest import new_account_name
from tests.factories import make_project
from tests.helpers import ADMIN_PATH, USER_PATH, Api
from tests.webhook_receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def realistic(ctl: TestClient, api: Api, on: bool = True) -> None:
    resp = ctl.post(f"/_localsection/accounts/{api.account}", json={"realistic": on})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"status": "ok", "account": api.account, "realistic": on}


def unthrottled(emu: Emulation, api: Api) -> None:
    """Full rate buckets again (the tests of strict inputs make several calls within a second)."""
    emu.limiter.forget(f"{api.account_id}:")


def call(api: Api, emu: Emulation, action: str, **params: Any) -> dict[str, Any]:
    unthrottled(emu, api)
    return api.call(action, **params)


def raw(api: Api, action: str) -> Any:
    return api.client.post(f"{ADMIN_PATH}?action={action}",
                           headers={"Host": api.host, "Authorization": api.admin_header(action)})


# -- 1 request per second ---------------------------------------------------------------------------

def test_a_second_call_within_a_second_is_429_with_retry_after_per_credential(ctl: TestClient, acct: Api,
                                                                             acct2: Api, emu: Emulation) -> None:
    realistic(ctl, acct)
    first, second = raw(acct, "get_users"), raw(acct, "get_users")
    assert first.status_code == 200 and first.json()["status"] == "ok"
    assert second.status_code == 429
    assert second.json() == {"status": "error", "message": "Too many requests"}
    assert second.headers["retry-after"] == "1"
    # Another account (normal mode) is not limited; an OAuth token of the realistic account has its own bucket.
    assert [raw(acct2, "get_users").status_code for _ in range(3)] == [200, 200, 200]
    token = acct.token()
    answers = [acct.client.post(f"{USER_PATH}?action=me", headers={"Host": acct.host,
                                                                   "Authorization": f"Bearer {token}"})
               for _ in range(2)]
    assert [a.status_code for a in answers] == [200, 429]
    other_token = acct.token(client_id="1" * 32)
    assert acct.user_call(other_token, "me")["_http"] == 200


def test_the_switch_through_accounts_and_back(ctl: TestClient, acct: Api, emu: Emulation) -> None:
    realistic(ctl, acct)
    assert [raw(acct, "get_users").status_code for _ in range(2)] == [200, 429]
    realistic(ctl, acct, False)
    assert [raw(acct, "get_users").status_code for _ in range(3)] == [200, 200, 200]
    assert ctl.post("/_localsection/accounts/nosuch-account", json={"realistic": True}).status_code == 404
    assert ctl.post(f"/_localsection/accounts/{acct.account}", json={"realistic": "yes"}).status_code == 400
    assert ctl.post(f"/_localsection/accounts/{acct.account}", json={"name": "x"}).status_code == 400


def test_an_account_created_realistic_is_realistic_again_after_a_reset(ctl: TestClient, emu: Emulation) -> None:
    name = new_account_name()
    body = ctl.post("/_localsection/accounts", json={"name": name, "realistic": True}).json()
    assert body["realistic"] is True
    ctl.post(f"/_localsection/accounts/{name}", json={"realistic": False})
    assert not emu.is_realistic(name)
    assert ctl.post("/_localsection/reset", json={"account": name}).status_code == 200
    assert emu.is_realistic(name)
    ctl.delete(f"/_localsection/accounts/{name}")
    assert not emu.is_realistic(name)


def test_reset_switches_a_later_realistic_account_back_off_and_refills_its_bucket(ctl: TestClient, acct: Api,
                                                                                  emu: Emulation) -> None:
    realistic(ctl, acct)
    assert [raw(acct, "get_users").status_code for _ in range(2)] == [200, 429]
    assert ctl.post("/_localsection/reset", json={"account": acct.account}).status_code == 200
    assert [raw(acct, "get_users").status_code for _ in range(3)] == [200, 200, 200]


def test_the_setting_makes_every_account_realistic(backend: AppState) -> None:
    state = AppState(backend.settings.with_(emulator=True, realistic=True), backend.db)
    c = TestClient(create_app(state=state), base_url="http://testserver")
    api = Api.create(state, c, new_account_name())
    assert emulation_for(state).realistic_everywhere
    assert [raw(api, "get_users").status_code for _ in range(2)] == [200, 429]


# -- the record cap -----------------------------------------------------------------------------------

def test_lists_above_10000_records_answer_too_many_tasks_only_in_realistic_mode(ctl: TestClient, acct: Api,
                                                                                emu: Emulation) -> None:
    dev.seed_bulk(acct.state.db, acct.account, tasks=10_001, costs=0, projects=1)
    realistic(ctl, acct)
    body = call(acct, emu, "get_all_tasks")
    assert body == {"status": "error", "message": "Too many tasks (10000 max)"}
    pid = int(call(acct, emu, "get_projects")["data"][0]["id"])
    assert call(acct, emu, "get_tasks", id_project=pid) == body
    assert call(acct, emu, "search_tasks", id_project=pid) == body
    realistic(ctl, acct, False)
    tasks = acct.ok("get_tasks", id_project=pid)
    assert len(tasks) == 10_001


# -- strict inputs ------------------------------------------------------------------------------------

STRICT_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("post_task", {"dateend": "2026-12-31"}, "Invalid date"),
    ("post_task", {"datestart": "2026-01-31"}, "Invalid date"),
    ("post_task", {"priority": "15"}, "Invalid priority"),
    ("post_task", {"priority": "high"}, "Invalid priority"),
    ("post_task", {"priority": "-1"}, "Invalid priority"),
]


@pytest.mark.parametrize(("action", "params", "message"), STRICT_CASES)
def test_realistic_mode_refuses_what_the_real_service_refuses_and_writes_nothing(
        ctl: TestClient, acct: Api, emu: Emulation, action: str, params: dict[str, Any], message: str) -> None:
    pid = make_project(acct, "P")
    realistic(ctl, acct)
    body = call(acct, emu, action, id_project=pid, title="T", **params)
    assert body["status"] == "error" and body["status_code"] == 11 and body["message"] == message, body
    assert call(acct, emu, "get_all_tasks")["data"] == []
    # Normal mode reads the same input leniently, as before.
    realistic(ctl, acct, False)
    assert acct.call(action, id_project=pid, title="T", **params)["status"] == "ok"


def test_realistic_mode_accepts_the_protocol_formats(ctl: TestClient, acct: Api, emu: Emulation) -> None:
    pid = make_project(acct, "P")
    realistic(ctl, acct)
    task = call(acct, emu, "post_task", id_project=pid, title="T", dateend="31.12.2026", priority="10")
    assert task["status"] == "ok", task
    assert (task["data"]["date_end"], task["data"]["priority"]) == ("2026-12-31", "10")


def test_realistic_mode_refuses_iso_dates_in_filters(ctl: TestClient, acct: Api, emu: Emulation) -> None:
    make_project(acct, "P")
    realistic(ctl, acct)
    body = call(acct, emu, "search_tasks", filter="dateend>'2026-01-01'")
    assert body["status"] == "error" and body["message"] == "Filter is invalid", body
    assert call(acct, emu, "search_tasks", filter="dateend>'01.01.2026'")["status"] == "ok"


def test_realistic_mode_refuses_the_reopen_task_event_name(ctl: TestClient, acct: Api, emu: Emulation,
                                                           receiver: Receiver) -> None:
    realistic(ctl, acct)
    body = call(acct, emu, "add_webhook", url=receiver.url, events="update_task,reopen_task")
    assert body["status"] == "error" and body["message"] == "Invalid events", body
    assert call(acct, emu, "get_webhooks")["data"] == []
    realistic(ctl, acct, False)
    assert acct.call("add_webhook", url=receiver.url, events="update_task,reopen_task")["status"] == "ok"


def test_normal_mode_keeps_lenient_parsing(acct: Api) -> None:
    pid = make_project(acct, "P")
    task = acct.ok("post_task", id_project=pid, title="T", dateend="2026-12-31", priority="15")
    assert (task["date_end"], task["priority"]) == ("2026-12-31", "10")
    assert acct.ok("post_task", id_project=pid, title="U", priority="high")["priority"] == "10"
