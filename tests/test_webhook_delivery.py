"""Delivery from the transactional outbox: body, order, retries, pausing, re-enabling, crashes, two workers."""

from __future__ import annotations

import base64
import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from localsection import clock, events, housekeeping, webhooks
from localsection.cli import app as cli_app
from localsection.config import Settings
from localsection.models import DeliveryAttempt, OutboxItem, Webhook
from tests.compat.conftest import start_server
from tests.factories import make_comment, make_project, make_task
from tests.helpers import Api, counted_statements
from tests.webhook_receiver import Receiver, running_receiver

ALL_EVENTS = ["post_task", "update_task", "close_task", "delete_task", "post_comment", "update_comment",
              "delete_comment", "post_project", "update_project", "reopen_task"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def fast(api: Api, **changes: Any) -> Settings:
    """Worker settings for tests: tiny backoff so retries are due at once."""
    return api.state.settings.with_(webhook_retry_base=0.001, webhook_retry_max=0.001, **changes)


def record(api: Api, action: str, object_type: str, object_id: int, project_id: int,
           new: dict[str, Any] | None = None, old: dict[str, Any] | None = None) -> None:
    """Write one event (and its outbox rows) the way every action does."""
    with api.ctx() as ctx:
        events.record(ctx, action, object_type, object_id, f"/project/{project_id}/{object_id}/", project_id,
                      new=new, old=old)


def hook_row(api: Api, hook_id: int) -> Webhook:
    with api.state.db.session(write=False) as s:
        row = s.get(Webhook, hook_id)
        assert row is not None
        return row


def without_page(event: dict[str, Any]) -> dict[str, Any]:
    return {**event, "object": {k: v for k, v in event["object"].items() if k != "page"}}


def run_until(worker: webhooks.Worker, predicate: Any, rounds: int = 400) -> None:
    for _ in range(rounds):
        if predicate():
            return
        if worker.run_once() == 0:
            time.sleep(0.005)
    assert predicate()


def test_every_event_type_reaches_the_receiver_with_the_get_events_body(api: Api, receiver: Receiver) -> None:
    hook_id = api.call("add_webhook", url=receiver.url, events=",".join(ALL_EVENTS), http_user="u",
                       http_pass="p")["id"]
    project = make_project(api, "Hooked")
    task = make_task(api, project, "T")
    comment = make_comment(api, task, "C")
    pairs = [("post", "project", project), ("update", "project", project), ("post", "task", task),
             ("update", "task", task), ("close", "task", task), ("reopen", "task", task),
             ("delete", "task", task), ("post", "comment", comment), ("update", "comment", comment),
             ("delete", "comment", comment)]
    for action, kind, oid in pairs:
        record(api, action, kind, oid, project, new={"title": "x"} if action == "update" else None,
               old={"title": "y"} if action == "update" else None)
    worker = webhooks.Worker(api.state.db, fast(api))
    run_until(worker, lambda: len(receiver.events()) >= len(pairs))
    worker.drain()  # reopen matches two subscribed names but is delivered once
    deliveries = receiver.deliveries()
    assert len(deliveries) == 1  # the backlog went out as one array, oldest first
    assert [(e["action"], e["object"]["type"]) for e in receiver.events()] == [(a, k) for a, k, _ in pairs]
    # The get_events body, but with the production `object.page` (§7.3, revised 2026-12-01).
    assert [without_page(e) for e in receiver.events()] == [without_page(e) for e in api.ok("get_events",
                                                                                            period="1h")]
    first = deliveries[0]
    assert first.headers["user-agent"] == "Worksection-Webhook"
    assert first.headers["content-type"] == "application/json; charset=utf-8"
    assert first.headers["authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
    assert hook_row(api, hook_id).consecutive_failures == 0
    worker.stop()


def test_only_subscribed_events_of_listed_projects_are_delivered(api: Api, receiver: Receiver) -> None:
    wanted, ignored = make_project(api, "Wanted"), make_project(api, "Ignored")
    api.ok("add_webhook", url=receiver.url, events="post_task", projects=str(wanted))
    record(api, "post", "task", 1, ignored)
    record(api, "update", "task", 2, wanted)
    record(api, "post", "task", 3, wanted)
    webhooks.Worker(api.state.db, fast(api)).drain()
    assert [e["object"]["id"] for e in receiver.events()] == ["3"]


def test_a_receiver_that_fails_then_recovers_gets_everything_in_order(api: Api, receiver: Receiver) -> None:
    project = make_project(api)
    hook_id = api.call("add_webhook", url=receiver.url, events="post_task")["id"]
    receiver.fail_next = 4
    for i in range(1, 7):
        record(api, "post", "task", i, project)
    worker = webhooks.Worker(api.state.db, fast(api))
    run_until(worker, lambda: len(receiver.deliveries()) >= 5)
    worker.drain()
    bodies = [[e["object"]["id"] for e in r.json()] for r in receiver.deliveries()]
    # The backlog is retried as one array from its head: nothing later overtakes it, nothing is sent twice
    # once accepted.
    assert bodies == [[str(i) for i in range(1, 7)]] * 5
    assert hook_row(api, hook_id).consecutive_failures == 0
    assert hook_row(api, hook_id).status == "active"


def test_the_tenth_consecutive_failure_pauses_the_webhook_never_the_ninth(api: Api, receiver: Receiver) -> None:
    project = make_project(api)
    hook_id = api.call("add_webhook", url=receiver.url, events="post_task")["id"]
    receiver.always_fail = True
    record(api, "post", "task", 1, project)
    record(api, "post", "task", 2, project)
    worker = webhooks.Worker(api.state.db, fast(api))
    run_until(worker, lambda: len(receiver.deliveries()) >= 9)
    assert len(receiver.deliveries()) == 9
    assert api.ok("get_webhooks")[0]["status"] == "active"
    run_until(worker, lambda: len(receiver.deliveries()) >= 10)
    assert api.ok("get_webhooks")[0]["status"] == "paused"
    assert worker.drain() == 0  # a paused webhook gets no more attempts
    assert len(receiver.deliveries()) == 10
    # Kept events are delivered, in order, once the webhook is enabled again.
    receiver.always_fail = False
    record(api, "post", "task", 3, project)
    assert webhooks.enable(api.state.db, hook_id)
    run_until(worker, lambda: len(receiver.deliveries()) >= 11)
    assert [e["object"]["id"] for r in receiver.deliveries()[10:] for e in r.json()] == ["1", "2", "3"]
    assert api.ok("get_webhooks")[0]["status"] == "active"


def test_a_success_resets_the_failure_count(api: Api, receiver: Receiver) -> None:
    project = make_project(api)
    hook_id = api.call("add_webhook", url=receiver.url, events="post_task")["id"]
    worker = webhooks.Worker(api.state.db, fast(api))
    receiver.fail_next = 9
    record(api, "post", "task", 1, project)
    run_until(worker, lambda: len(receiver.deliveries()) >= 10)
    assert hook_row(api, hook_id).consecutive_failures == 0
    receiver.fail_next = 9
    record(api, "post", "task", 2, project)
    run_until(worker, lambda: len(receiver.deliveries()) >= 20)
    assert hook_row(api, hook_id).status == "active"


def test_a_slow_receiver_counts_as_a_failed_attempt(api: Api, receiver: Receiver) -> None:
    project = make_project(api)
    hook_id = api.call("add_webhook", url=receiver.url, events="post_task")["id"]
    receiver.delay = 0.6
    record(api, "post", "task", 1, project)
    webhooks.Worker(api.state.db, fast(api, webhook_timeout=0.2)).run_once()
    assert hook_row(api, hook_id).consecutive_failures == 1


def test_every_attempt_is_logged_and_shown_by_the_cli(api: Api, receiver: Receiver,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    project = make_project(api)
    hook_id = api.call("add_webhook", url=receiver.url, events="post_task")["id"]
    receiver.fail_next = 2
    record(api, "post", "task", 1, project)
    run_until(webhooks.Worker(api.state.db, fast(api)), lambda: len(receiver.deliveries()) >= 3)
    with api.state.db.session(write=False) as s:
        attempts = list(s.scalars(select(DeliveryAttempt).where(DeliveryAttempt.webhook_id == hook_id)
                                  .order_by(DeliveryAttempt.id)))
    assert [(a.ok, a.response_code) for a in attempts] == [(False, 500), (False, 500), (True, 200)]
    assert all(a.latency_ms >= 0 for a in attempts)
    settings = api.state.settings
    monkeypatch.setenv("LOCALSECTION_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LOCALSECTION_DATABASE_URL", settings.database_url)
    out = CliRunner().invoke(cli_app, ["webhooks", "log", str(hook_id), "--json"])
    assert out.exit_code == 0, out.output
    assert [(i["status"], i["response_code"]) for i in json.loads(out.stdout)] == [
        ("failed", 500), ("failed", 500), ("ok", 200)]
    text = CliRunner().invoke(cli_app, ["webhooks", "log", str(hook_id)]).output
    assert "failed\t500" in text and "ok\t200" in text


def test_the_cli_enables_a_paused_webhook(api: Api, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    hook_id = api.call("add_webhook", url=receiver.url, events="post_task")["id"]
    with api.state.db.session() as s:
        row = s.get(Webhook, hook_id)
        assert row is not None
        row.status, row.consecutive_failures = "paused", 10
    monkeypatch.setenv("LOCALSECTION_DATA_DIR", str(api.state.settings.data_dir))
    monkeypatch.setenv("LOCALSECTION_DATABASE_URL", api.state.settings.database_url)
    out = CliRunner().invoke(cli_app, ["webhooks", "enable", str(hook_id)])
    assert out.exit_code == 0, out.output
    assert (hook_row(api, hook_id).status, hook_row(api, hook_id).consecutive_failures) == ("active", 0)
    listed = json.loads(CliRunner().invoke(cli_app, ["webhooks", "list", "--json"]).stdout)
    assert any(i["id"] == hook_id and i["status"] == "active" for i in listed)
    assert CliRunner().invoke(cli_app, ["webhooks", "enable", "999999999"]).exit_code == 2


def test_events_of_a_paused_webhook_expire_after_the_retention_period(api: Api, receiver: Receiver) -> None:
    project = make_project(api)
    hook_id = api.call("add_webhook", url=receiver.url, events="post_task")["id"]
    with api.state.db.session() as s:
        row = s.get(Webhook, hook_id)
        assert row is not None
        row.status = "paused"
    record(api, "post", "task", 1, project)
    housekeeping.run(api.state.db, api.state.settings)
    assert _states(api, hook_id) == ["pending"]  # kept while within the retention period
    clock.shift(31 * 86400)
    try:
        housekeeping.run(api.state.db, api.state.settings)
    finally:
        clock.shift(-31 * 86400)
    assert _states(api, hook_id) == []


def _states(api: Api, hook_id: int) -> list[str]:
    with api.state.db.session(write=False) as s:
        return list(s.scalars(select(OutboxItem.state).where(OutboxItem.webhook_id == hook_id)))


def test_a_delivery_to_a_private_address_is_refused_when_the_guard_is_on(api: Api, receiver: Receiver) -> None:
    project = make_project(api)
    hook_id = api.call("add_webhook", url=receiver.url, events="post_task")["id"]
    record(api, "post", "task", 1, project)
    webhooks.Worker(api.state.db, fast(api, allow_private_webhooks=False)).run_once()
    assert receiver.deliveries() == []
    with api.state.db.session(write=False) as s:
        attempt = s.scalars(select(DeliveryAttempt).where(DeliveryAttempt.webhook_id == hook_id)).one()
    assert not attempt.ok and attempt.error.startswith("refused")


def test_two_workers_deliver_each_event_exactly_once(api: Api, receiver: Receiver) -> None:
    project = make_project(api)
    for _ in range(4):
        api.ok("add_webhook", url=receiver.url, events="post_task")
    for i in range(50):
        record(api, "post", "task", i, project)
    expected = 4 * 50
    workers = [webhooks.Worker(api.state.db, fast(api)) for _ in range(2)]
    threads = [threading.Thread(target=run_until, args=(w, lambda: len(receiver.events()) >= expected, 4000))
               for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    time.sleep(0.2)
    counts: dict[tuple[str, str], int] = {}
    for r in receiver.deliveries():
        for e in r.json():
            key = (r.path, e["object"]["id"])
            counts[key] = counts.get(key, 0) + 1
    assert len(receiver.events()) == expected
    assert set(counts.values()) == {4}  # each event reached each of the 4 webhooks once
    for w in workers:
        w.stop()


# -- a real server killed with SIGKILL in the middle of a burst ---------------------------------------

def _admin(base: str, key: str, action: str, client: httpx.Client | None = None, **params: Any) -> dict[str, Any]:
    import hashlib
    import hmac

    t = int(time.time())
    sig = hmac.new(key.encode(), f"{action}:{t}".encode(), hashlib.sha256).hexdigest()
    resp = (client or httpx).post(f"{base}/api/admin/v2?action={action}", json=params,
                                  headers={"Authorization": f"Admin {t}_{sig}"}, timeout=10)
    return resp.json()  # type: ignore[no-any-return]


def _burst(base: str, key: str, titles: list[str]) -> None:
    """Create projects from 4 parallel keep-alive connections."""
    from concurrent.futures import ThreadPoolExecutor

    def send(chunk: list[str]) -> None:
        with httpx.Client() as client:
            for title in chunk:
                assert _admin(base, key, "post_project", client, title=title)["status"] == "ok"

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(send, [titles[i::4] for i in range(4)]))


def _committed_projects(data_dir: Path) -> set[str]:
    with sqlite3.connect(data_dir / "localsection.db") as conn:
        rows = conn.execute("SELECT object_id FROM events WHERE action='post' AND object_type='project'")
        return {str(r[0]) for r in rows}


def test_sigkill_during_a_burst_loses_no_committed_event(tmp_path: Path, receiver: Receiver) -> None:
    total = 1000 if os.environ.get("LOCALSECTION_SOAK") else 200
    env = {"LOCALSECTION_WEBHOOK_POLL_INTERVAL": "0.05", "LOCALSECTION_WEBHOOK_LEASE_SECONDS": "3",
           "LOCALSECTION_WEBHOOK_RETRY_BASE": "0.2", "LOCALSECTION_WEBHOOK_RETRY_MAX": "0.5"}
    proc, srv = start_server(tmp_path, env)
    try:
        assert _admin(srv.url, srv.api_key, "add_webhook", url=receiver.url, events="post_project")["status"] == "ok"
        _burst(srv.url, srv.api_key, [f"P{i}" for i in range(total // 2)])
        # Kill while changes are still coming in and deliveries are in flight.
        stop = threading.Event()

        def more() -> None:
            with httpx.Client() as client:
                while not stop.is_set():
                    try:
                        _admin(srv.url, srv.api_key, "post_project", client, title="during-kill")
                    except httpx.HTTPError:
                        return

        during = threading.Thread(target=more)
        during.start()
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        stop.set()
        during.join(15)
        proc, srv = start_server(tmp_path, env)
        _burst(srv.url, srv.api_key, [f"P{i}" for i in range(total // 2, total)])
        committed = _committed_projects(tmp_path)
        assert len(committed) >= total

        def all_delivered() -> bool:
            return committed <= {e["object"]["id"] for e in receiver.events()}

        assert receiver.wait_for(all_delivered, timeout=90), committed - {e["object"]["id"] for e in receiver.events()}
    finally:
        proc.kill()
        proc.wait(10)


def test_payloads_carry_the_production_page_and_get_events_keeps_the_postman_one(api: Api,
                                                                                  receiver: Receiver) -> None:
    api.ok("add_webhook", url=receiver.url, events="post_project,update_project,post_task,update_task,close_task,"
                                                   "post_comment")
    project = api.ok("post_project", title="Paged")["id"]
    task = api.ok("post_task", id_project=project, title="Top")["id"]
    sub = api.ok("post_task", id_project=project, id_parent=task, title="Sub")["id"]
    api.ok("post_comment", id_task=task, text="on the task")
    api.ok("post_comment", id_task=sub, text="on the subtask")
    api.ok("update_task", id_task=task, title="Top 2")
    api.ok("complete_task", id_task=sub)
    api.ok("update_project", id_project=project, title="Paged 2")
    webhooks.Worker(api.state.db, fast(api)).drain()
    pages = [(e["action"], e["object"]["type"], e["object"]["page"]) for e in receiver.events()]
    assert pages == [("post", "project", f"/project/{project}/"), ("post", "task", f"/task/{task}/"),
                     ("post", "task", f"/task/{sub}/"), ("post", "comment", f"/task/{task}/"),
                     ("post", "comment", f"/task/{sub}/"), ("update", "task", f"/task/{task}/"),
                     ("close", "task", f"/task/{sub}/"), ("update", "project", f"/project/{project}/")]
    listed = [(e["object"]["type"], e["object"]["page"]) for e in api.ok("get_events", period="1h")]
    assert listed[1:5] == [("task", f"/project/{project}/{task}/"), ("task", f"/project/{project}/{task}/{sub}/"),
                           ("comment", f"/project/{project}/{task}/"),
                           ("comment", f"/project/{project}/{task}/{sub}/")]


def test_each_change_is_its_own_one_element_array_when_there_is_no_backlog(api: Api, receiver: Receiver) -> None:
    project = make_project(api)
    api.ok("add_webhook", url=receiver.url, events="post_task")
    worker = webhooks.Worker(api.state.db, fast(api))
    for i in range(1, 4):
        record(api, "post", "task", i, project)
        worker.drain()
    assert [[e["object"]["id"] for e in r.json()] for r in receiver.deliveries()] == [["1"], ["2"], ["3"]]


def test_a_backlog_goes_out_in_order_in_batches_of_at_most_webhook_batch_max(api: Api, receiver: Receiver) -> None:
    project = make_project(api)
    hook_id = api.call("add_webhook", url=receiver.url, events="post_task")["id"]
    api.ok("add_webhook", url=receiver.url + "/other", events="post_task")
    for i in range(1, 8):
        record(api, "post", "task", i, project)
    receiver.fail_next = 1
    webhooks.Worker(api.state.db, fast(api, webhook_batch_max=3)).drain()
    by_path: dict[str, list[list[str]]] = {}
    for r in receiver.deliveries():
        by_path.setdefault(r.path, []).append([e["object"]["id"] for e in r.json()])
    # Each webhook's own events only, oldest first, three at a time; the failed first batch is sent again whole.
    assert sorted(by_path.values()) == sorted([[["1", "2", "3"], ["1", "2", "3"], ["4", "5", "6"], ["7"]],
                                               [["1", "2", "3"], ["4", "5", "6"], ["7"]]])
    with api.state.db.session(write=False) as s:
        attempts = list(s.scalars(select(DeliveryAttempt).where(DeliveryAttempt.webhook_id == hook_id)))
    assert len(attempts) in (3, 4)  # one log row per POST, not per event


def test_an_idle_worker_round_sends_one_statement_and_a_due_event_is_still_claimed(api: Api,
                                                                                  receiver: Receiver) -> None:
    """The worker polls every webhook_poll_interval beside the API: with nothing to send, a round is one indexed
    statement, not a claim (whose write transaction and queries cost ~2 ms of CPU and showed in the API's p99)."""
    project = make_project(api)
    hook_id = api.call("add_webhook", url=receiver.url, events="post_task")["id"]
    worker = webhooks.Worker(api.state.db, fast(api))
    worker._last_housekeeping = time.monotonic()  # the periodic jobs are not what is counted here
    with counted_statements(api) as seen:
        assert worker.round() == (0, 0)
    assert len(seen) == 1, seen

    record(api, "post", "task", 1, project)
    with api.state.db.session() as s:  # a paused webhook's queue is not due either
        hook = s.get(Webhook, hook_id)
        assert hook is not None
        hook.status = "paused"
    with counted_statements(api) as seen:
        assert worker.round() == (0, 0)
    assert len(seen) == 1, seen

    with api.state.db.session() as s:
        hook = s.get(Webhook, hook_id)
        assert hook is not None
        hook.status = "active"
    started, _ = worker.round()
    assert started == 1
    run_until(worker, lambda: len(receiver.events()) == 1)
    assert [e["object"]["id"] for e in receiver.events()] == ["1"]
    assert worker.round() == (0, 0)  # delivered: nothing due any more
    worker.stop()
