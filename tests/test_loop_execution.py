"""Short PostgreSQL actions run on the event loop through psycopg's asyncio driver (db.run_on_loop): no worker
thread, and a statement that waits on a lock holds up nothing else."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, event, text

from localsection import events
from localsection.api import endpoint
from localsection.app import create_app
from localsection.db import Database, reads_only
from localsection.observe.metrics import DatabaseCollector
from localsection.state import AppState
from tests.factories import make_project, make_task
from tests.helpers import Api, call_async, reads_beside_a_write


def _postgres_only(api: Api) -> None:
    if api.state.db.dialect != "postgresql":
        pytest.skip("PostgreSQL only: SQLite's short actions run on the loop without a driver round trip")


@pytest.fixture
def served(api: Api) -> Iterator[AppState]:
    """The test's own server state on the api's database: its loop connections are free for the test's loops
    (the api helper's requests bind the fixture's own Database to the helper's loop)."""
    state = AppState(api.state.settings, Database(api.state.settings))
    try:
        yield state
    finally:
        state.db.dispose()


def _client(state: AppState) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(state=state)), base_url="http://test")


def test_short_actions_on_postgresql_use_no_worker_thread(api: Api, served: AppState,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    _postgres_only(api)
    task = make_task(api, make_project(api))
    handed_off: list[str] = []
    original = endpoint.run_in_threadpool

    async def spy(func: Any, *args: Any, **kwargs: Any) -> Any:
        handed_off.append(getattr(func, "__name__", repr(func)))
        return await original(func, *args, **kwargs)

    monkeypatch.setattr(endpoint, "run_in_threadpool", spy)

    async def scenario() -> list[dict[str, Any]]:
        async with _client(served) as client:
            return [await call_async(client, api, "get_task", id_task=str(task)),
                    await call_async(client, api, "post_comment", id_task=str(task), text="on the loop"),
                    await call_async(client, api, "get_comments", id_task=str(task)),
                    await call_async(client, api, "search_tasks", filter=f"id={task}")]  # threaded: grows with data

    answers = asyncio.run(scenario())
    assert [a["status"] for a in answers] == ["ok"] * 4, answers
    assert [c["text"] for c in answers[2]["data"]] == ["on the loop"]
    assert handed_off == ["execute"]  # search_tasks only


def test_a_write_waiting_for_a_lock_holds_up_no_read_and_completes_when_it_is_free(api: Api, served: AppState) -> None:
    _postgres_only(api)
    task = make_task(api, make_project(api))
    other = create_engine(api.state.db.engine.url)  # another process's connection

    async def scenario() -> tuple[dict[str, Any], list[float], float]:
        async with _client(served) as client:
            await call_async(client, api, "get_task", id_task=str(task))  # warm: the loop's pool is open
            with other.connect() as holder:
                holder.execute(text("LOCK TABLE comments IN EXCLUSIVE MODE"))  # an INSERT waits; reads do not
                started = time.perf_counter()
                write, reads = await reads_beside_a_write(client, api, task)
                assert not write.done()  # still waiting for the lock
                holder.rollback()
            answer = await write
            return answer, reads, time.perf_counter() - started

    try:
        answer, reads, took = asyncio.run(scenario())
    finally:
        other.dispose()
    assert answer["status"] == "ok", answer
    assert max(reads) < 0.25  # answered while the write waited: the loop was never blocked
    assert took >= 0.5
    assert [c["text"] for c in api.ok("get_comments", id_task=str(task))] == ["queued"]


def test_a_second_event_loop_gets_worker_threads_and_a_later_one_the_loop_again(api: Api, served: AppState) -> None:
    """The loop's connections belong to the loop that opened them: while it runs, another loop's actions go to
    worker threads; once it is closed, the next loop opens its own."""
    _postgres_only(api)
    task = make_task(api, make_project(api))
    first = asyncio.new_event_loop()
    running = threading.Thread(target=first.run_forever, daemon=True)
    running.start()
    try:
        async def one() -> dict[str, Any]:
            async with _client(served) as client:
                return await call_async(client, api, "get_task", id_task=str(task))

        assert asyncio.run_coroutine_threadsafe(one(), first).result(30)["status"] == "ok"
        assert asyncio.run(one())["status"] == "ok"  # another loop while the first runs: worker threads
    finally:
        first.call_soon_threadsafe(first.stop)
        running.join(10)
        first.close()
    assert asyncio.run(one())["status"] == "ok"  # the first loop is gone: this one takes the loop path
    assert served.db._loop is not first


def test_the_loop_pool_recovers_when_postgresql_drops_its_connections(api: Api, served: AppState) -> None:
    """A connection the server closed (restart, idle timeout, pg_terminate_backend) fails the action's first
    statement; the pool drops it and the action is tried again on a fresh one: the client sees no error."""
    _postgres_only(api)
    task = make_task(api, make_project(api))
    other = create_engine(api.state.db.engine.url)

    backends = text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")

    async def scenario() -> list[str]:
        async with _client(served) as client:
            # Autocommit: pg_stat_activity is read once per transaction.
            with other.connect().execution_options(isolation_level="AUTOCOMMIT") as admin:
                before = set(admin.execute(backends).scalars())
                warm = await asyncio.gather(*(call_async(client, api, "get_task", id_task=str(task))
                                              for _ in range(4)))
                assert [a["status"] for a in warm] == ["ok"] * 4
                # The connections the served app's loop opened (other tests' connections are left alone).
                opened = set(admin.execute(backends).scalars()) - before
                assert opened
                admin.execute(text("SELECT pg_terminate_backend(pid) FROM unnest(CAST(:pids AS int[])) AS pid"),
                              {"pids": sorted(opened)})
            answers = [await call_async(client, api, "get_task", id_task=str(task)) for _ in range(3)]
            answers.append(await call_async(client, api, "post_comment", id_task=str(task), text="after"))
            return [a["status"] for a in answers]

    try:
        assert asyncio.run(scenario()) == ["ok"] * 4
    finally:
        other.dispose()
    assert [c["text"] for c in api.ok("get_comments", id_task=str(task))] == ["after"]


def test_a_write_on_the_loop_that_fails_halfway_leaves_nothing_written(api: Api, served: AppState,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The loop's connections are in autocommit; a write sends its own BEGIN before its first write, so a failure
    after it (here: the comment is inserted the usual way, then recording the event fails) rolls everything back."""
    _postgres_only(api)
    task = make_task(api, make_project(api))

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the event could not be recorded")

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with _client(served) as client:
            with monkeypatch.context() as patched:
                patched.setattr(events, "insert_alone", lambda *args, **kwargs: None)  # the usual way: two writes
                patched.setattr(events, "record", broken)
                failed = await call_async(client, api, "post_comment", id_task=str(task), text="half written")
            return failed, await call_async(client, api, "post_comment", id_task=str(task), text="whole")

    failed, whole = asyncio.run(scenario())
    assert failed == {"status": "error", "message": "Internal server error"}
    assert whole["status"] == "ok", whole
    assert [c["text"] for c in api.ok("get_comments", id_task=str(task))] == ["whole"]


def test_actions_on_the_loop_keep_their_connections_between_actions(api: Api, served: AppState) -> None:
    """No pool checkout, reset and return per action (db.Database._run_on_kept): after the first actions open
    them, the loop's connections stay with it; 16 concurrent actions never use more than the pool holds."""
    _postgres_only(api)
    task = make_task(api, make_project(api))
    checkouts: list[int] = []

    def counted(*args: Any) -> None:
        checkouts.append(1)

    async def scenario() -> list[dict[str, Any]]:
        async with _client(served) as client:
            await call_async(client, api, "get_task", id_task=str(task))  # the loop's first connection
            pool = served.db.engines[1].pool
            event.listen(pool, "checkout", counted)
            try:
                for _ in range(5):
                    assert (await call_async(client, api, "get_task", id_task=str(task)))["status"] == "ok"
                    refused = await call_async(client, api, "get_task", id_task="999999")
                    assert refused["status"] == "error"  # a refusal gives no connection back either
                assert checkouts == []  # ten sequential actions, one kept connection
                answers = await asyncio.gather(*(call_async(client, api, "post_comment", id_task=str(task),
                                                            text=f"c{i}") for i in range(16)))
                assert pool.checkedout() <= served.db.pool_size
                return answers
            finally:
                event.remove(pool, "checkout", counted)

    answers = asyncio.run(scenario())
    assert [a["status"] for a in answers] == ["ok"] * 16
    assert len(checkouts) <= served.db.pool_size
    # Kept but idle, they are not "in use" for /metrics.
    assert served.db.loop_connections_idle >= 1
    gauges = {m.name: m.samples[0].value for m in DatabaseCollector(served.db).collect()
              if m.name.startswith("localsection_db_pool")}
    assert gauges["localsection_db_pool_checked_out"] == 0
    assert len(api.ok("get_comments", id_task=str(task))) == 16


def test_only_plain_selects_run_before_a_loop_writes_begin() -> None:
    """A loop write sends BEGIN before its first statement that writes or locks rows (db._begin_loop_write): a
    SELECT ... FOR UPDATE run before it would lock nothing past its own statement."""
    assert reads_only("SELECT tasks.id FROM tasks WHERE tasks.id = $1")
    assert reads_only("  select 1")
    for sql in ("SELECT comments.id FROM comments WHERE comments.id = $1 FOR UPDATE OF comments",
                "SELECT id FROM webhook_outbox FOR UPDATE SKIP LOCKED", "SELECT id FROM t FOR SHARE",
                "SELECT id FROM t for no key update", "SELECT id FROM t FOR KEY SHARE",
                "INSERT INTO comments (text) VALUES ($1)", "UPDATE tasks SET name = $1", "DELETE FROM tags",
                "WITH obj AS (INSERT INTO comments (text) SELECT $1 RETURNING id) SELECT id FROM obj"):
        assert not reads_only(sql), sql
