"""`GET /live?topics=project:12,task:34`: server-sent events of the changes a signed-in user may see.

One poller per process reads the new rows of the events log (one query a second while anyone listens, however
many streams are open) and hands them to every open stream of the same account. A stream keeps the rows whose
project or task matches one of its topics and asks the database once per batch which of them the user may see
(access.event_filter, as get_events), checking in the same query that the session is still alive. Each change
is sent as

    id: <event id>
    event: change
    data: {"topic": "task:34", "event": "update_task", "id": <event id>}

`Last-Event-ID` (or `?after=`) resumes after an event; a comment line every HEARTBEAT seconds keeps proxies from
closing the stream; a stream ends after at most MAX_STREAM seconds (the browser reconnects and resumes).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import NamedTuple

import orjson
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from localsection import access, accounts
from localsection.api import paths
from localsection.ctx import Ctx
from localsection.errors import HttpRefusal
from localsection.events import WEBHOOK_EVENT_NAMES
from localsection.models import Account, Event
from localsection.state import AppState
from localsection.webapp import sessions
from localsection.webapp.handlers import cookie_values

POLL_SECONDS = 1.0
HEARTBEAT = 15.0
MAX_STREAM = 300.0
MAX_TOPICS = 50
BACKLOG = 500  # events resumed after a Last-Event-ID, at most
LOOKBACK = 50  # ids re-read behind the newest seen: ids committed out of order (PostgreSQL) are not missed
QUEUE = 1000


class Change(NamedTuple):
    id: int
    account_id: int
    project_id: int | None
    action: str
    object_type: str
    object_id: int
    page: str

    def topics(self) -> set[str]:
        """project:<id> and task:<id> of every task the object's page names (a comment's task, a subtask's top)."""
        out = {f"{self.object_type}:{self.object_id}"}
        if self.project_id is not None:
            out.add(f"project:{self.project_id}")
        parts = [p for p in self.page.split("/") if p]
        if len(parts) >= 3 and parts[0] == "project":
            out.update(f"task:{p}" for p in parts[2:] if p.isdigit())
        return out

    def name(self) -> str:
        names = WEBHOOK_EVENT_NAMES.get((self.action, self.object_type))
        return names[0] if names else f"{self.action}_{self.object_type}"


_COLUMNS = (Event.id, Event.account_id, Event.project_id, Event.action, Event.object_type, Event.object_id,
            Event.page)


@dataclass(eq=False)
class Listener:
    account_id: int
    queue: asyncio.Queue[list[Change]] = field(default_factory=lambda: asyncio.Queue(QUEUE))


class Poller:
    """The process's one reader of the events log; runs while at least one stream listens."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self.listeners: set[Listener] = set()
        self.last_id: int | None = None
        self.seen: deque[int] = deque(maxlen=4 * LOOKBACK + QUEUE)
        self.task: asyncio.Task[None] | None = None

    def newest(self) -> int:
        """The newest event id; the LOOKBACK before it count as seen (they happened before anyone listened)."""
        with self.state.db.session(write=False) as db:
            last = int(db.scalar(select(func.max(Event.id))) or 0)
            self.seen.extend(db.scalars(select(Event.id).where(Event.id > last - LOOKBACK, Event.id <= last)))
        return last

    async def add(self, listener: Listener) -> int:
        """Register a stream; returns the id after which it starts."""
        if self.last_id is None or not self.listeners:  # idle until now: start from what exists now
            self.last_id = await run_in_threadpool(self.newest)
        self.listeners.add(listener)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())
        return self.last_id

    def remove(self, listener: Listener) -> None:
        self.listeners.discard(listener)

    def _read(self, after: int) -> list[Change]:
        with self.state.db.session(write=False) as db:
            rows = db.execute(select(*_COLUMNS).where(Event.id > after).order_by(Event.id).limit(2000)).all()
        return [Change(*r) for r in rows]

    async def _run(self) -> None:
        while self.listeners:
            await asyncio.sleep(POLL_SECONDS)
            try:
                rows = await run_in_threadpool(self._read, max(0, (self.last_id or 0) - LOOKBACK))
            except Exception:  # the database is away for a moment: try again on the next tick
                continue
            fresh = [r for r in rows if r.id not in self.seen]
            for r in fresh:
                self.seen.append(r.id)
            if rows:
                self.last_id = max(self.last_id or 0, rows[-1].id)
            if not fresh:
                continue
            for listener in list(self.listeners):
                mine = [r for r in fresh if r.account_id == listener.account_id]
                if mine:
                    with contextlib.suppress(asyncio.QueueFull):  # a stuck stream misses changes, never blocks
                        listener.queue.put_nowait(mine)


def poller(request: Request) -> Poller:
    app_state = request.app.state
    found = getattr(app_state, "live_poller", None)
    if found is None:
        found = Poller(request.app.state.ls)
        app_state.live_poller = found
    assert isinstance(found, Poller)
    return found


def parse_topics(raw: str) -> set[str] | None:
    """`project:12,task:34` -> the set; None when malformed or too many."""
    out: set[str] = set()
    for part in raw.split(",")[: MAX_TOPICS + 1]:
        kind, _, ident = part.strip().partition(":")
        if kind not in ("project", "task") or not ident.isdigit() or len(ident) > 18:
            return None
        out.add(f"{kind}:{int(ident)}")
    return out if 0 < len(out) <= MAX_TOPICS else None


@dataclass
class Who:
    account_id: int
    user_id: int
    tokens: list[str]


def _who(state: AppState, request: Request) -> Who | None:
    with state.db.session(write=False) as db:
        try:
            account = accounts.resolve_account(db, request.headers.get("host", ""), state.settings,
                                               paths.account_in(request.scope))
        except HttpRefusal:
            return None
        tokens = cookie_values(request, sessions.COOKIE)
        current = sessions.lookup(db, account.id, tokens)
        if current is None:
            return None
        return Who(account.id, current.user.id, tokens)


def _visible(state: AppState, who: Who, ids: list[int]) -> set[int] | None:
    """Which of these events the user may see now; None when the session has ended."""
    with state.db.session(write=False) as db:
        current = sessions.lookup(db, who.account_id, who.tokens)
        if current is None or current.user.id != who.user_id:
            return None
        account = db.get(Account, who.account_id)
        if account is None:
            return None
        ctx = Ctx.for_user(db, state.settings, account, current.user)
        return set(db.scalars(select(Event.id).where(Event.id.in_(ids), access.event_filter(ctx))))


def _backlog(state: AppState, account_id: int, after: int) -> list[Change]:
    with state.db.session(write=False) as db:
        rows = db.execute(select(*_COLUMNS).where(Event.account_id == account_id, Event.id > after)
                          .order_by(Event.id).limit(BACKLOG)).all()
    return [Change(*r) for r in rows]


def _message(change: Change, topic: str) -> bytes:
    data = orjson.dumps({"topic": topic, "event": change.name(), "id": change.id})
    return b"id: %d\nevent: change\ndata: %s\n\n" % (change.id, data)


async def live(request: Request) -> Response:
    """The event stream (see the module's docstring). 401 without a session, 400 for bad topics."""
    state: AppState = request.app.state.ls
    topics = parse_topics(request.query_params.get("topics", "")[:2000])
    if topics is None:
        return PlainTextResponse("topics: a comma list of project:<id> and task:<id>", 400)
    who = await run_in_threadpool(_who, state, request)
    if who is None:
        return PlainTextResponse("sign in first", 401)
    resume = request.headers.get("last-event-id") or request.query_params.get("after") or ""
    after = int(resume) if resume.isdigit() and len(resume) < 19 else None
    hub = poller(request)
    listener = Listener(who.account_id)
    start = await hub.add(listener)

    async def send(changes: list[Change]) -> AsyncIterator[bytes]:
        wanted = [(c, sorted(c.topics() & topics)[0]) for c in changes if c.topics() & topics]
        if not wanted:
            return
        visible = await run_in_threadpool(_visible, state, who, [c.id for c, _ in wanted])
        if visible is None:
            raise _Ended
        for change, topic in wanted:
            if change.id in visible:
                yield _message(change, topic)

    async def stream() -> AsyncIterator[bytes]:
        began = time.monotonic()
        try:
            yield b"retry: 3000\n\n"
            floor = start if after is None else after
            if after is not None and after < start:
                backlog = await run_in_threadpool(_backlog, state, who.account_id, after)
                async for chunk in send(backlog):
                    yield chunk
                floor = max([after, *(c.id for c in backlog)])
            while time.monotonic() - began < MAX_STREAM:
                try:
                    changes = await asyncio.wait_for(listener.queue.get(), HEARTBEAT)
                except TimeoutError:
                    yield b": ping\n\n"
                    continue
                async for chunk in send([c for c in changes if c.id > floor]):
                    yield chunk
        except _Ended:
            return
        finally:
            hub.remove(listener)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


class _Ended(Exception):
    """The session ended while the stream was open."""
