"""Webhook delivery from the transactional outbox, the URL probe and the SSRF guard (PROTOCOL.md §7).

Outbox rows are written by events.record() in the same transaction as the change. A worker claims the
oldest pending row of each active webhook (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: a short IMMEDIATE
transaction) together with the rows that follow it (at most `webhook_batch_max`), sets a lease in
`locked_until`, commits, and sends them in order as one JSON array in one POST, outside any transaction.
Only the head of a webhook's queue is ever claimable, so a later event is never delivered while an earlier
one is pending, and two workers never hold the same webhook. Every attempt is logged; 10 consecutive failed
attempts pause the webhook and its events wait for `localsection webhooks enable ID`.

Every probe and attempt runs under a total wall-clock deadline (`webhook_timeout`: name lookup, connect,
TLS, sending, headers and body together), so a receiver that answers one byte at a time cannot hold a
thread longer than that. The worker schedules webhooks independently: a webhook is in flight at most once,
one that keeps failing may use only half of the slots, and one that backs off occupies none, so a slow or
broken receiver delays other webhooks by at most one attempt.
"""

from __future__ import annotations

import base64
import contextvars
import datetime as dt
import ipaddress
import logging
import math
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import Any

import httpcore
import orjson
from sqlalchemy import bindparam, delete, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from localsection import access, clock
from localsection.config import Settings
from localsection.ctx import Ctx
from localsection.db import POOL_SIZE, Database, Prepared
from localsection.events import WEBHOOK_EVENT_NAMES
from localsection.models import Account, DeliveryAttempt, Event, OutboxItem, User, Webhook
from localsection.render.events import for_viewer, render_events, with_webhook_page

log = logging.getLogger("localsection.webhooks")

USER_AGENT = "Worksection-Webhook"
METADATA_ADDRESSES = frozenset({ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")})
_MAX_RESPONSE = 64 * 1024
_WRITE_PIECE = 16 * 1024  # the deadline is checked between pieces of a request body
_HOUSEKEEPING_EVERY = 600.0
_SLOW_SHARE = 0.5  # an attempt taking over this share of the deadline marks the webhook as troubled
# add_webhook probes run in the API's worker threads (POOL_SIZE of them): at most half may be probing at once,
# so probes to slow receivers can never take every thread; a probe beyond that fails at once.
PROBES_AT_ONCE = max(1, POOL_SIZE // 2)
_PROBE_SLOTS = threading.BoundedSemaphore(PROBES_AT_ONCE)
# Name lookups cannot be interrupted: they run here and are waited for only until the deadline.
_RESOLVER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="ls-resolve")


class UrlRefused(Exception):
    """The URL is malformed or resolves to an address webhooks may not reach."""


# -- the total deadline ----------------------------------------------------------------------------

# Monotonic time by which the current probe or attempt must be over (per thread: each runs in one thread).
_DEADLINE: contextvars.ContextVar[float] = contextvars.ContextVar("webhook_deadline", default=math.inf)


def _left(kind: type[Exception], timeout: float | None = None) -> float | None:
    """Timeout for one socket operation: httpcore's own, cut to what is left of the deadline; past it, `kind`."""
    deadline = _DEADLINE.get()
    if deadline == math.inf:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise kind("total deadline exceeded")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read, write and TLS handshake ends by the deadline.

    httpx's timeouts apply per operation, so a receiver dripping a byte just inside each of them could hold
    a request for minutes; here each operation only gets what is left of the total.
    """

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(httpcore.ReadTimeout, timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for start in range(0, len(buffer), _WRITE_PIECE):
            self._inner.write(buffer[start:start + _WRITE_PIECE], _left(httpcore.WriteTimeout, timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname,
                                                     _left(httpcore.ConnectTimeout, timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend with the name lookup and the connect bounded by the deadline."""

    def __init__(self) -> None:
        self._sync = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        try:
            addresses = lookup(host, port)
        except UrlRefused as exc:
            raise httpcore.ConnectError(str(exc)) from None
        error: Exception = httpcore.ConnectError("no address")
        for ip in addresses:
            try:
                stream = self._sync.connect_tcp(str(ip), port, _left(httpcore.ConnectTimeout, timeout),
                                                local_address, socket_options)
            except httpcore.ConnectError as exc:
                error = exc
                continue
            return _DeadlineStream(stream)
        raise error

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not webhook targets")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def lookup(host: str, port: int) -> list[IpAddress]:
    """The host's addresses (an IP literal as is), waiting for the resolver no longer than the deadline."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    future: Future[list[Any]] = _RESOLVER.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=_left(UrlRefused))
    except FutureTimeout:
        raise UrlRefused("host does not resolve in time") from None
    except (OSError, UnicodeError):
        raise UrlRefused("host does not resolve") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise UrlRefused("host does not resolve")
    return addresses


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
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = lookup(parts.hostname or "", port)
    if any(blocked_address(a) for a in addresses):
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


_HTTP_ERRORS = (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError,
                httpcore.UnsupportedProtocol, httpcore.ConnectionNotAvailable, httpcore.ProxyError, ValueError)


def _accepted(code: int, body: bytes) -> bool:
    """200 and a JSON object whose status is OK (case-insensitive)."""
    if code != 200:
        return False
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(data, dict) and str(data.get("status", "")).upper() == "OK"


def post(pool: httpcore.ConnectionPool, settings: Settings, url: str, body: bytes, user: str,
         password: str) -> Outcome:
    """POST a JSON body; success is 200 + {"status": "OK"}, all of it within `webhook_timeout` (wall clock)."""
    started = time.monotonic()
    token = _DEADLINE.set(started + settings.webhook_timeout)
    try:
        return _exchange(pool, settings, url, body, user, password, started)
    finally:
        _DEADLINE.reset(token)


def _exchange(pool: httpcore.ConnectionPool, settings: Settings, url: str, body: bytes, user: str, password: str,
              started: float) -> Outcome:
    def elapsed_ms() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        dest = target(url, settings)
    except UrlRefused as exc:
        return Outcome(False, None, f"refused: {exc}", elapsed_ms())
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, **dest.headers}
    if user or password:
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    limit = settings.webhook_timeout
    extensions = {**dest.extensions, "timeout": {"connect": limit, "read": limit, "write": limit, "pool": limit}}
    data = b""
    try:
        with pool.stream("POST", dest.url, headers=list(headers.items()), content=body,
                         extensions=extensions) as response:
            code = response.status
            for chunk in response.iter_stream():
                data += chunk
                if len(data) > _MAX_RESPONSE:
                    break
    except _HTTP_ERRORS as exc:
        if time.monotonic() - started >= settings.webhook_timeout:
            return Outcome(False, None, f"timeout: no complete answer within {settings.webhook_timeout:g} s",
                           elapsed_ms())
        return Outcome(False, None, type(exc).__name__, elapsed_ms())
    if _accepted(code, data):
        return Outcome(True, code, "", elapsed_ms())
    return Outcome(False, code, "response is not 200 + {\"status\":\"OK\"}", elapsed_ms())


def http_pool(settings: Settings) -> httpcore.ConnectionPool:
    """Connections for probes and deliveries: deadline-bound sockets, no proxies from the environment."""
    return httpcore.ConnectionPool(max_connections=None,
                                   max_keepalive_connections=max(1, settings.webhook_concurrency),
                                   keepalive_expiry=30.0, network_backend=_DeadlineBackend())


def probe(settings: Settings, url: str, user: str = "", password: str = "") -> bool:
    """The add_webhook check (§7.2): POST `[]`; passes on 200 + {"status": "OK"} within the timeout.

    At most PROBES_AT_ONCE probes run at a time in this process; one more fails at once rather than waiting
    in (and holding) an API worker thread.
    """
    if not _PROBE_SLOTS.acquire(blocking=False):
        log.warning("webhook probe refused: %s probes already running", PROBES_AT_ONCE)
        return False
    try:
        with http_pool(settings) as pool:
            return post(pool, settings, url, b"[]", user, password).ok
    finally:
        _PROBE_SLOTS.release()


# -- claiming --------------------------------------------------------------------------------------

@dataclass
class Job:
    """One outbox row of a run and its rendered event object."""

    outbox_id: int
    event: dict[str, Any]


@dataclass
class Run:
    """Consecutive pending events of one webhook, claimed together and sent in order as one POST."""

    webhook_id: int
    url: str
    http_user: str
    http_pass: str
    lease: dt.datetime
    failing: bool = False  # troubled when claimed: its last attempt failed or was slow
    jobs: list[Job] = field(default_factory=list)

    def body(self) -> bytes:
        """The payload: a JSON array of the run's events, oldest first (§7.3)."""
        return orjson.dumps([j.event for j in self.jobs])


def precise_now() -> dt.datetime:
    """Naive UTC with microseconds (backoff below one second, leases)."""
    return dt.datetime.fromtimestamp(clock.unix(), dt.UTC).replace(tzinfo=None)


def lease_seconds(settings: Settings) -> float:
    """How long a claim holds its rows: a run is a single attempt bounded by the deadline, so the lease only
    has to cover that plus the bookkeeping. After a crash the webhook resumes once it expires."""
    return min(settings.webhook_lease_seconds, 2 * settings.webhook_timeout + 5.0)


def claim(db: Database, settings: Settings, limit: int | None = None, failing_limit: int | None = None,
          exclude: Collection[int] = (), slow: Collection[int] = ()) -> list[Run]:
    """Lease the heads (and following rows) of up to `limit` active webhooks' queues; render their bodies.

    At most `failing_limit` of them may be troubled webhooks: the last attempt failed, or (`slow`) took long
    here. They are taken first, so they are not starved; the cap keeps slots for healthy ones.
    `exclude`: webhooks this worker has in flight.
    """
    limit = limit or settings.webhook_concurrency
    failing_limit = limit if failing_limit is None else max(0, min(failing_limit, limit))
    postgres = db.dialect == "postgresql"
    with db.session(write=True) as s:
        now = precise_now()
        lease = now + dt.timedelta(seconds=lease_seconds(settings))
        heads = _heads(s, now, True, failing_limit, exclude, slow, postgres) if failing_limit else []
        if limit > len(heads):
            heads += _heads(s, now, False, limit - len(heads), exclude, slow, postgres)
        claimed: dict[int, list[OutboxItem]] = {}
        for head in heads:
            claimed[head.webhook_id] = [head, *_followers(s, settings, head, now, postgres)]
        for rows in claimed.values():
            for row in rows:
                row.locked_until = lease
        s.flush()
        return _runs(s, settings, claimed, lease, slow)


def _heads(s: Session, now: dt.datetime, troubled: bool, limit: int, exclude: Collection[int],
           slow: Collection[int], postgres: bool) -> list[OutboxItem]:
    """The unleased head rows of active webhooks that are (not) troubled, due longest first (so webhooks
    take turns: one that just had an attempt is due again only after its backoff or its next event)."""
    earlier = aliased(OutboxItem)
    is_troubled = Webhook.consecutive_failures > 0
    if slow:
        is_troubled = or_(is_troubled, Webhook.id.in_(list(slow)))
    q = (select(OutboxItem).join(Webhook, Webhook.id == OutboxItem.webhook_id)
         .where(OutboxItem.state == "pending", Webhook.status == "active",
                is_troubled if troubled else ~is_troubled,
                OutboxItem.next_attempt_at <= now, _free(now),
                ~exists().where(earlier.webhook_id == OutboxItem.webhook_id,
                                earlier.state == "pending", earlier.id < OutboxItem.id))
         .order_by(OutboxItem.next_attempt_at, OutboxItem.id).limit(limit))  # due longest first: turns
    if exclude:
        q = q.where(OutboxItem.webhook_id.not_in(list(exclude)))
    if postgres:
        q = q.with_for_update(of=OutboxItem, skip_locked=True)
    return list(s.scalars(q))


def _free(now: Any) -> Any:
    """Rows no worker holds: never leased, or the lease ran out before `now` (a datetime or a bind parameter)."""
    return or_(OutboxItem.locked_until.is_(None), OutboxItem.locked_until < now)


_NOW = bindparam("now", type_=OutboxItem.__table__.c.next_attempt_at.type)
# Whether claim() could find anything: a free, due row of an active webhook, in one indexed statement.
_ANY_DUE = Prepared(select(OutboxItem.id).join(Webhook, Webhook.id == OutboxItem.webhook_id).where(
    OutboxItem.state == "pending", Webhook.status == "active", OutboxItem.next_attempt_at <= _NOW,
    _free(_NOW)).limit(1))


def any_due(db: Database) -> bool:
    """Whether some active webhook has a due row no worker holds: the worker's idle round asks this (~0.1 ms)
    before claiming (a claim, its write transaction and ORM queries, cost ~2 ms of CPU even when it found
    nothing; every poll interval, in a thread beside the API, that showed in the API's p99 latency)."""
    with db.session(write=False) as s:
        return _ANY_DUE.first(s, {"now": precise_now()}) is not None


def _followers(s: Session, settings: Settings, head: OutboxItem, now: dt.datetime,
               postgres: bool) -> list[OutboxItem]:
    """The pending rows right after the head (a batch of at most webhook_batch_max), as long as nobody else
    holds them."""
    size = max(0, settings.webhook_batch_max - 1)
    if size == 0:
        return []
    base = (select(OutboxItem).where(OutboxItem.webhook_id == head.webhook_id, OutboxItem.state == "pending",
                                     OutboxItem.id > head.id).order_by(OutboxItem.id).limit(size))
    order = list(s.scalars(select(OutboxItem.id).where(OutboxItem.webhook_id == head.webhook_id,
                                                       OutboxItem.state == "pending", OutboxItem.id > head.id)
                           .order_by(OutboxItem.id).limit(size)))
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


def _runs(s: Session, settings: Settings, claimed: dict[int, list[OutboxItem]], lease: dt.datetime,
          slow: Collection[int]) -> list[Run]:
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
        run = Run(hook.id, hook.url, hook.http_user, hook.http_pass, lease,
                  hook.consecutive_failures > 0 or hook.id in slow)
        run.jobs = [Job(r.id, for_viewer(rendered[r.event_id], hidden)) for r in rows]
        runs.append(run)
    return runs


def _hidden_tags(s: Session, settings: Settings, hook: Webhook) -> frozenset[str]:
    """Tags the webhook's creator may not see (private groups, for client teams and guests)."""
    creator = s.get(User, hook.user_id) if hook.user_id else None
    account = s.get(Account, hook.account_id)
    if creator is None or account is None:
        return frozenset()
    return access.hidden_tag_ids(Ctx.for_user(s, settings, account, creator))


def _render(s: Session, settings: Settings, events: list[Event]) -> dict[int, dict[str, Any]]:
    """Event objects as get_events renders them (account time zone), with the production `object.page`
    of webhook payloads (§7.3), grouped by account."""
    out: dict[int, dict[str, Any]] = {}
    by_account: dict[int, list[Event]] = {}
    for e in events:
        by_account.setdefault(e.account_id, []).append(e)
    for account_id, rows in by_account.items():
        account = s.get(Account, account_id)
        assert account is not None
        owner = s.get(User, account.owner_id) if account.owner_id else None
        ctx = Ctx.system(s, settings, account, owner)
        for e, obj in zip(rows, render_events(ctx, rows), strict=True):
            out[e.id] = with_webhook_page(obj, e)
    return out


# -- recording -------------------------------------------------------------------------------------

def backoff(settings: Settings, attempts: int) -> float:
    """Seconds before the next try after the n-th failed attempt."""
    return float(min(settings.webhook_retry_max, settings.webhook_retry_base * 2 ** max(0, attempts - 1)))


def record(db: Database, settings: Settings, run: Run, outcome: Outcome) -> None:
    """Log the attempt (one row per POST, under the head's outbox id) and update the run's outbox rows and the
    webhook's failure count in one transaction. A failed batch counts as one failed attempt."""
    ids = [j.outbox_id for j in run.jobs]
    with db.session(write=True) as s:
        hook_q = select(Webhook).where(Webhook.id == run.webhook_id)
        if db.dialect == "postgresql":
            hook_q = hook_q.with_for_update()
        hook = s.scalars(hook_q).first()
        if hook is None:  # deleted meanwhile: its outbox went with it
            return
        now = precise_now()
        s.add(DeliveryAttempt(webhook_id=hook.id, outbox_id=ids[0], attempted_at=now, ok=outcome.ok,
                              response_code=outcome.code, error=outcome.error[:500],
                              latency_ms=outcome.latency_ms, events=event_names(run, hook)[:255],
                              payload=run.body().decode() if settings.emulator else None))
        ours = (OutboxItem.id.in_(ids), OutboxItem.locked_until == run.lease)  # rows whose lease we still hold
        if outcome.ok:
            s.execute(update(OutboxItem).where(*ours).values(state="delivered", delivered_at=now, locked_until=None,
                                                             attempts=OutboxItem.attempts + 1))
            hook.consecutive_failures = 0
            return
        head_attempts = s.scalars(select(OutboxItem.attempts).where(OutboxItem.id == ids[0], *ours)).first()
        if head_attempts is not None:
            retry_at = now + dt.timedelta(seconds=backoff(settings, head_attempts + 1))
            s.execute(update(OutboxItem).where(*ours).values(locked_until=None, next_attempt_at=retry_at,
                                                             attempts=OutboxItem.attempts + 1))
        hook.consecutive_failures += 1
        if hook.consecutive_failures >= settings.webhook_pause_after:
            hook.status = "paused"
            log.warning("webhook %s paused after %s consecutive failures", hook.id, hook.consecutive_failures)


def event_names(run: Run, hook: Webhook) -> str:
    """The webhook event names a run carries (comma list, first seen first), as the webhook subscribed to them."""
    subscribed = set(hook.events.split(","))
    names: dict[str, None] = {}
    for job in run.jobs:
        obj = job.event.get("object")
        kind = obj.get("type") if isinstance(obj, dict) else None
        candidates = WEBHOOK_EVENT_NAMES.get((str(job.event.get("action")), str(kind)), ())
        names.update(dict.fromkeys([n for n in candidates if n in subscribed] or list(candidates[:1])))
    return ",".join(names)


def deliver_run(db: Database, settings: Settings, pool: httpcore.ConnectionPool, run: Run) -> Outcome | None:
    """Send a run's events as one POST and record the outcome (None: nothing to send)."""
    if not run.jobs:
        return None
    outcome = post(pool, settings, run.url, run.body(), run.http_user, run.http_pass)
    record(db, settings, run, outcome)
    return outcome


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


def purge_outbox(db: Database, settings: Settings) -> None:
    """Expire pending events and drop finished rows and attempt logs older than the retention period.

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


# -- the worker ------------------------------------------------------------------------------------

class Worker:
    """Claims and delivers outbox rows until stopped; a thread inside `serve` or the `worker` command.

    `run_forever` keeps up to `webhook_concurrency` webhooks in flight, each in one slot of its thread pool,
    and claims again as soon as a slot frees: a webhook never waits for another's attempt to end unless all
    slots are busy; troubled webhooks (last attempt failed, or took over half the deadline) may hold only half
    of them, and a webhook that backs off holds none (its head is not due). A new bad receiver can take a
    healthy slot for its first attempt only. `run_once`/`drain` deliver round by round (tests, CLI).
    """

    def __init__(self, db: Database, settings: Settings, periodic: Callable[[], None] | None = None) -> None:
        """`periodic` runs every _HOUSEKEEPING_EVERY seconds in the worker's thread (localsection.housekeeping)."""
        self.db = db
        self.settings = settings
        self.periodic = periodic
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.slots = max(1, settings.webhook_concurrency)
        self.failing_slots = max(1, self.slots // 2)
        self._pool = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="ls-webhook")
        self._http = http_pool(settings)
        self._lock = threading.Lock()
        self._in_flight: dict[int, bool] = {}  # webhook id -> it was troubled when claimed
        self._slow: set[int] = set()  # webhooks whose last attempt here took over half the deadline
        self._wake = threading.Event()
        self._last_housekeeping = 0.0

    def run_once(self) -> int:
        """One claim-and-deliver round, waited for; returns the number of attempts made."""
        runs = claim(self.db, self.settings, self.slots, self.failing_slots, slow=self._slow_ids())
        if not runs:
            return 0
        return sum(1 for outcome in self._pool.map(self._deliver, runs) if outcome is not None)

    def _deliver(self, run: Run) -> Outcome | None:
        outcome = deliver_run(self.db, self.settings, self._http, run)
        if outcome is not None:
            with self._lock:
                if outcome.latency_ms > self.settings.webhook_timeout * 1000 * _SLOW_SHARE:
                    self._slow.add(run.webhook_id)
                else:
                    self._slow.discard(run.webhook_id)
        return outcome

    def _slow_ids(self) -> list[int]:
        with self._lock:
            return list(self._slow)

    def drain(self, max_rounds: int = 1000) -> int:
        """Deliver until nothing is due (tests, CLI); returns attempts made."""
        total = 0
        for _ in range(max_rounds):
            n = self.run_once()
            if n == 0:
                break
            total += n
        return total

    def dispatch(self) -> tuple[int, int]:
        """Claim for the free slots and start those runs; returns (runs started, slots still free)."""
        with self._lock:
            free = self.slots - len(self._in_flight)
            failing_free = self.failing_slots - sum(self._in_flight.values())
            busy = list(self._in_flight)
            slow = list(self._slow)
        if free <= 0:
            return 0, 0
        runs = claim(self.db, self.settings, free, max(0, failing_free), exclude=busy, slow=slow)
        for run in runs:
            with self._lock:
                self._in_flight[run.webhook_id] = run.failing
            self._pool.submit(self._deliver_tracked, run)
        return len(runs), free - len(runs)

    def _deliver_tracked(self, run: Run) -> None:
        try:
            self._deliver(run)
        except Exception:
            log.exception("webhook %s delivery failed", run.webhook_id)
        finally:
            with self._lock:
                self._in_flight.pop(run.webhook_id, None)
            self._wake.set()  # a slot is free, and this webhook may have more to send

    def round(self) -> tuple[int, int]:
        """One round of run_forever: the periodic jobs when due, then a claim for the free slots when anything is
        due (any_due: an idle round costs one indexed statement). Returns dispatch()'s (started, still free)."""
        if self.periodic is not None and time.monotonic() - self._last_housekeeping > _HOUSEKEEPING_EVERY:
            self._last_housekeeping = time.monotonic()
            self.periodic()
        if not any_due(self.db):
            return 0, 0
        return self.dispatch()

    def run_forever(self) -> None:
        while not self.stopping.is_set():
            self._wake.clear()
            started, free = 0, 0
            try:
                started, free = self.round()
            except Exception:
                log.exception("webhook worker round failed")
            if started and free:
                continue  # more may be due right now
            self._wake.wait(self.settings.webhook_poll_interval)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="ls-webhook-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming; attempts in flight finish (each is bounded by the deadline) and are recorded."""
        self.stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()
