"""`/_localsection/deliveries`: every webhook delivery attempt, with a real local receiver."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from localsection import webhooks
from localsection.api.emulation import Emulation
from tests.factories import make_project
from tests.helpers import Api
from tests.webhook_receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def deliver(api: Api, receiver: Receiver, events: int) -> None:
    settings = api.state.settings.with_(webhook_retry_base=0.001, webhook_retry_max=0.001)
    worker = webhooks.Worker(api.state.db, settings)
    for _ in range(400):
        if len(receiver.accepted()) >= events:
            break
        if worker.run_once() == 0:
            time.sleep(0.005)
    worker.drain()


def listing(ctl: TestClient, **query: Any) -> list[dict[str, Any]]:
    resp = ctl.get("/_localsection/deliveries", params=query)
    assert resp.status_code == 200, resp.text
    return resp.json()["deliveries"]  # type: ignore[no-any-return]


def test_each_attempt_is_listed_with_its_time_status_latency_error_events_and_payload(
        ctl: TestClient, acct: Api, emu: Emulation, receiver: Receiver) -> None:
    url = receiver.url + "?token=s3cr3t-value&x=1"
    hook_id = acct.call("add_webhook", url=url, events="post_task,post_comment", http_user="bob",
                        http_pass="hunter2")["id"]
    pid = make_project(acct, "P")
    receiver.fail_next = 1
    task = acct.ok("post_task", id_project=pid, title="Deliver me")
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=5)
    deliver(acct, receiver, 1)
    rows = listing(ctl, account=acct.account)
    assert [(r["ok"], r["http_status"]) for r in rows] == [(True, 200), (False, 500)]  # newest first
    ok, failed = rows
    for row in rows:
        assert row["account"] == acct.account and row["webhook"] == hook_id
        assert row["url"] == receiver.url + "?token=***&x=1"
        assert (row["http_user"], row["http_pass"]) == ("bob", "***")
        assert row["events"] == ["post_task"]
        assert dt.datetime.fromisoformat(row["time"].rstrip("Z")) >= before
        assert isinstance(row["latency_ms"], int) and row["latency_ms"] >= 0
        assert [(e["action"], e["object"]["type"], e["object"]["id"]) for e in row["payload"]] == [
            ("post", "task", task["id"])]
        assert "hunter2" not in str(row) and "s3cr3t" not in str(row)
    assert failed["error"] and ok["error"] is None
    # The payload is what the receiver got.
    assert ok["payload"] == receiver.accepted()[0].json()


def test_filters_by_account_webhook_event_and_status_and_the_limit(ctl: TestClient, acct: Api, acct2: Api,
                                                                   emu: Emulation, receiver: Receiver) -> None:
    tasks_hook = acct.call("add_webhook", url=receiver.url, events="post_task")["id"]
    projects_hook = acct.call("add_webhook", url=receiver.url, events="post_project")["id"]
    acct2.call("add_webhook", url=receiver.url, events="post_project")
    pid = int(acct.ok("post_project", title="P")["id"])
    acct2.ok("post_project", title="Q")
    acct.ok("post_task", id_project=pid, title="T1")
    deliver(acct, receiver, 3)
    mine = listing(ctl, account=acct.account)
    assert sorted(r["webhook"] for r in mine) == sorted([tasks_hook, projects_hook])
    assert [r["webhook"] for r in listing(ctl, account=acct.account, event="post_task")] == [tasks_hook]
    assert [r["webhook"] for r in listing(ctl, webhook=projects_hook)] == [projects_hook]
    assert listing(ctl, account=acct.account, status="failed") == []
    assert len(listing(ctl, account=acct.account, status="ok", limit=1)) == 1
    assert len(listing(ctl, account=acct2.account)) == 1
    for bad in ({"status": "maybe"}, {"limit": "0"}, {"limit": "x"}, {"webhook": "1;"}, {"event": "a b"}):
        resp = ctl.get("/_localsection/deliveries", params=bad)
        assert resp.status_code == 400, bad


def test_delete_clears_the_log_of_one_account_or_all(ctl: TestClient, acct: Api, acct2: Api, emu: Emulation,
                                                     receiver: Receiver) -> None:
    for each in (acct, acct2):
        each.call("add_webhook", url=receiver.url, events="post_project")
        each.ok("post_project", title="P")
    deliver(acct, receiver, 2)
    resp = ctl.delete("/_localsection/deliveries", params={"account": acct.account})
    assert resp.json() == {"status": "ok", "removed": 1}
    assert listing(ctl, account=acct.account) == []
    assert len(listing(ctl, account=acct2.account)) == 1
    assert ctl.delete("/_localsection/deliveries", params={"account": "nosuch-x"}).status_code == 404
    assert ctl.delete("/_localsection/deliveries").json()["status"] == "ok"
    assert listing(ctl) == []
