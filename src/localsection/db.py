"""Engine, sessions, SQLite pragmas and the one-transaction-per-action scope."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import threading
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Engine,
    String,
    any_,
    bindparam,
    cast,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import AdaptedConnection, Connection, Dialect
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, configure_mappers
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.util.concurrency import await_, greenlet_spawn

from localsection.config import Settings
from localsection.pgwait import LoopConnection


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


# Connections kept per process: the API's worker threads (app.py caps them at this number) each hold at most one,
# so a busy server never closes and reopens connections; overflow covers the webhook worker and health checks.
# Eight: on 2 cores 16 or 40 threads only fought over the GIL (docs/performance.md), and PostgreSQL round trips
# still overlap.
POOL_SIZE = 8
POOL_OVERFLOW = 16


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _json_loads(value: Any) -> Any:
    # SQLite gives a JSON number back as a number (the column has numeric affinity).
    return orjson.loads(value) if isinstance(value, str | bytes) else value


# JSON columns (todo lists, mentions, options, event payloads) through orjson: the stdlib decoder was the largest
# single cost of rendering a task list (docs/performance.md).
_JSON = {"json_serializer": _json_dumps, "json_deserializer": _json_loads}


# -- secrets at rest ----------------------------------------------------------------------------------------
# The SQLite database holds API keys and webhook passwords in clear (docs/security.md says why), the data dir the
# OAuth signing key and uploaded files: only the user running localsection may read them.
DIR_MODE = 0o700
FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")

log = logging.getLogger(__name__)


def _ours(st: os.stat_result) -> bool:
    return not hasattr(os, "getuid") or st.st_uid == os.getuid()


@contextmanager
def private_umask() -> Iterator[None]:
    """Files and directories created in the block are readable by their owner only (umask 077).

    The umask is process-wide: use it at start-up, around creating the data dir and the database."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def private_dir(path: Path) -> None:
    """Create `path` (and parents) mode 0700; tighten it to 0700 when it exists, is ours and is open to others."""
    with private_umask():
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    st = path.stat()
    if _ours(st) and st.st_mode & 0o077:
        log.info("tightening %s to mode 0700 (it holds secrets)", path)
        path.chmod(DIR_MODE)


def private_file(path: Path) -> None:
    """Mode 0600 for an existing file of ours that is open to others (a missing file is left alone)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if _ours(st) and st.st_mode & 0o077:
        path.chmod(FILE_MODE)


def _sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL; None for an in-memory database."""
    name = url.split(":///", 1)[1] if ":///" in url else ""
    return None if name in ("", ":memory:") or name.startswith("file::memory:") else Path(name.split("?", 1)[0])


def _prepare_sqlite_file(path: Path) -> None:
    """The directory 0700 when we create it, the database created 0600 (SQLite gives its -wal and -shm files the
    database's mode), and an existing database and its side files tightened to 0600."""
    if not path.parent.exists():
        private_dir(path.parent)
    with private_umask(), suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))  # an empty file is an empty DB
    _protect_sqlite_files(path)


def _protect_sqlite_files(path: Path) -> None:
    private_file(path)
    for suffix in SQLITE_SIDE_FILES:
        private_file(path.with_name(path.name + suffix))


def make_engine(settings: Settings) -> Engine:
    """Create the engine; SQLite gets WAL, foreign keys, a busy timeout and our own BEGIN.

    The data dir is made private (0700) for both databases: it holds the OAuth signing key and uploaded files."""
    url = settings.effective_database_url
    private_dir(settings.data_dir)
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if path is not None:
            _prepare_sqlite_file(path)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            # Reopening a connection (WAL + pragmas) per request cost ~3% of get_task under load
            # (docs/performance.md): keep one per worker thread, never recycled.
            pool_size=POOL_SIZE,
            pool_use_lifo=True,
            max_overflow=POOL_OVERFLOW,
            **_JSON,
        )
        synchronous = "FULL" if settings.durability == "full" else "NORMAL"
        _install_sqlite_hooks(engine, synchronous, path)
        return engine
    # No pool_pre_ping: it costs a round trip per request. A connection that died with the server fails the
    # action's first statement with OperationalError; SQLAlchemy then invalidates the whole pool and
    # ApiEndpoint.execute retries the action on a fresh connection, so clients never see it.
    return create_engine(url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW, **_JSON)


def _install_sqlite_hooks(engine: Engine, synchronous: str, path: Path | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        if path is not None:
            # At every new connection (rare: they are pooled): a -wal/-shm left 0644 by an older version, or a
            # database copied in by hand, becomes private as soon as we use it.
            _protect_sqlite_files(path)
        # Let us emit BEGIN ourselves (pysqlite's implicit BEGIN cannot do IMMEDIATE).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(_BUSY_TIMEOUT)
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA temp_store=MEMORY")
        # Read the database file through a memory map instead of a read() call per page the cache lacks: a large
        # answer over rows spread through a big file (search_tasks `project =` over 1,000,000 tasks) took 10-15 %
        # less (docs/performance.md). Address space, not memory: the pages are the OS's file cache.
        cur.execute(f"PRAGMA mmap_size={_MMAP_BYTES}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front, so two writers never deadlock on a lock upgrade. Sent straight to
        # the driver: the statement machinery (events, cursor wrapping) cost more than the BEGIN itself.
        options = conn.get_execution_options()
        dbapi = conn.connection.dbapi_connection
        if not options.get("ls_write"):
            if not options.get("ls_autocommit"):
                dbapi.execute(_BEGIN_READ)  # type: ignore[union-attr]
        elif options.get("ls_nowait"):
            # On the event loop: never sleep in SQLite's busy handler. Another process holding the write lock
            # means "run this request in a worker thread instead" (api/endpoint.py).
            dbapi.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
            try:
                dbapi.execute(_BEGIN_WRITE)  # type: ignore[union-attr]
            except sqlite3.OperationalError as exc:
                raise WouldBlock() from exc
            finally:
                dbapi.execute(_BUSY_TIMEOUT)  # type: ignore[union-attr]
        else:
            dbapi.execute(_BEGIN_WRITE)  # type: ignore[union-attr]


def _as_reader(conn: Connection, nowait: bool) -> None:
    """Mark a kept connection for a read without BEGIN (`ls_autocommit`), unless it is marked so already: a write on
    it set its own options in place."""
    options = conn.get_execution_options()
    if options.get("ls_write") or not options.get("ls_autocommit") or options.get("ls_nowait") != nowait:
        conn.execution_options(ls_write=False, ls_nowait=nowait, ls_autocommit=True)


def _end_read(session: Session, conn: Connection) -> None:
    """End what a read on a kept connection began: the ORM's transaction (and what it added, flushed), then one a
    Core statement began on the connection (`core`). A read that did neither sends nothing."""
    if session.in_transaction() or session.new:
        session.commit()
    if conn.in_transaction():
        conn.commit()


def _begin_loop_write(conn: Connection) -> None:
    """The event loop's PostgreSQL connections are in autocommit (Database.__init__): a write transaction's BEGIN is
    sent just before its first statement that writes or locks (`_begin_before`), so the reads before it (account,
    task) run on their own, as they would inside the transaction at READ COMMITTED, and an action whose only write
    is one statement needs no BEGIN and COMMIT at all. COMMIT or ROLLBACK follow as usual (psycopg sends them only
    when a transaction is open)."""
    if conn.get_execution_options().get("ls_write"):
        conn.connection.driver_connection.begin_pending = True  # type: ignore[union-attr]


def _end_loop_write(conn: Connection) -> None:
    driver = conn.connection.driver_connection
    if driver is not None:
        driver.begin_pending = False


_LOCKS = re.compile(r"\bFOR\s+(?:UPDATE|SHARE|NO\s+KEY\s+UPDATE|KEY\s+SHARE)\b", re.IGNORECASE)
_READS: dict[str, bool] = {}


def reads_only(sql: str) -> bool:
    """Whether a statement only reads: a SELECT that locks no rows (anything else begins the write transaction)."""
    known = _READS.get(sql)
    if known is None:
        if len(_READS) >= 2048:
            _READS.clear()
        known = _READS[sql] = sql.lstrip()[:6].upper() == "SELECT" and _LOCKS.search(sql) is None
    return known


def _begin_before(dbapi_conn: Any, begins: bool) -> None:
    """Send the pending BEGIN of a loop write (`_begin_loop_write`) before a statement that writes or locks."""
    if begins and dbapi_conn.driver_connection.begin_pending:
        dbapi_conn.driver_connection.begin_pending = False
        _fetch(dbapi_conn, "BEGIN", None, False, False, begins=False)


def _begin_before_cursor(conn: Connection, cursor: Any, statement: str, parameters: Any, context: Any,
                         executemany: bool) -> None:
    dbapi_conn = conn.connection.dbapi_connection
    if dbapi_conn is not None and dbapi_conn.driver_connection.begin_pending:
        _begin_before(dbapi_conn, not reads_only(statement))


_MMAP_BYTES = 1 << 30
_BEGIN_WRITE = "BEGIN IMMEDIATE"
_BEGIN_READ = "BEGIN DEFERRED"
_BUSY_TIMEOUT = "PRAGMA busy_timeout=30000"


class WouldBlock(Exception):
    """A transaction asked not to wait (`nowait`) would have had to wait for SQLite's write lock."""


class NotOnThisLoop(Exception):
    """The database's event-loop connections belong to another (still running) event loop: use a worker thread."""


T = TypeVar("T")


class Database:
    """Owns the engine; hands out transaction-scoped sessions."""

    def __init__(self, settings: Settings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or make_engine(settings)
        # SQLite has one writer at a time. Threads that find the write lock taken sleep in SQLite's busy handler
        # with growing back-offs (up to 100 ms), so 16 concurrent writers spent most of their time asleep
        # (post_comment p99 > 2 s). Queueing this process's writers on a Python lock hands the database over the
        # moment a writer commits; other processes still meet SQLite's own lock and busy timeout.
        self._writers = threading.Lock() if is_sqlite(self.engine) else None
        # The event loop's own connection (SQLite actions run there one at a time): kept checked out, so a
        # request skips the pool's checkout, reset and return (~30 us of the ~250 us of a get_task).
        self._kept: Connection | None = None
        self._kept_lock = threading.Lock()
        # The read actions' session on the kept connection, reused from one read to the next (`run_inline`).
        self._kept_reader: tuple[Connection, Session] | None = None
        # PostgreSQL: psycopg's asyncio connections, for actions run on the event loop (`run_on_loop`). The pool
        # fills on first use, bound to that loop.
        self._loop_engine: AsyncEngine | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_idle: list[Connection] = []  # checked out, idle between actions (`_run_on_kept`)
        self._loop_slots = asyncio.Semaphore(POOL_SIZE)
        if self.engine.dialect.name == "postgresql":
            # In autocommit from the start: a read sends no BEGIN and COMMIT, as on the threads' engine, but
            # without switching the connection's mode at every checkout and back at every return (four awaited
            # driver calls per action). A write sends its BEGIN itself (`_begin_loop_write`).
            self._loop_engine = create_async_engine(
                self.engine.url.set(drivername="postgresql+psycopg_async"), isolation_level="AUTOCOMMIT",
                connect_args={"async_creator_fn": LoopConnection.connect},  # its cheaper wait (pgwait.py)
                pool_size=POOL_SIZE, max_overflow=0, pool_use_lifo=True, **_JSON)
            loop_engine = self._loop_engine.sync_engine
            event.listen(loop_engine, "begin", _begin_loop_write)
            event.listen(loop_engine, "before_cursor_execute", _begin_before_cursor)
            event.listen(loop_engine, "commit", _end_loop_write)
            event.listen(loop_engine, "rollback", _end_loop_write)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def pool_size(self) -> int:
        """Connections a pool keeps open: the API runs at most this many actions at once in worker threads, and on
        PostgreSQL as many again on the event loop (its own pool, `run_on_loop`)."""
        return POOL_SIZE

    @property
    def runs_inline(self) -> bool:
        """Whether short actions run on the event loop instead of a worker thread (SQLite only).

        A SQLite read is a few microseconds of C; handing it to a worker thread and back cost ten times more
        than the work on 2 cores (docs/performance.md). PostgreSQL waits on the network, so it keeps its
        threads, and so do writes that fsync every commit (durability full).
        """
        return self._writers is not None

    @property
    def runs_on_loop(self) -> bool:
        """Whether short actions run on the event loop through psycopg's asyncio driver (PostgreSQL).

        The action's code stays synchronous: SQLAlchemy runs it in a greenlet and awaits each round trip on the
        loop. No worker thread takes the GIL back after every libpq call (docs/performance.md, round two).
        """
        return self._loop_engine is not None

    @property
    def engines(self) -> list[Engine]:
        """Every engine actions run on: the threads' and, on PostgreSQL, the event loop's (for event listeners)."""
        return [self.engine] + ([self._loop_engine.sync_engine] if self._loop_engine is not None else [])

    def _engine_for_loop(self) -> AsyncEngine:
        loop = asyncio.get_running_loop()
        engine = self._loop_engine
        assert engine is not None
        if self._loop is not loop:
            if self._loop is not None:
                if not self._loop.is_closed():
                    raise NotOnThisLoop()
                # The loop the pooled connections belonged to is gone (tests run one loop after another): they
                # cannot be closed from here; a fresh pool for this loop, the same engine (and its listeners).
                engine.sync_engine.dispose(close=False)
            self._loop = loop
            self._forget_idle()
            self._loop_slots = asyncio.Semaphore(POOL_SIZE)
        return engine

    async def run_on_loop(self, fn: Callable[[Session], T], write: bool) -> T:
        """`fn(session)` in one transaction (as `session()` gives), on the running loop; NotOnThisLoop when this
        database's loop connections belong to another loop that still runs.

        One greenlet for the whole action (checkout, transaction, return): each round trip inside it is awaited
        on the loop."""
        engine = self._engine_for_loop()
        # At most POOL_SIZE actions hold a connection: the kept ones (below) never go back to the pool, so the
        # pool is never asked for more than it has.
        async with self._loop_slots:
            return await greenlet_spawn(self._run_on_kept, engine.sync_engine, fn, write)

    def _run_on_kept(self, engine: Engine, fn: Callable[[Session], T], write: bool) -> T:
        """`fn(session)` on a connection kept checked out between actions (the pool's checkout, its reset on
        return and their awaited driver calls are skipped: a fifth of an empty read action's CPU); a read sends
        nothing but its own statements. A refusal keeps the connection (rolled back); a database error or a
        cancellation gives it back to the pool, and a lost connection every kept one with it (they are likely
        gone too: a restarted server)."""
        idle = self._loop_idle
        conn = idle.pop() if idle else engine.connect()
        try:
            if write:
                with self._transaction(conn, True, False) as session:
                    result = fn(session)
            else:
                _as_reader(conn, nowait=False)
                with Session(bind=conn, expire_on_commit=False, autoflush=True) as session:
                    result = fn(session)
                    _end_read(session, conn)
        except Exception as exc:
            if isinstance(exc, SQLAlchemyError) or conn.invalidated or not self._settle(conn):
                lost = conn.invalidated or isinstance(exc, OperationalError)
                with suppress(Exception):
                    conn.close()
                if lost:
                    self._close_idle()
            else:  # a refusal (ApiError and the like), all rolled back: the connection serves the next action
                idle.append(conn)
            raise
        except BaseException:  # cancelled halfway: the connection's state is unknown
            with suppress(Exception):
                conn.close()
            raise
        idle.append(conn)
        return result

    @staticmethod
    def _settle(conn: Connection) -> bool:
        """Roll back what a failed action left open on a kept connection; whether it is fit for the next one."""
        try:
            if conn.in_transaction():
                conn.rollback()
        except SQLAlchemyError:
            return False
        return True

    @property
    def loop_connections_idle(self) -> int:
        """The event loop's PostgreSQL connections kept between actions and serving none now (checked out of
        their pool all the same: /metrics counts them as not in use)."""
        return len(self._loop_idle)

    def _close_idle(self) -> None:
        """Give the kept loop connections back to the pool (in the loop's greenlet)."""
        idle, self._loop_idle = self._loop_idle, []
        for conn in idle:
            with suppress(Exception):
                conn.close()

    def _forget_idle(self) -> None:
        """Drop the kept loop connections of a loop that is gone: closed at the driver (no loop to await a
        goodbye on) and taken out of the pool's books, as the pool itself is replaced."""
        idle, self._loop_idle = self._loop_idle, []
        for conn in idle:
            with suppress(Exception):
                conn.connection.driver_connection.pgconn.finish()  # type: ignore[union-attr]
                conn.detach()

    async def dispose_loop(self) -> None:
        """Close the event loop's connections (call it on that loop, at shutdown)."""
        if self._loop_engine is not None and self._loop is asyncio.get_running_loop():
            self._loop = None
            await greenlet_spawn(self._close_idle)
            await self._loop_engine.dispose()

    @property
    def writes_inline(self) -> bool:
        return self._writers is not None and self.settings.durability != "full"

    @contextmanager
    def session(self, write: bool = True, nowait: bool = False) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any exception.

        `nowait` (SQLite, event loop): raise WouldBlock instead of waiting for the write lock.
        """
        if write and self._writers is not None:
            if not self._writers.acquire(blocking=not nowait):
                raise WouldBlock()
            try:
                with self._session(write, nowait) as session:
                    yield session
            finally:
                self._writers.release()
        else:
            with self._session(write, nowait) as session:
                yield session

    def run_inline(self, fn: Callable[[Session], T], write: bool) -> T:
        """`fn(session)` in one transaction as `session(write, nowait=True)` gives, for an action on the event loop
        (SQLite). WouldBlock when a write would have to wait for the write lock.

        A read runs on the kept connection with a Session reused from one read to the next: no BEGIN or COMMIT
        is sent for a SQLite read (`ls_autocommit`), and building, beginning, committing and closing a Session
        and its Connection transaction was a fifth of a get_task's time on the loop (docs/performance.md).
        The session is left as a new one is: no transaction, nothing in it.
        """
        if write or not self._kept_lock.acquire(blocking=False):
            with self.session(write=write, nowait=True) as session:
                return fn(session)
        try:
            conn, session = self._reader()
            try:
                result = fn(session)
                _end_read(session, conn)
            except BaseException as exc:
                broken = isinstance(exc, SQLAlchemyError)  # then the connection is not trusted for another one
                try:
                    session.rollback()
                    conn.rollback()
                except SQLAlchemyError:
                    broken = True
                if broken:
                    self._drop_kept()
                raise
            finally:
                if session.identity_map:
                    session.expunge_all()
            return result
        finally:
            self._kept_lock.release()

    def _reader(self) -> tuple[Connection, Session]:
        """The kept connection and its read session (hold `_kept_lock`): reused while the connection is."""
        kept = self._kept
        if kept is None or kept.invalidated or kept.closed:
            kept = self._kept = self.engine.connect()
        reader = self._kept_reader
        if reader is None or reader[0] is not kept:
            reader = self._kept_reader = (kept, Session(bind=kept, expire_on_commit=False, autoflush=True))
        _as_reader(kept, nowait=True)
        return reader

    def _drop_kept(self) -> None:
        """Close the kept connection (hold `_kept_lock`); the next action on the loop takes a fresh one."""
        kept, self._kept, self._kept_reader = self._kept, None, None
        if kept is not None:
            kept.close()

    @contextmanager
    def _session(self, write: bool, nowait: bool = False) -> Iterator[Session]:
        # `nowait` transactions run on an event loop; the kept connection serves them unless another loop
        # (tests run several) is using it right now.
        if nowait and self._kept_lock.acquire(blocking=False):
            kept = self._kept
            try:
                if kept is None or kept.invalidated or kept.closed:
                    kept = self._kept = self.engine.connect()
                with self._transaction(kept, write, nowait) as session:
                    yield session
            except (WouldBlock, SQLAlchemyError):
                # Rolled back already; after a refused BEGIN or a database error SQLAlchemy's Connection is not
                # trusted for another transaction: give it back and take a fresh one next time.
                self._drop_kept()
                raise
            finally:
                self._kept_lock.release()
            return
        with self.engine.connect() as conn, self._transaction(conn, write, nowait) as session:
            yield session

    @contextmanager
    def _transaction(self, conn: Connection, write: bool, nowait: bool) -> Iterator[Session]:
        # SQLite reads run without BEGIN and COMMIT too (`ls_autocommit`, see _on_begin): each statement reads
        # the last committed state, as on PostgreSQL below; two driver calls and SQLAlchemy's begin and commit
        # events less per read action.
        conn.execution_options(ls_write=write, ls_nowait=nowait, ls_autocommit=not write)  # changes `conn` in place
        if not write and self._writers is None:
            # PostgreSQL reads run in autocommit: no BEGIN and no COMMIT, two network round trips of a get_task's
            # five (docs/performance.md). Each statement still sees one consistent snapshot; a read action's few
            # statements are independent lookups, as a streamed list's chunks already are. The pool resets the
            # level when the connection is returned.
            conn.execution_options(isolation_level="AUTOCOMMIT")
        with Session(bind=conn, expire_on_commit=False, autoflush=True) as session, conn.begin():
            yield session
            session.flush()

    def dispose(self) -> None:
        with self._kept_lock:
            self._drop_kept()
        if self._loop is None or self._loop.is_closed():
            self._forget_idle()
        self.engine.dispose()


# SQLite: up to this many ids inline; more as one JSON parameter. Building and compiling an IN list of hundreds of
# placeholders cost more than the query (a 500-task list's tags: ~40 % of its time, docs/performance.md).
_INLINE_IDS = 32


def pg_array(values: Collection[int]) -> str:
    """A PostgreSQL array literal of integers, for a parameter the statement casts (`CAST(:p AS BIGINT[])`):
    one string for psycopg to send instead of a list it dumps element by element."""
    return "{" + ",".join(map(str, values)) + "}"


def ids_in(session: Session, column: Any, ids: Collection[int]) -> ColumnElement[bool]:
    """`column IN ids` that stays one statement with one parameter however many ids there are.

    PostgreSQL always gets `= ANY(array)`, the array as one literal (`pg_array`): an IN list of hundreds of
    placeholders cost more to render and for psycopg to parse than the query (get_tasks of 500 tasks: 66 -> ~140
    req/s). SQLite inlines up to 32.
    """
    values = sorted(set(ids))
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(cast(bindparam("ids", pg_array(values), type_=String, unique=True),  # type: ignore[no-any-return]
                                   ARRAY(BigInteger)))
    if len(values) <= _INLINE_IDS:
        return column.in_(values)  # type: ignore[no-any-return]
    each = func.json_each(bindparam("ids", orjson.dumps(values).decode(), unique=True)).table_valued("value")
    return column.in_(select(each.c.value))  # type: ignore[no-any-return]


class iso_text(FunctionElement[str]):
    """A timestamp column read as ISO text ("YYYY-MM-DD HH:MM:SS.ffffff") on both databases: SQLite stores it so;
    PostgreSQL formats it (to_char: whatever the server's DateStyle). For renderers of long lists over driver rows
    (render.tasks.plain_task_objects): formatting psycopg's datetime objects in Python cost a tenth of a
    50,000-task search (docs/performance.md)."""

    type = String()
    inherit_cache = True
    shape = "YYYY-MM-DD HH24:MI:SS.US"


class iso_date_text(iso_text):
    """A date column read as ISO text ("YYYY-MM-DD"), as iso_text."""

    inherit_cache = True
    shape = "YYYY-MM-DD"


@compiles(iso_text)
@compiles(iso_date_text)
def _iso_text_as_stored(element: iso_text, compiler: Any, **kw: Any) -> str:
    return compiler.process(element.clauses, **kw)  # type: ignore[no-any-return]


@compiles(iso_text, "postgresql")
@compiles(iso_date_text, "postgresql")
def _iso_text_postgresql(element: iso_text, compiler: Any, **kw: Any) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, '{element.shape}')"


# -- plain Core on the hot paths ---------------------------------------------------------------------------

def core(session: Session) -> Connection:
    """The connection of the session's transaction, for plain Core statements.

    A statement run here skips the ORM session's own bookkeeping (a session that never ran a statement costs
    nothing to finish); pending ORM changes are flushed first, so the statement sees them.
    """
    # Changed or deleted objects are in the identity map: an empty one (a read's) needs no look at them.
    if session.new or (session.identity_map and (session.dirty or session.deleted)):
        session.flush()
    bind = session.get_bind()
    return bind if isinstance(bind, Connection) else session.connection()


M = TypeVar("M", bound=DeclarativeBase)


def plain(model: type[M], values: dict[str, Any]) -> M:
    """A session-less, read-only object holding `values` in its instance dict.

    The declarative constructor's per-attribute events cost ~1 us each, and even the ORM's own bare instance
    (with its instance state) ~1 us an object, five objects a get_task. Without an instance state, SQLAlchemy's
    attribute descriptors still read a value that is in the dict (they look there first); anything that needs
    the state — setting an attribute, a relationship, adding the object to a session — raises. Values read this
    way are answers, not rows to change: an action that changes a row loads it through the session.
    """
    mapper = model.__mapper__
    if not mapper.configured:
        configure_mappers()  # the constructor would have done it
    obj: M = model.__new__(model)
    obj.__dict__.update(values)
    return obj


class Snapshot(Generic[M]):
    """One model's columns read with plain Core, each row turned into a session-less object (`plain`).

    Built in a fraction of an ORM load (docs/performance.md). A snapshot is read-only: it belongs to no session
    and changing it changes nothing; an action that changes a row loads it through the session instead.
    """

    def __init__(self, model: type[M]) -> None:
        attrs = list(model.__mapper__.column_attrs)
        self.model = model
        self.keys = [a.key for a in attrs]
        self.columns = [a.columns[0] for a in attrs]

    def build(self, row: Sequence[Any]) -> M:
        return plain(self.model, dict(zip(self.keys, row, strict=False)))


_PYFORMAT = re.compile(r"%\(([^)]+)\)s|%%")


def _numbered(sql: str) -> tuple[str, list[str]]:
    """SQL in psycopg's named form (`%(name)s`, `%%` for a literal %) as PostgreSQL's own numbered form ($1, $2,
    ...; a name used twice keeps its number), and the names in number order."""
    names: list[str] = []
    numbers: dict[str, int] = {}

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        if name not in numbers:
            names.append(name)
            numbers[name] = len(names)
        return f"${numbers[name]}"

    return _PYFORMAT.sub(number, sql), names


class _Plan:
    """A statement compiled for one dialect: its SQL, parameters (SQLite: in order; psycopg: by name) and type
    conversions."""

    def __init__(self, stmt: ClauseElement, dialect: Dialect, *, render_postcompile: bool = False,
                 cache_key: Any = None, standalone: bool = False) -> None:
        compiled: Any
        if cache_key is not None:  # compiled as SQLAlchemy's own cache does: later calls bring their values
            compiled = dialect.statement_compiler(dialect, stmt, cache_key=cache_key)
        else:
            compiled = stmt.compile(dialect=dialect, compile_kwargs={"render_postcompile": True}
                                    if render_postcompile else {})
        assert isinstance(compiled, SQLCompiler)
        self.compiled = compiled
        self.sql = compiled.string
        self.positional = compiled.positional
        self.bind: dict[str, Callable[[Any], Any]] = dict(compiled._bind_processors)  # type: ignore[arg-type]
        order = list(compiled.positiontup or ())
        if dialect.name == "postgresql" and dialect.is_async:
            # The event loop's connections run it through a raw cursor (pgwait.LoopConnection.raw_cursor): the SQL
            # numbered ($1, $2, ...) once here instead of psycopg converting the named form at every execution.
            self.sql, order = _numbered(self.sql)
            self.positional = True
        # Positional (SQLite; PostgreSQL on the loop): each parameter's name and its bind processor, in order.
        self.steps = [(name, self.bind.get(name)) for name in order]
        self.dialect = dialect
        self.begins = not standalone and not reads_only(self.sql)  # see _begin_loop_write
        # (position, conversion) of the columns that have one: a row's other values are taken as they are.
        # psycopg's conversions depend on the type the server reports: known after the first run.
        self.conversions: list[tuple[int, Callable[[Any], Any]]] | None = None
        if dialect.name == "sqlite":
            self._conversions_for([None] * len(compiled._result_columns))

    def _conversions_for(self, type_codes: Sequence[Any]) -> None:
        results = [column.type._cached_result_processor(self.dialect, code)
                   for column, code in zip(self.compiled._result_columns, type_codes, strict=False)]
        self.conversions = [(i, f) for i, f in enumerate(results) if f is not None]

    @property
    def expanding(self) -> bool:
        """Whether the SQL still has IN lists to expand (render_postcompile renders them for one call's values)."""
        return any(b.expanding for b in self.compiled.binds.values())

    def run(self, dbapi_conn: Any, params: Mapping[str, Any] | None, *, convert: bool = True,
            extracted: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        # Adds the values of binds built into the statement (`extracted`: those of an equal statement's cache key).
        values = self.compiled.construct_params(params, extracted_parameters=extracted)
        args: list[Any] | MutableMapping[str, Any]
        if self.positional:  # a processor gets None too, as SQLAlchemy does (JSON null)
            args = [values[name] if proc is None else proc(values[name]) for name, proc in self.steps]
        else:
            for name, proc in self.bind.items():
                if name in values:
                    values[name] = proc(values[name])
            args = values
        rows, types = _fetch(dbapi_conn, self.sql, args, self.conversions is None, begins=self.begins)
        if types is not None:
            self._conversions_for(types)
        conversions = self.conversions
        if not (convert and conversions):
            return rows
        out = []
        for row in rows:
            cells = list(row)
            for i, f in conversions:
                v = cells[i]
                if v is not None:
                    cells[i] = f(v)
            out.append(tuple(cells))
        return out


Fetched = tuple[list[tuple[Any, ...]], list[Any] | None]


def _type_codes(cursor: Any) -> list[Any]:
    return [d[1] for d in cursor.description or ()]


async def _fetch_async(driver: LoopConnection, sql: str, args: Any, types: bool, rows: bool) -> Fetched:
    cursor = driver.raw_cursor()
    await cursor.execute(sql, args)
    return (await cursor.fetchall() if rows else []), _type_codes(cursor) if types else None


def _fetch(dbapi_conn: Any, sql: str, args: Any, types: bool, rows: bool = True, *, begins: bool = True) -> Fetched:
    """Run one statement on the driver's own connection: sqlite3 and psycopg alike, or psycopg's asyncio
    connection (behind SQLAlchemy's adapter) from inside the action's greenlet (db.run_on_loop), awaited on the
    loop. With `types`, also the type code of each column (the cursor's description, built anew at each access:
    only when asked); `rows=False` for a statement that returns none. `begins`: the statement writes or locks (a
    loop write's pending BEGIN goes first)."""
    if isinstance(dbapi_conn, AdaptedConnection):
        _begin_before(dbapi_conn, begins)
        return await_(_fetch_async(dbapi_conn.driver_connection, sql, args, types, rows))
    cursor = dbapi_conn.execute(sql, args)
    return (cursor.fetchall() if rows else []), _type_codes(cursor) if types else None


def _run_plan(conn: Connection, plan: _Plan, params: Mapping[str, Any] | None, *, convert: bool = True,
              extracted: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
    """`plan` on the connection's driver; a driver error raised as SQLAlchemy raises it for its own statements
    (OperationalError, IntegrityError, ...: what the API retries), a lost connection invalidated first."""
    dbapi_conn = conn.connection.dbapi_connection
    try:
        return plan.run(dbapi_conn, params, convert=convert, extracted=extracted)
    except Exception as exc:
        dialect = conn.dialect
        base = dialect.loaded_dbapi.Error
        if not isinstance(exc, base):
            raise
        lost = dialect.is_disconnect(exc, dbapi_conn, None)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(plan.sql, None, exc, base, connection_invalidated=lost, dialect=dialect) from exc


class Prepared:
    """A Core statement run on the hot paths: straight on the driver, compiled once per engine.

    SQLAlchemy's per-execution work (cache lookup, execution context, parameter and result objects) cost
    several times more than the indexed SQLite query itself (docs/performance.md). Here the SQL, the parameter
    order and the type conversions SQLAlchemy would apply are computed once; `all()` returns plain tuples with
    the same values `conn.execute(stmt, params).all()` gives. On PostgreSQL too: SQLAlchemy's execution path and
    psycopg's column descriptions (built again at every access) cost more than the round trip's own work
    (docs/performance.md, round two). No expanding IN parameters.
    """

    def __init__(self, stmt: ClauseElement, *, standalone: bool = False) -> None:
        """`standalone`: a write that is the whole of its action's writes, atomic on its own (one statement); on
        the event loop it runs without BEGIN and COMMIT when nothing before it wrote (db._begin_loop_write)."""
        assert isinstance(stmt, Executable)
        self.stmt = stmt
        self.standalone = standalone
        self._plans: weakref.WeakKeyDictionary[Dialect, _Plan] = weakref.WeakKeyDictionary()
        self._last_dialect: Dialect | None = None
        self._last_plan: _Plan | None = None

    def _plan(self, dialect: Dialect) -> _Plan:
        if dialect is self._last_dialect:  # one engine per process: skip the weak dictionary's lookup
            plan = self._last_plan
            assert plan is not None
            return plan
        plan = self._plans.get(dialect)
        if plan is None:
            plan = self._plans[dialect] = _Plan(self.stmt, dialect, standalone=self.standalone)
        self._last_dialect, self._last_plan = dialect, plan
        return plan

    def all(self, session: Session, params: Mapping[str, Any] | None = None) -> Sequence[tuple[Any, ...]]:
        conn = core(session)
        return _run_plan(conn, self._plan(conn.dialect), params)

    def driver_rows(self, session: Session, params: Mapping[str, Any] | None = None) -> Sequence[tuple[Any, ...]]:
        """The rows as the driver gives them, without SQLAlchemy's conversions (as `driver_rows` below)."""
        conn = core(session)
        return _run_plan(conn, self._plan(conn.dialect), params, convert=False)

    def first(self, session: Session, params: Mapping[str, Any] | None = None) -> tuple[Any, ...] | None:
        rows = self.all(session, params)
        return rows[0] if rows else None


def prepared_insert(model: type[DeclarativeBase], keys: Collection[str]) -> Prepared:
    """INSERT of exactly the columns `keys` (pass every one, by name), RETURNING the new row's id."""
    table: Any = model.__table__
    return Prepared(insert(table).values({k: bindparam(k) for k in keys}).returning(table.c.id))


def driver_rows(session: Session, stmt: Executable) -> Sequence[tuple[Any, ...]]:
    """The rows of a Core select as the driver gives them, for renderers of long lists that do their own (cheaper)
    conversions: on SQLite the values as stored (timestamps and dates as ISO text, booleans 0/1, numerics as
    numbers), on PostgreSQL psycopg's values (datetime, date and Decimal objects); no SQLAlchemy result processing
    and no Row objects (building them was two thirds of a 15,000-task search's row time on PostgreSQL).

    Compiled once per statement shape (SQLAlchemy's cache key, as its own compiled cache does), with this call's
    values taken from the key; a statement with IN lists is compiled per call, the lists rendered as parameters.
    """
    conn = core(session)
    dialect = conn.dialect
    assert isinstance(stmt, ClauseElement)
    key = stmt._generate_cache_key()
    slot = None if key is None else (dialect, key.key)
    plan = None if slot is None else _DRIVER_PLANS.get(slot)
    if plan is None:
        plan = _Plan(stmt, dialect, cache_key=key)
        if plan.expanding:
            plan, slot = _Plan(stmt, dialect, render_postcompile=True), None
        elif slot is not None:
            if len(_DRIVER_PLANS) >= _DRIVER_PLANS_MAX:
                _DRIVER_PLANS.clear()
            _DRIVER_PLANS[slot] = plan
    extracted = key.bindparams if key is not None and slot is not None else None
    return _run_plan(conn, plan, None, convert=False, extracted=extracted)


_DRIVER_PLANS: dict[tuple[Dialect, Any], _Plan] = {}
_DRIVER_PLANS_MAX = 512
