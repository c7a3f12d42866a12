"""psycopg's asyncio connection, waiting for the server with the socket watched once instead of once per wait.

psycopg's own `AsyncConnection.wait` registers the socket with the event loop before every wait for an answer and
removes it after, and arms a 0.1 s timer around it (to notice Ctrl-C): two `epoll_ctl` system calls, a timer and
their bookkeeping per round trip — ~40 % of the CPU psycopg spends on a short query on this machine
(docs/performance.md, round two, last part). `LoopConnection` keeps the socket registered while the connection is
in use and drops the registration the first time the socket wakes the loop with nobody waiting (an idle
connection never keeps the loop busy). Cancellation (a cancelled task, Ctrl-C) and waits with a timeout go the
way psycopg goes: the query is cancelled on the server before the error is raised.

The event loop's PostgreSQL engine (db.Database) opens its connections with this class; nothing else changes.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
from psycopg import errors as e
from psycopg import pq, waiting

_INTERRUPTED = (asyncio.CancelledError, KeyboardInterrupt, SystemExit)


class LoopConnection(psycopg.AsyncConnection[Any]):
    """An AsyncConnection whose socket stays registered with the running loop between waits."""

    _watched: tuple[asyncio.AbstractEventLoop, int] | None = None  # (loop, socket) the reader is registered for
    _waiter: asyncio.Future[None] | None = None
    _raw: psycopg.AsyncRawCursor[Any] | None = None
    begin_pending = False  # a write transaction whose BEGIN is not sent yet (db._begin_loop_write)

    def raw_cursor(self) -> psycopg.AsyncRawCursor[Any]:
        """This connection's cursor for statements in PostgreSQL's numbered form ($1, ...; db._Plan), reused
        from one statement to the next: a connection runs one statement at a time (SQLAlchemy's pool hands it
        to one action), and a new cursor per statement cost a tenth of the statement's CPU."""
        if self._raw is None:
            self._raw = psycopg.AsyncRawCursor(self)
        return self._raw

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is None:  # the socket woke the loop while nobody waits: stop watching it until the next wait
            self._unwatch()
        elif not waiter.done():
            waiter.set_result(None)

    def _unwatch(self) -> None:
        watched, self._watched = self._watched, None
        if watched is not None:
            loop, fileno = watched
            if not loop.is_closed():
                loop.remove_reader(fileno)

    async def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        if timeout is not None:
            self._unwatch()
            return await super().wait(gen, interval, timeout)
        fileno = self.pgconn.socket
        try:
            state = next(gen)
        except StopIteration as done:
            return done.value
        try:
            while True:
                if state & waiting.WAIT_W:
                    # Sending: the socket is nearly always writable, a poll without the loop is enough; when it
                    # is not (a large parameter filling the buffer), psycopg's own wait does the rest.
                    ready = waiting._ready(fileno, state)  # psycopg's zero-timeout poll
                    if ready:
                        state = gen.send(ready)
                        continue
                    self._unwatch()
                    return await waiting.wait_async(_resume(gen, state), fileno, interval=interval)
                loop = asyncio.get_running_loop()
                if self._watched != (loop, fileno):
                    self._unwatch()
                    loop.add_reader(fileno, self._wake)
                    self._watched = (loop, fileno)
                waiter = self._waiter = loop.create_future()
                try:
                    await waiter
                finally:
                    self._waiter = None
                state = gen.send(waiting.READY_R)
        except StopIteration as done:
            return done.value
        except OSError as exc:  # as psycopg: the socket is gone
            self._unwatch()
            raise e.OperationalError("connection socket closed") from exc
        except _INTERRUPTED:
            self._unwatch()
            if self.pgconn.transaction_status == pq.TransactionStatus.ACTIVE:
                # As psycopg does: cancel the query on the server, else the connection stays busy with it.
                try:
                    await self._try_cancel(timeout=5.0)
                    await waiting.wait_async(gen, fileno, interval=interval, timeout=5.0)
                except e.QueryCanceled:
                    pass
            raise

    async def close(self) -> None:
        self._unwatch()
        await super().close()


def _resume(gen: Any, state: Any) -> Any:
    """`gen`, already started and waiting in `state`, as a fresh generator that yields that state first."""
    ready = yield state
    try:
        while True:
            ready = yield gen.send(ready)
    except StopIteration as done:
        return done.value
