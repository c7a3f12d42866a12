"""The event loop's PostgreSQL connection (pgwait.LoopConnection): the socket stays watched between waits, yet an
idle connection never keeps the loop busy, a cancelled wait cancels its query, and a closed connection leaves no
watch behind."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time

import psycopg
import pytest
from sqlalchemy import Date, Integer, String, bindparam, cast, literal_column, select
from sqlalchemy.engine import make_url

from localsection.db import Database, Prepared, _numbered
from localsection.pgwait import LoopConnection
from tests.helpers import Api


def _conninfo(api: Api) -> str:
    if api.state.db.dialect != "postgresql":
        pytest.skip("PostgreSQL only")
    url = make_url(api.state.settings.effective_database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _watched(conn: LoopConnection) -> bool:
    return conn.pgconn.socket in asyncio.get_running_loop()._selector.get_map()  # type: ignore[attr-defined]


def test_queries_on_several_connections_at_once_get_their_own_answers(api: Api) -> None:
    info = _conninfo(api)

    async def scenario() -> list[list[int]]:
        conns = [await LoopConnection.connect(info, autocommit=True) for _ in range(4)]
        try:
            async def run(conn: LoopConnection, k: int) -> list[int]:
                out = []
                for i in range(20):
                    cur = await conn.execute("SELECT %s::int * 10 + %s::int, pg_sleep(0.001)", (k, i))
                    row = await cur.fetchone()
                    assert row is not None
                    out.append(row[0])
                return out

            return await asyncio.gather(*(run(c, k) for k, c in enumerate(conns)))
        finally:
            for c in conns:
                await c.close()

    assert asyncio.run(scenario()) == [[k * 10 + i for i in range(20)] for k in range(4)]


def test_a_parameter_larger_than_the_socket_buffer_is_sent_whole(api: Api) -> None:
    """Sending waits for the socket to take more (psycopg's own wait does that part)."""
    info = _conninfo(api)

    async def scenario() -> tuple[int, str]:
        conn = await LoopConnection.connect(info, autocommit=True)
        try:
            big = "x" * (24 * 1024 * 1024)
            cur = await conn.execute("SELECT length(%s), md5(%s)", (big, big))
            row = await cur.fetchone()
            assert row is not None
            return row[0], row[1]
        finally:
            await conn.close()

    length, digest = asyncio.run(scenario())
    assert length == 24 * 1024 * 1024
    assert digest == hashlib.md5(b"x" * (24 * 1024 * 1024)).hexdigest()


def test_an_idle_connection_the_server_drops_does_not_keep_the_loop_busy(api: Api) -> None:
    info = _conninfo(api)

    async def scenario() -> tuple[float, bool]:
        conn = await LoopConnection.connect(info, autocommit=True)
        other = await psycopg.AsyncConnection.connect(info, autocommit=True)
        try:
            await conn.execute("SELECT 1")
            assert _watched(conn)  # still watched after the answer: no syscalls for the next wait
            await other.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
            await asyncio.sleep(0.1)  # the closed socket is readable from now on
            cpu = time.process_time()
            await asyncio.sleep(0.5)
            busy = time.process_time() - cpu
            failed = False
            try:
                await conn.execute("SELECT 1")
            except psycopg.OperationalError:
                failed = True
            return busy, failed
        finally:
            await conn.close()
            await other.close()

    busy, failed = asyncio.run(scenario())
    assert busy < 0.1  # a watched, always-readable socket would spin the loop for the whole 0.5 s
    assert failed  # and the next query says the connection is gone


def test_a_cancelled_wait_cancels_the_query_and_the_connection_stays_usable(api: Api) -> None:
    info = _conninfo(api)

    async def scenario() -> tuple[float, int]:
        conn = await LoopConnection.connect(info, autocommit=True)
        try:
            slow = asyncio.create_task(conn.execute("SELECT pg_sleep(30)"))
            await asyncio.sleep(0.2)
            started = time.perf_counter()
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow
            took = time.perf_counter() - started
            cur = await conn.execute("SELECT 42")
            row = await cur.fetchone()
            assert row is not None
            return took, row[0]
        finally:
            await conn.close()

    took, answer = asyncio.run(scenario())
    assert took < 5  # the server cancelled the 30 s query
    assert answer == 42


def test_closing_a_connection_stops_watching_its_socket(api: Api) -> None:
    info = _conninfo(api)

    async def scenario() -> tuple[bool, bool]:
        conn = await LoopConnection.connect(info, autocommit=True)
        await conn.execute("SELECT 1")
        before = _watched(conn)
        fileno = conn.pgconn.socket
        await conn.close()
        return before, fileno in asyncio.get_running_loop()._selector.get_map()  # type: ignore[attr-defined]

    assert asyncio.run(scenario()) == (True, False)


def test_a_prepared_statement_gives_the_same_rows_on_the_loop_as_in_a_worker_thread(api: Api) -> None:
    """On the loop, db.Prepared runs its SQL numbered ($1, ...) through the connection's raw cursor: a name used
    twice, a literal %, and the type conversions come out as on the threads' engine."""
    _conninfo(api)
    stmt = Prepared(select(literal_column("'10%'").label("pct"), bindparam("n", type_=Integer),
                           bindparam("n", type_=Integer) + 1,
                           cast(bindparam("day", type_=String), Date)))
    params = {"n": 41, "day": "2026-12-01"}
    assert _numbered("SELECT %(a)s, %(b)s, %(a)s LIKE '1%%'") == ("SELECT $1, $2, $1 LIKE '1%'", ["a", "b"])
    database = Database(api.state.settings)
    try:
        with database.session(write=False) as session:
            in_thread = list(stmt.all(session, params))
        on_loop = asyncio.run(database.run_on_loop(lambda session: list(stmt.all(session, params)), write=False))
    finally:
        database.dispose()
    assert in_thread == on_loop == [("10%", 41, 42, dt.date(2026, 12, 1))]
