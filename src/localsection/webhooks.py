"""Webhook delivery from the transactional outbox, the URL probe and the SSRF guard (PROTOCOL.md §7).

Outbox rows are written by events.record() in the same transaction as the change. A worker claims the
oldest pending row of each active webhook (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: a short IMMEDIATE
transaction) together with the rows that follow it, sets a lease in `locked_until`, commits, and delivers
them in order outside any transaction. Only the head of a webhook's queue is ever claimable, so a later
event is never delivered while an earlier one is pending, and two workers never hold the same webhook.
Every attempt is logged; 10 consecutive failed attempts pause the webhook and its events wait for
`localsection webhooks enable ID`.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import logging
import socket
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from localsection import access, clock
from localsection import files as file_store
from localsection.config import Settings
from localsection.ctx import Ctx
from localsection.db import Database
from localsection.models import Account, DeliveryAttempt, Event, OutboxItem, User, Webhook
from localsection.oauth2 import refresh as oauth_refresh
from localsection.render.events import for_viewer, render_events

log = logging.getLogger("localsection.webhooks")

USER_AGENT = "Worksection-Webhook"
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
_MAX_RESPONSE = 64 * 1024
_RUN_LENGTH = 20
_HOUSEKEEPING_EVERY = 600.0


class UrlRefused(Exception):
    """The URL is malformed or resolves to an address webhooks may not reach."""


# -- SSRF guard ------------------------------------------------------------------------------------

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def blocked_address(ip: IpAddress) -> bool:
    """Loopback, private, link-local, multicast, reserved, unspecified and cloud metadata addresses."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip in METADATA_ADDRESSES or ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified or not ip.is_global)


def _parts(url: str) -> urllib.parse.SplitResult:
    try:
        parts = urllib.parse.urlsplit(url.strip())
        _ = parts.port
    except ValueError:
        raise UrlRefused("malformed url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UrlRefused("url must be http(s)://host/...")
    return parts


def resolve_allowed(url: str, settings: Settings) -> list[IpAddress]:
    """Resolve the URL's host; refuse it when any address is blocked (unless private webhooks are allowed)."""
    parts = _parts(url)
    if settings.allow_private_webhooks:
        return []
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UrlRefused("host does not resolve") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses or any(blocked_address(a) for a in addresses):
        raise UrlRefused("address not allowed")
    return addresses


@dataclass(frozen=True)
class Target:
    """Where to connect: the URL (with the checked IP pinned in) plus Host header and TLS name."""

    url: str
    headers: dict[str, str]
    extensions: dict[str, Any]


def target(url: str, settings: Settings) -> Target:
    """Check the URL and pin the connection to the checked address (no DNS rebinding between check and use)."""
    addresses = resolve_allowed(url, settings)
    if not addresses:
        return Target(url.strip(), {}, {})
    parts = _parts(url)
    ip = addresses[0]
    host_ip = f"[{ip}]" if ip.version == 6 else str(ip)
    netloc = host_ip + (f":{parts.port}" if parts.port else "")
    pinned = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = parts.hostname or ""
    if parts.port:
        host_header += f":{parts.port}"
    ext: dict[str, Any] = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return Target(pinned, {"Host": host_header}, ext)


# -- one HTTP exchange -----------------------------------------------------------------------------

@dataclass
class Outcome:
    ok: bool
    code: int | None = None
    error: str = ""
    latency_ms: int = 0


def _accepted(code: int, body: bytes) -> bool:
    """200 and a JSON object whose status is OK (case-insensitive)."""
    if code != 200:
        return False
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(data, dict) and str(data.get("status", "")).upper() == "OK"


def post(client: httpx.Client, settings: Settings, url: str, body: bytes, user: str, password: str) -> Outcome:
    """POST a JSON body within the timeout; success is 200 + {"status": "OK"}."""
    started = time.monotonic()
    try:
        dest = target(url, settings)
    except UrlRefused as exc:
        return Outcome(False, None, f"refused: {exc}", 0)
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, **dest.headers}
    if user or password:
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    try:
        request = client.build_request("POST", dest.url, content=body, headers=headers,
                                       extensions=dest.extensions or None)
        response = client.send(request, stream=True)
        try:
            data = b""
            for chunk in response.iter_bytes():
                data += chunk
                if len(data) > _MAX_RESPONSE or time.monotonic() - started > settings.webhook_timeout:
                    break
        finally:
            response.close()
    except httpx.HTTPError as exc:
        return Outcome(False, None, type(exc).__name__, int((time.monotonic() - started) * 1000))
    latency = int((time.monotonic() - started) * 1000)
    if _accepted(response.status_code, data):
        return Outcome(True, response.status_code, "", latency)
    return Outcome(False, response.status_code, "response is not 200 + {\"status\":\"OK\"}", latency)


def _client(settings: Settings) -> httpx.Client:
    return httpx.Client(timeout=httpx.Timeout(settings.webhook_timeout), follow_redirects=False, trust_env=False)


def probe(settings: Settings, url: str, user: str = "", password: str = "") -> bool:
    """The add_webhook check (§7.2): POST `[]`; passes on 200 + {"status": "OK"} within the timeout."""
    with _client(settings) as client:
        return post(client, settings, url, b"[]", user, password).ok


# -- claiming --------------------------------------------------------------------------------------

@dataclass
class Job:
    outbox_id: int
    lease: dt.datetime
    body: bytes


@dataclass
class Run:
    """Consecutive pending events of one webhook, claimed together and delivered in order."""

    webhook_id: int
    url: str
    http_user: str
    http_pass: str
    jobs: list[Job] = field(default_factory=list)


def precise_now() -> dt.datetime:
    """Naive UTC with microseconds (backoff below one second, leases)."""
    return dt.datetime.fromtimestamp(clock.unix(), dt.UTC).replace(tzinfo=None)


def claim(db: Database, settings: Settings, limit: int | None = None) -> list[Run]:
    """Lease the head (and following rows) of up to `limit` active webhooks' queues; render their bodies."""
    limit = limit or settings.webhook_concurrency
    postgres = db.dialect == "postgresql"
    with db.session(write=True) as s:
        now = precise_now()
        lease = now + dt.timedelta(seconds=settings.webhook_lease_seconds)
        earlier = aliased(OutboxItem)
        heads_q = (select(OutboxItem).join(Webhook, Webhook.id == OutboxItem.webhook_id)
                   .where(OutboxItem.state == "pending", Webhook.status == "active",
                          OutboxItem.next_attempt_at <= now, _free(now),
                          ~exists().where(earlier.webhook_id == OutboxItem.webhook_id,
                                          earlier.state == "pending", earlier.id < OutboxItem.id))
                   .order_by(OutboxItem.id).limit(limit))
        if postgres:
            heads_q = heads_q.with_for_update(of=OutboxItem, skip_locked=True)
        heads = list(s.scalars(heads_q))
        claimed: dict[int, list[OutboxItem]] = {}
        for head in heads:
            claimed[head.webhook_id] = [head, *_followers(s, head, now, postgres)]
        for rows in claimed.values():
            for row in rows:
                row.locked_until = lease
        s.flush()
        return _runs(s, settings, claimed, lease)


def _free(now: dt.datetime) -> Any:
    return or_(OutboxItem.locked_until.is_(None), OutboxItem.locked_until < now)


def _followers(s: Session, head: OutboxItem, now: dt.datetime, postgres: bool) -> list[OutboxItem]:
    """The pending rows right after the head, as long as nobody else holds them."""
    base = (select(OutboxItem).where(OutboxItem.webhook_id == head.webhook_id, OutboxItem.state == "pending",
                                     OutboxItem.id > head.id).order_by(OutboxItem.id).limit(_RUN_LENGTH - 1))
    order = list(s.scalars(select(OutboxItem.id).where(OutboxItem.webhook_id == head.webhook_id,
                                                       OutboxItem.state == "pending", OutboxItem.id > head.id)
                           .order_by(OutboxItem.id).limit(_RUN_LENGTH - 1)))
    locked_q = base.where(_free(now))
    if postgres:
        locked_q = locked_q.with_for_update(skip_locked=True)
    got = {r.id: r for r in s.scalars(locked_q)}
    out: list[OutboxItem] = []
    for oid in order:  # stop at the first row we could not take: order must never skip one
        if oid not in got:
            break
        out.append(got[oid])
    return out


def _runs(s: Session, settings: Settings, claimed: dict[int, list[OutboxItem]], lease: dt.datetime) -> list[Run]:
    if not claimed:
        return []
    hooks = {h.id: h for h in s.scalars(select(Webhook).where(Webhook.id.in_(list(claimed))))}
    event_ids = {r.event_id for rows in claimed.values() for r in rows}
    events = {e.id: e for e in s.scalars(select(Event).where(Event.id.in_(event_ids)))}
    rendered = _render(s, settings, list(events.values()))
    runs = []
    for hook_id, rows in claimed.items():
        hook = hooks[hook_id]
        hidden = _hidden_tags(s, settings, hook)
        run = Run(hook.id, hook.url, hook.http_user, hook.http_pass)
        run.jobs = [Job(r.id, lease, orjson.dumps([for_viewer(rendered[r.event_id], hidden)])) for r in rows]
        runs.append(run)
    return runs


def _hidden_tags(s: Session, settings: Settings, hook: Webhook) -> frozenset[str]:
    """Tags the webhook's creator may not see (private groups, for client teams and guests)."""
    creator = s.get(User, hook.user_id) if hook.user_id else None
    account = s.get(Account, hook.account_id)
    if creator is None or account is None:
        return frozenset()
    return access.hidden_tag_ids(Ctx(db=s, settings=settings, account=account, user=creator, via_admin_key=False))


def _render(s: Session, settings: Settings, events: list[Event]) -> dict[int, dict[str, Any]]:
    """Event objects exactly as get_events renders them (account time zone), grouped by account."""
    out: dict[int, dict[str, Any]] = {}
    by_account: dict[int, list[Event]] = {}
    for e in events:
        by_account.setdefault(e.account_id, []).append(e)
    for account_id, rows in by_account.items():
        account = s.get(Account, account_id)
        assert account is not None
        owner = s.get(User, account.owner_id) if account.owner_id else None
        ctx = Ctx(db=s, settings=settings, account=account, user=owner or User(id=0))
        for e, obj in zip(rows, render_events(ctx, rows), strict=True):
            out[e.id] = obj
    return out


# -- recording -------------------------------------------------------------------------------------

def backoff(settings: Settings, attempts: int) -> float:
    """Seconds before the next try after the n-th failed attempt."""
    return float(min(settings.webhook_retry_max, settings.webhook_retry_base * 2 ** max(0, attempts - 1)))


def record(db: Database, settings: Settings, run: Run, job: Job, outcome: Outcome, rest: list[Job]) -> None:
    """Log the attempt and update the outbox row and the webhook's failure count in one transaction."""
    with db.session(write=True) as s:
        hook_q = select(Webhook).where(Webhook.id == run.webhook_id)
        if db.dialect == "postgresql":
            hook_q = hook_q.with_for_update()
        hook = s.scalars(hook_q).first()
        if hook is None:  # deleted meanwhile: its outbox went with it
            return
        now = precise_now()
        s.add(DeliveryAttempt(webhook_id=hook.id, outbox_id=job.outbox_id, attempted_at=now, ok=outcome.ok,
                              response_code=outcome.code, error=outcome.error[:500],
                              latency_ms=outcome.latency_ms))
        row = s.scalars(select(OutboxItem).where(OutboxItem.id == job.outbox_id,
                                                 OutboxItem.locked_until == job.lease)).first()
        if row is not None:
            row.attempts += 1
            row.locked_until = None
            if outcome.ok:
                row.state, row.delivered_at = "delivered", now
            else:
                row.next_attempt_at = now + dt.timedelta(seconds=backoff(settings, row.attempts))
        if outcome.ok:
            hook.consecutive_failures = 0
            return
        hook.consecutive_failures += 1
        if hook.consecutive_failures >= settings.webhook_pause_after:
            hook.status = "paused"
            log.warning("webhook %s paused after %s consecutive failures", hook.id, hook.consecutive_failures)
        if rest:
            s.execute(update(OutboxItem).where(OutboxItem.id.in_([j.outbox_id for j in rest]),
                                               OutboxItem.locked_until == job.lease).values(locked_until=None))


def deliver_run(db: Database, settings: Settings, client: httpx.Client, run: Run) -> int:
    """Deliver a run's events in order, stopping at the first failure; returns attempts made."""
    for i, job in enumerate(run.jobs):
        outcome = post(client, settings, run.url, job.body, run.http_user, run.http_pass)
        record(db, settings, run, job, outcome, run.jobs[i + 1:])
        if not outcome.ok:
            return i + 1
    return len(run.jobs)


# -- operator commands -----------------------------------------------------------------------------

def enable(db: Database, webhook_id: int) -> bool:
    """Switch a webhook back on; its kept events become due at once (oldest first)."""
    with db.session(write=True) as s:
        hook = s.get(Webhook, webhook_id)
        if hook is None:
            return False
        hook.status, hook.consecutive_failures = "active", 0
        s.execute(update(OutboxItem).where(OutboxItem.webhook_id == webhook_id, OutboxItem.state == "pending")
                  .values(next_attempt_at=precise_now(), locked_until=None))
        return True


def housekeeping(db: Database, settings: Settings) -> None:
    """Expire pending events and drop finished rows and attempt logs older than the retention period;
    sweep unused uploads and expired OAuth2 codes and tokens (run periodically by the worker).

    A row's next_attempt_at is never earlier than its event, and for a paused webhook it is the time of
    the last attempt: events are kept for the retention period after the webhook stopped trying.
    """
    cutoff = precise_now() - dt.timedelta(days=settings.webhook_retention_days)
    with db.session(write=True) as s:
        s.execute(update(OutboxItem).where(OutboxItem.state == "pending", OutboxItem.next_attempt_at < cutoff)
                  .values(state="expired"))
        s.execute(delete(OutboxItem).where(OutboxItem.state.in_(("delivered", "expired")),
                                           OutboxItem.next_attempt_at < cutoff))
        s.execute(delete(DeliveryAttempt).where(DeliveryAttempt.attempted_at < cutoff))
    with db.session(write=True) as s:
        file_store.sweep(s, settings, clock.now())
    with db.session(write=True) as s:
        oauth_refresh.purge_expired(s, clock.now())


# -- the worker ------------------------------------------------------------------------------------

class Worker:
    """Claims and delivers outbox rows until stopped; a thread inside `serve` or the `worker` command."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(max_workers=max(1, settings.webhook_concurrency),
                                        thread_name_prefix="ls-webhook")
        self._client = _client(settings)
        self._last_housekeeping = 0.0

    def run_once(self) -> int:
        """One claim-and-deliver round; returns the number of attempts made."""
        runs = claim(self.db, self.settings)
        if not runs:
            return 0
        return sum(self._pool.map(self._deliver, runs))

    def _deliver(self, run: Run) -> int:
        return deliver_run(self.db, self.settings, self._client, run)

    def drain(self, max_rounds: int = 1000) -> int:
        """Deliver until nothing is due (tests, CLI); returns attempts made."""
        total = 0
        for _ in range(max_rounds):
            n = self.run_once()
            if n == 0:
                break
            total += n
        return total

    def run_forever(self) -> None:
        while not self.stopping.is_set():
            try:
                if time.monotonic() - self._last_housekeeping > _HOUSEKEEPING_EVERY:
                    self._last_housekeeping = time.monotonic()
                    housekeeping(self.db, self.settings)
                busy = self.run_once()
            except Exception:
                log.exception("webhook worker round failed")
                busy = 0
            if not busy:
                self.stopping.wait(self.settings.webhook_poll_interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="ls-webhook-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._client.close()
