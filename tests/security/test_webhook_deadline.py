"""Attack: receivers that answer one byte at a time (issue 11 item 5, finding 1).

httpx's timeout is per read, so a receiver dripping a byte inside each read timeout held an add_webhook probe
(and a delivery attempt) for as long as it liked, and eight such probes took every API worker thread. Every
probe and attempt now ends by `webhook_timeout`, wall clock, and at most half of the API threads may probe.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from localsection import clock, webhooks
from localsection.models import DeliveryAttempt, OutboxItem, Webhook
from tests.compat.conftest import start_server
from tests.factories import make_project
from tests.helpers import Api, stop_process
from tests.test_webhook_delivery import _admin, record
from tests.webhook_receiver import Tarpit, running_receiver, running_tarpit

TIMEOUT = 1.0
MARGIN = 0.8  # scheduling slack on a loaded 2-core machine; the drip itself would take 3-16 s
PROBE_ERROR = (11, "Url should respond 200 HTTP_CODE and JSON {status:OK}")


@pytest.fixture(params=[False, True], ids=["headers-drip", "body-drip"])
def tarpit(request: pytest.FixtureRequest) -> Iterator[Tarpit]:
    """A byte every 0.2 s: never idle long enough for a per-read timeout, far too slow for the deadline."""
    with running_tarpit(0.2, body_only=bool(request.param)) as t:
        yield t


def add_hook(api: Api, url: str) -> int:
    """A webhook registered without the probe (as if the receiver had turned slow after add_webhook)."""
    with api.state.db.session() as s:
        hook = Webhook(account_id=api.account_id, url=url, events="post_task", projects="", http_user="",
                       http_pass="", status="active", consecutive_failures=0, created_at=clock.now())
        s.add(hook)
        s.flush()
        return hook.id


def test_add_webhook_to_a_tarpit_answers_the_probe_error_within_the_deadline(
        api: Api, tarpit: Tarpit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api.state, "settings", api.state.settings.with_(webhook_timeout=TIMEOUT))
    started = time.monotonic()
    body = api.error("add_webhook", url=tarpit.url, events="post_task")
    elapsed = time.monotonic() - started
    assert (body["status_code"], body["message"], body["message_details"]) == (*PROBE_ERROR, tarpit.url)
    assert TIMEOUT * 0.9 <= elapsed < TIMEOUT + MARGIN, elapsed
    assert tarpit.connections == 1
    assert api.ok("get_webhooks") == []


def test_a_delivery_attempt_to_a_tarpit_is_a_failed_attempt_within_the_deadline(api: Api, tarpit: Tarpit) -> None:
    hook_id = add_hook(api, tarpit.url)
    record(api, "post", "task", 1, make_project(api))
    worker = webhooks.Worker(api.state.db, api.state.settings.with_(webhook_timeout=TIMEOUT))
    started = time.monotonic()
    try:
        assert worker.run_once() >= 1  # (other tests' leftover webhooks may be due too)
    finally:
        elapsed = time.monotonic() - started
        worker.stop()
    assert elapsed < TIMEOUT + MARGIN, elapsed
    with api.state.db.session(write=False) as s:
        attempt = s.scalars(select(DeliveryAttempt).where(DeliveryAttempt.webhook_id == hook_id)).one()
        row = s.scalars(select(OutboxItem).where(OutboxItem.webhook_id == hook_id)).one()
        hook = s.get(Webhook, hook_id)
        assert hook is not None
        failures = hook.consecutive_failures
    assert (attempt.ok, attempt.response_code) == (False, None)
    assert attempt.error.startswith("timeout"), attempt.error
    assert TIMEOUT * 900 <= attempt.latency_ms < (TIMEOUT + MARGIN) * 1000
    assert (row.state, row.attempts, row.locked_until) == ("pending", 1, None)  # retried later, not lost
    assert failures == 1


def test_probes_to_tarpits_never_hold_more_than_half_the_api_threads(api: Api) -> None:
    settings = api.state.settings.with_(webhook_timeout=TIMEOUT)
    extra = 3
    results: list[tuple[bool, float]] = []
    lock = threading.Lock()

    def one(url: str) -> None:
        started = time.monotonic()
        ok = webhooks.probe(settings, url)
        with lock:
            results.append((ok, time.monotonic() - started))

    with running_tarpit(0.2) as tarpit:
        threads = [threading.Thread(target=one, args=(tarpit.url,))
                   for _ in range(webhooks.PROBES_AT_ONCE + extra)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT + 10)
        connections = tarpit.connections
    assert len(results) == webhooks.PROBES_AT_ONCE + extra
    assert not any(ok for ok, _ in results)
    assert max(elapsed for _, elapsed in results) < TIMEOUT + MARGIN
    assert connections == webhooks.PROBES_AT_ONCE  # the others failed at once, without a request
    assert sorted(elapsed for _, elapsed in results)[extra - 1] < 0.5
    with running_receiver() as receiver:  # the slots are free again
        assert webhooks.probe(settings, receiver.url)


def test_eight_tarpit_probes_on_a_live_server_leave_threads_for_other_requests(tmp_path: Path) -> None:
    proc, srv = start_server(tmp_path, {"LOCALSECTION_WEBHOOK_TIMEOUT": "3", "LOCALSECTION_LOG_LEVEL": "error"})
    answers: list[tuple[dict[str, object], float]] = []
    lock = threading.Lock()
    try:
        with running_tarpit(0.2) as tarpit:
            def probe() -> None:
                started = time.monotonic()
                body = _admin(srv.url, srv.api_key, "add_webhook", url=tarpit.url, events="post_task")
                with lock:
                    answers.append((body, time.monotonic() - started))

            threads = [threading.Thread(target=probe) for _ in range(8)]
            for t in threads:
                t.start()
            time.sleep(0.5)  # the probes hold what threads they may
            started = time.monotonic()
            with httpx.Client() as client:  # get_events always runs in a worker thread
                events = _admin(srv.url, srv.api_key, "get_events", client, period="1h")
            other_request = time.monotonic() - started
            for t in threads:
                t.join(15)
    finally:
        stop_process(proc)
    assert events["status"] == "ok"
    assert other_request < 1.5, other_request  # not queued behind 3-second probes
    assert len(answers) == 8
    assert all((body["status_code"], body["message"]) == PROBE_ERROR for body, _ in answers)
    assert max(elapsed for _, elapsed in answers) < 3 + 1.5
