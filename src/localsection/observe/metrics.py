"""Prometheus metrics (prometheus-client): request counts and latencies from the request records, plus gauges read
at scrape time — webhook outbox depth and delivery failures from the database, the connection pool of this process.

Each app has its own registry (tests build several apps in one process). Counters live in this process: with
`serve --workers N` a scrape reaches one worker, so scrape each app process on its own port (docs/deployment.md),
or set PROMETHEUS_MULTIPROC_DIR (prometheus-client's multi-process mode: the workers write their values to files
in that directory and any one of them answers for all). The database-derived series describe the whole cluster
whichever process answers: aggregate them with max(), not sum().

Access (`LOCALSECTION_METRICS`): `off` (no route: 404), `on` (only clients on loopback or in
LOCALSECTION_TRUSTED_PROXIES; others 403), `token` (`Authorization: Bearer <LOCALSECTION_METRICS_TOKEN>`, compared
in constant time; missing 401, wrong 403).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from localsection import clock
from localsection.db import Database
from localsection.models import DeliveryAttempt, OutboxItem, Webhook
from localsection.observe.record import RequestRecord
from localsection.state import AppState

log = logging.getLogger("localsection.metrics")
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class DatabaseCollector(Collector):
    """Series read at scrape time: the outbox, webhook states, delivery attempts and the connection pool."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._seen_attempt = 0  # highest webhook_deliveries id counted so far (the table is pruned, ids only grow)
        self._attempts = {"ok": 0, "failed": 0}

    def collect(self) -> Iterator[Any]:
        # Every pool of the process: the worker threads' and, on PostgreSQL, the event loop's (db.run_on_loop).
        counters = [getattr(engine.pool, "checkedout", None) for engine in self.db.engines]
        if all(callable(c) for c in counters):
            # Less the loop's connections kept idle between actions: checked out of their pool, serving nothing.
            in_use = sum(c() for c in counters if callable(c)) - self.db.loop_connections_idle
            yield GaugeMetricFamily("localsection_db_pool_checked_out",
                                    "Database connections of this process in use (SQLite keeps one for the event "
                                    "loop)", value=float(in_use))
            yield GaugeMetricFamily("localsection_db_pool_size", "Connections the pools keep open (this process)",
                                    value=float(self.db.pool_size * len(counters)))
        up = GaugeMetricFamily("localsection_database_up", "1 when the database answered this scrape")
        try:
            pending, oldest, hooks = self._read()
        except Exception as exc:  # a scrape must still answer: the database being down is itself the news
            log.warning("metrics: database unavailable (%s)", type(exc).__name__)
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        yield GaugeMetricFamily("localsection_webhook_outbox_pending",
                                "Webhook events waiting for delivery (all processes)", value=float(pending))
        yield GaugeMetricFamily("localsection_webhook_outbox_oldest_seconds",
                                "Age of the oldest event due for delivery, 0 when none is due", value=oldest)
        states = GaugeMetricFamily("localsection_webhooks", "Webhooks by state: active, failing (active with "
                                   "failed attempts since its last success), paused", labels=["state"])
        for state in ("active", "failing", "paused"):
            states.add_metric([state], float(hooks.get(state, 0)))
        yield states
        attempts = CounterMetricFamily("localsection_webhook_delivery_attempts",
                                       "Webhook delivery attempts by result (all processes), counted from "
                                       "the delivery log: those it still kept when this process was first scraped, "
                                       "then every new one", labels=["result"])
        for result, count in self._attempts.items():
            attempts.add_metric([result], float(count))
        yield attempts

    def _read(self) -> tuple[int, float, dict[str, int]]:
        now = clock.now()  # the server's clock, which dates the outbox rows
        with self.db.session(write=False) as s:
            pending = s.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.state == "pending"))
            oldest = s.scalar(select(func.min(OutboxItem.next_attempt_at))
                              .where(OutboxItem.state == "pending", OutboxItem.next_attempt_at <= now))
            hooks: dict[str, int] = {}
            failing = func.sum(case((Webhook.consecutive_failures > 0, 1), else_=0))
            for status, count, failing_count in s.execute(select(Webhook.status, func.count(), failing)
                                                          .group_by(Webhook.status)):
                key = "paused" if status == "paused" else "active"
                hooks[key] = hooks.get(key, 0) + int(count)
                if key == "active":
                    hooks["failing"] = hooks.get("failing", 0) + int(failing_count or 0)
            rows = s.execute(select(DeliveryAttempt.ok, func.count(), func.max(DeliveryAttempt.id))
                             .where(DeliveryAttempt.id > self._seen_attempt).group_by(DeliveryAttempt.ok)).all()
        for ok, count, top in rows:
            self._attempts["ok" if ok else "failed"] += int(count)
            self._seen_attempt = max(self._seen_attempt, int(top))
        age = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
        return int(pending or 0), age, hooks


class Metrics:
    """The registry of one app and the hot-path side: `observe(record)` after every request."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.registry = CollectorRegistry()
        self.requests = Counter("localsection_requests", "HTTP requests by action (the route outside the API) "
                                "and outcome: ok, error_<status_code>, http_<status>", ["action", "outcome"],
                                registry=self.registry)
        self.latency = Histogram("localsection_request_duration_seconds", "Time to answer a request, by action",
                                 ["action"], buckets=BUCKETS, registry=self.registry)
        self.database = DatabaseCollector(state.db)
        self.registry.register(self.database)
        ProcessCollector(registry=self.registry)
        # Label children cached by label values: .labels() validates and locks on every call.
        self._counts: dict[tuple[str, str], Any] = {}
        self._times: dict[str, Any] = {}

    def observe(self, rec: RequestRecord) -> None:
        action = rec.action or rec.route or "(unmatched)"
        key = (action, rec.outcome)
        count = self._counts.get(key)
        if count is None:
            count = self._counts[key] = self.requests.labels(*key)
        count.inc()
        timer = self._times.get(action)
        if timer is None:
            timer = self._times[action] = self.latency.labels(action)
        timer.observe(rec.duration)

    def render(self) -> bytes:
        """The text exposition; in multi-process mode the other workers' values are merged in."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            merged.register(self.database)
            return generate_latest(merged)
        return generate_latest(self.registry)

    def allowed(self, request: Request) -> Response | None:
        """None when the caller may read the metrics, else the refusal (401 or 403)."""
        settings = self.state.settings
        if settings.metrics == "token":
            scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                return JSONResponse({"status": "error", "message": "Bearer token required"}, 401,
                                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
            if not hmac.compare_digest(value.strip().encode(), settings.metrics_token.encode()):
                return JSONResponse({"status": "error", "message": "Forbidden"}, 403)
            return None
        if not local_or_trusted(request.client.host if request.client else "", settings.trusted_proxies):
            return JSONResponse({"status": "error", "message": "Forbidden"}, 403)
        return None

    async def endpoint(self, request: Request) -> Response:
        refused = self.allowed(request)
        if refused is not None:
            return refused
        body = await run_in_threadpool(self.render)
        return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


def local_or_trusted(host: str, trusted_proxies: str) -> bool:
    """Whether the client address is a loopback address or one of LOCALSECTION_TRUSTED_PROXIES."""
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    if addr.is_loopback:
        return True
    for item in (p.strip() for p in trusted_proxies.split(",")):
        if not item:
            continue
        try:
            net = ipaddress.ip_network(item, strict=False)
        except ValueError:
            continue
        if net.version == addr.version and addr in net:
            return True
    return False
