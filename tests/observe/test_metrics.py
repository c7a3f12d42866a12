"""Prometheus `/metrics`: requests by action and outcome, latency histograms, webhook outbox and delivery series,
the connection pool — off by default (404), loopback/trusted proxies only when on, a bearer token when `token`."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from localsection import clock
from localsection.app import create_app
from localsection.config import ConfigError, Settings
from localsection.dev import temporary_postgres_database
from localsection.models import DeliveryAttempt, Webhook
from localsection.state import AppState
from tests.conftest import BACKENDS, PG_URL
from tests.helpers import Api
from tests.observe.conftest import LiveServer, live_server, new_account
from tests.webhook_receiver import running_receiver

TOKEN = "metrics-token-0123456789abcdef"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def test_counters_and_histograms_move_after_sdk_calls(observed_server: LiveServer) -> None:
    from worksection.client import Client

    before = httpx.get(f"{observed_server.url}/metrics", timeout=30)
    assert before.status_code == 200 and before.headers["content-type"].startswith("text/plain")
    acct = new_account(observed_server)
    sdk = Client(acct.url).set_api_key(acct.api_key)
    sdk.members.list()
    sdk.members.list()
    project = sdk.projects.create("Metrics", {"email_manager": acct.owner_email})
    with pytest.raises(Exception, match=r"Task is invalid|task"):
        sdk.tasks.get(999999999)
    assert int(project.id) > 0
    after = httpx.get(f"{observed_server.url}/metrics", timeout=30).text

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before.text, name, **labels)

    assert moved("localsection_requests_total", action="get_users", outcome="ok") == 2
    assert moved("localsection_requests_total", action="post_project", outcome="ok") == 1
    assert moved("localsection_requests_total", action="get_task", outcome="error_5") == 1
    assert moved("localsection_request_duration_seconds_count", action="get_users") == 2
    assert moved("localsection_request_duration_seconds_bucket", action="get_users", le="+Inf") == 2
    assert moved("localsection_request_duration_seconds_sum", action="get_users") > 0
    # outside the API, the route is the label; the control API call that made the account is counted too
    assert moved("localsection_requests_total", action="/accounts", outcome="ok") == 1
    assert value(after, "localsection_database_up") == 1
    assert value(after, "localsection_db_pool_size") >= 1
    assert ("localsection_db_pool_checked_out", ()) in samples(after)
    assert value(after, "process_resident_memory_bytes") > 0


def test_metrics_are_a_404_when_off(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 404


def test_on_serves_loopback_and_trusted_proxies_only(backend: AppState) -> None:
    app = create_app(state=AppState(backend.settings.with_(metrics="on", trusted_proxies="10.9.0.0/16"), backend.db))
    assert TestClient(app, client=("127.0.0.1", 5000)).get("/metrics").status_code == 200
    assert TestClient(app, client=("::1", 5000)).get("/metrics").status_code == 200
    assert TestClient(app, client=("10.9.3.4", 5000)).get("/metrics").status_code == 200
    assert TestClient(app, client=("203.0.113.7", 5000)).get("/metrics").status_code == 403
    assert TestClient(app).get("/metrics").status_code == 403  # not an address at all


def test_token_mode_wants_the_bearer_token_from_everyone(backend: AppState) -> None:
    app = create_app(state=AppState(backend.settings.with_(metrics="token", metrics_token=TOKEN), backend.db))
    local = TestClient(app, client=("127.0.0.1", 5000))
    missing = local.get("/metrics")
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert local.get("/metrics", headers={"Authorization": "Basic " + TOKEN}).status_code == 401
    assert local.get("/metrics", headers={"Authorization": "Bearer " + TOKEN[:-1]}).status_code == 403
    remote = TestClient(app, client=("203.0.113.7", 5000))
    ok = remote.get("/metrics", headers={"Authorization": "Bearer " + TOKEN})
    assert ok.status_code == 200 and "localsection_requests_total" in ok.text


def test_token_mode_without_a_long_enough_token_is_refused_at_start() -> None:
    with pytest.raises(Exception, match="LOCALSECTION_METRICS_TOKEN"):
        Settings(metrics="token", metrics_token="short")


def test_token_mode_from_the_environment_is_one_config_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALSECTION_METRICS", "token")
    monkeypatch.delenv("LOCALSECTION_METRICS_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"^LOCALSECTION_METRICS=token needs LOCALSECTION_METRICS_TOKEN"):
        Settings.from_env()


def test_webhook_outbox_depth_failing_hooks_and_delivery_attempts(backend: AppState, api: Api) -> None:
    app = create_app(state=AppState(backend.settings.with_(metrics="on"), backend.db))
    scrape = TestClient(app, client=("127.0.0.1", 5000))
    before = scrape.get("/metrics").text
    with running_receiver() as receiver:
        hook_id = api.call("add_webhook", url=receiver.url, events="post_project")["id"]
    api.ok("post_project", title="One", email_manager=api.owner_email)
    api.ok("post_project", title="Two", email_manager=api.owner_email)
    with backend.db.session() as s:
        hook = s.get(Webhook, hook_id)
        assert hook is not None
        hook.consecutive_failures = 2
        s.add_all([DeliveryAttempt(webhook_id=hook_id, outbox_id=1, attempted_at=clock.now(), ok=ok, error="",
                                   latency_ms=1) for ok in (False, False, True)])
    after = scrape.get("/metrics").text

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("localsection_webhook_outbox_pending") == 2
    assert moved("localsection_webhooks", state="failing") == 1
    assert moved("localsection_webhooks", state="active") == 1
    assert moved("localsection_webhook_delivery_attempts_total", result="failed") == 2
    assert moved("localsection_webhook_delivery_attempts_total", result="ok") == 1
    assert value(after, "localsection_webhook_outbox_oldest_seconds") >= 0


def test_a_database_that_stops_answering_is_a_zero_not_a_failed_scrape(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, metrics="on",
                        database_url="postgresql://nobody@127.0.0.1:1/none")
    app = create_app(state=AppState(settings))
    resp = TestClient(app, client=("127.0.0.1", 5000)).get("/metrics")
    assert resp.status_code == 200
    assert value(resp.text, "localsection_database_up") == 0
    assert re.search(r"^localsection_webhook_outbox_pending", resp.text, re.M) is None


def test_multi_process_mode_answers_for_every_worker(tmp_path: Path) -> None:
    """`serve --workers 2` with PROMETHEUS_MULTIPROC_DIR: whichever worker answers, it counts both workers'
    requests."""
    if "postgres" not in BACKENDS:
        pytest.skip("serve --workers needs PostgreSQL")
    values = tmp_path / "prometheus"
    values.mkdir()
    with temporary_postgres_database(PG_URL, "ls_multiproc") as url:
        assert url is not None
        env = {"LOCALSECTION_DATABASE_URL": url, "LOCALSECTION_METRICS": "on", "PROMETHEUS_MULTIPROC_DIR": str(values),
               "LOCALSECTION_LOG_LEVEL": "warning"}
        with live_server(tmp_path, env, "--workers", "2") as srv:
            # /readyz, not /livez: a start-up probe to /livez that timed out on a loaded machine may still be
            # answered (and counted) after the first reading
            def readyz_count() -> float:
                return value(httpx.get(f"{srv.url}/metrics", timeout=30).text, "localsection_requests_total",
                             action="/readyz", outcome="ok")

            before = readyz_count()
            for _ in range(30):
                assert httpx.get(f"{srv.url}/readyz", timeout=30).status_code == 200  # a new connection each
            counts = {readyz_count() for _ in range(6)}
            assert counts == {before + 30}
            assert len(list(values.glob("counter_*.db"))) == 2  # one file of values per worker
