"""Short SQLite actions run on the event loop (api/endpoint.py): they never wait there for a lock."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import Any

import httpx
import pytest

from localsection.app import create_app
from tests.factories import make_project, make_task
from tests.helpers import Api, call_async, reads_beside_a_write


def _database_file(api: Api) -> str:
    return api.state.settings.effective_database_url.split(":///", 1)[1]


def test_a_write_waiting_for_the_lock_holds_up_no_read_and_completes_when_it_is_free(api: Api) -> None:
    if api.state.db.dialect != "sqlite":
        pytest.skip("SQLite only (PostgreSQL: tests/test_loop_execution.py)")
    task = make_task(api, make_project(api))
    # Another process (here: another connection) holds SQLite's write lock for 1.2 s: longer than an event-loop
    # action waits (0.5 s) before it moves to a worker thread.
    holder = sqlite3.connect(_database_file(api), isolation_level=None)
    app = create_app(state=api.state)

    async def scenario() -> tuple[dict[str, Any], list[float], float]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            holder.execute("BEGIN IMMEDIATE")
            started = time.perf_counter()
            write, reads = await reads_beside_a_write(client, api, task)
            assert not write.done()  # still waiting for the lock, 0.5 s in
            await asyncio.sleep(0.7)
            holder.execute("COMMIT")
            answer = await write
            return answer, reads, time.perf_counter() - started

    try:
        answer, reads, took = asyncio.run(scenario())
    finally:
        holder.close()
    assert answer["status"] == "ok", answer
    assert max(reads) < 0.25  # reads were answered while the write waited (the loop was never blocked)
    assert took >= 1.2
    comments = api.ok("get_comments", id_task=str(task))
    assert [c["text"] for c in comments] == ["queued"]  # written once, after the lock was free


def test_a_write_queued_behind_a_writer_thread_of_this_process_runs_once_it_is_done(api: Api) -> None:
    if api.state.db.dialect != "sqlite":
        pytest.skip("SQLite only")
    task = make_task(api, make_project(api))
    app = create_app(state=api.state)

    async def scenario() -> dict[str, Any]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            with api.state.db.session(write=True):  # this process's writer lock, as a worker thread holds it
                write = asyncio.create_task(call_async(client, api, "add_costs", id_task=str(task), time="0:30",
                                                  email_user_from=api.owner_email))
                await asyncio.sleep(0.2)
                assert not write.done()
            return await write

    answer = asyncio.run(scenario())
    assert answer["status"] == "ok", answer
    assert api.ok("get_costs_total", id_task=str(task))["total"]["time"] == "0:30"


def test_reads_on_the_event_loop_see_every_committed_change_and_a_refused_read_leaves_nothing_behind(
        api: Api) -> None:
    """Reads on the loop share one session (db.run_inline): none may answer from what an earlier one loaded."""
    if api.state.db.dialect != "sqlite":
        pytest.skip("SQLite only")
    task = make_task(api, make_project(api))
    other = sqlite3.connect(_database_file(api), isolation_level=None)  # another process writing
    app = create_app(state=api.state)

    def names(answer: dict[str, Any]) -> set[str]:
        assert answer["status"] == "ok", answer
        return {u["name"] for u in answer["data"]}

    async def scenario() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            before = names(await call_async(client, api, "get_users"))  # loads the users as ORM objects
            assert "Renamed Elsewhere" not in before
            other.execute("UPDATE users SET first_name = 'Renamed', last_name = 'Elsewhere' WHERE email = ?",
                          (api.owner_email,))
            assert "Renamed Elsewhere" in names(await call_async(client, api, "get_users"))
            refused = await call_async(client, api, "get_task", id_task="999999")
            assert refused["status"] == "error"
            other.execute("UPDATE tasks SET name = 'Also renamed' WHERE id = ?", (task,))
            answer = await call_async(client, api, "get_task", id_task=str(task))
            assert answer["data"]["name"] == "Also renamed"
            # A write on the same loop between reads, then a read again: both see the database as it is.
            assert (await call_async(client, api, "update_task", id_task=str(task), title="Written here"))[
                "status"] == "ok"
            assert (await call_async(client, api, "get_task", id_task=str(task)))["data"]["name"] == "Written here"

    try:
        asyncio.run(scenario())
    finally:
        other.close()
