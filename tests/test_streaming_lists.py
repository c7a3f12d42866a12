"""Long get_all_tasks / get_tasks lists are streamed in chunks with exactly the bytes of the one-piece answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest
from sqlalchemy import insert, update

from localsection import clock
from localsection.domain import tasks as task_actions
from localsection.models import Comment, ProjectMember, Tag, TagGroup, Task, TaskSubscriber, TaskTag
from tests.factories import make_project
from tests.helpers import ADMIN_PATH, Api

EVERY_EXTRA = "text,html,files,comments,relations,subtasks,subscribers,custom_fields"
TOPS = 240


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> Callable[[bool], None]:
    """streaming(True): lists above 50 tasks stream, 7 tasks a chunk; streaming(False): never stream."""

    def streaming(on: bool) -> None:
        monkeypatch.setattr(task_actions, "STREAM_ABOVE", 50 if on else 10**9)
        monkeypatch.setattr(task_actions, "STREAM_CHUNK", 7)

    return streaming


def seed(api: Api, pid: int, n: int = TOPS, *, hidden_every: int = 0) -> list[int]:
    """n top tasks (every third done, some hidden), each with a subtask; comments, tags and subscribers on some."""
    now = clock.now()
    with api.state.db.session() as s:
        group = TagGroup(account_id=api.account_id, applies_to="task", title=f"g{pid}", type="label",
                         access="public")
        s.add(group)
        s.flush()
        tag = Tag(account_id=api.account_id, group_id=group.id, title="t")
        s.add(tag)
        s.flush()
        common = {"account_id": api.account_id, "project_id": pid, "user_from_id": api.owner_id,
                  "date_added": now, "todo": [], "mentions": [], "text": "x"}
        s.execute(insert(Task), [{**common, "name": f"top {i}", "name_folded": f"top {i}",
                                  "status": "done" if i % 3 == 0 else "active",
                                  "date_closed": now if i % 3 == 0 else None,
                                  "hidden": bool(hidden_every) and i % hidden_every == 0} for i in range(n)])
        ids = list(s.scalars(Task.__table__.select().with_only_columns(Task.id)
                             .where(Task.project_id == pid, Task.parent_id.is_(None)).order_by(Task.id)))
        s.execute(insert(Task), [{**common, "name": "sub", "name_folded": "sub", "parent_id": i, "top_id": i,
                                  "depth": 1, "status": "active"} for i in ids])
        s.execute(insert(Comment), [{"account_id": api.account_id, "task_id": i, "text": "c", "todo": [],
                                     "mentions": [], "user_from_id": api.owner_id, "date_added": now}
                                    for i in ids[::4]])
        s.execute(insert(TaskTag), [{"task_id": i, "tag_id": tag.id} for i in ids[::5]])
        s.execute(insert(TaskSubscriber), [{"task_id": i, "user_id": api.owner_id} for i in ids[::2]])
    return ids


def raw(api: Api, action: str, **params: Any) -> tuple[bytes, dict[str, str]]:
    """The exact body bytes and headers of an admin-key call."""
    resp = api.client.post(f"{ADMIN_PATH}?action={action}", json=params or None,
                           headers={"Host": api.host, "Authorization": api.admin_header(action)})
    assert resp.status_code == 200
    return resp.content, dict(resp.headers)


def both_ways(api: Api, streaming: Callable[[bool], None], action: str, **params: Any) -> tuple[bytes, bytes]:
    """(streamed body, one-piece body) of the same call."""
    streaming(True)
    streamed, headers = raw(api, action, **params)
    assert "content-length" not in headers
    streaming(False)
    whole, headers = raw(api, action, **params)
    assert "content-length" in headers
    return streamed, whole


def asgi_call(api: Api, action: str, on_chunk: Callable[[int], Awaitable[None]] | None = None,
              **params: Any) -> tuple[dict[bytes, bytes], list[bytes]]:
    """Call the app straight through ASGI, keeping each body message apart (the test client joins them)."""
    query = f"action={action}&" + "&".join(f"{k}={v}" for k, v in params.items())
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": ADMIN_PATH, "raw_path": ADMIN_PATH.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", api.host.encode()), (b"authorization", api.admin_header(action).encode())],
             "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    headers: dict[bytes, bytes] = {}
    chunks: list[bytes] = []
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if requested:  # the client stays connected: Starlette's disconnect listener waits here until cancelled
            await asyncio.Event().wait()
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers.update(message["headers"])
        elif message["type"] == "http.response.body" and message.get("body"):
            chunks.append(message["body"])
            if on_chunk is not None:
                await on_chunk(len(chunks))

    asyncio.run(api.client.app(scope, receive, send))  # type: ignore[arg-type]
    return headers, chunks


def test_a_long_get_all_tasks_with_every_extra_streams_the_same_bytes_as_the_whole_answer(
        api: Api, small_chunks: Callable[[bool], None]) -> None:
    seed(api, make_project(api))
    streamed, whole = both_ways(api, small_chunks, "get_all_tasks", extra=EVERY_EXTRA)
    assert streamed == whole
    data = orjson.loads(streamed)["data"]
    assert len(data) == TOPS and data[0]["child"][0]["name"] == "sub" and "comments" in data[0]


def test_a_long_get_tasks_with_filter_active_streams_the_same_bytes_as_the_whole_answer(
        api: Api, small_chunks: Callable[[bool], None]) -> None:
    pid = make_project(api)
    seed(api, pid)
    seed(api, make_project(api, "Other"), 60)
    streamed, whole = both_ways(api, small_chunks, "get_tasks", id_project=pid, filter="active",
                                extra="text,subtasks")
    assert streamed == whole
    data = orjson.loads(streamed)["data"]
    assert len(data) == TOPS - TOPS // 3 and {t["status"] for t in data} == {"active"}


def test_a_streamed_answer_arrives_in_several_chunks_with_the_api_headers(
        api: Api, small_chunks: Callable[[bool], None]) -> None:
    seed(api, make_project(api))
    small_chunks(True)
    headers, chunks = asgi_call(api, "get_all_tasks")
    assert b"content-length" not in headers
    assert headers[b"content-type"] == b"application/json; charset=utf-8"
    assert headers[b"cache-control"] == b"no-store, no-cache, must-revalidate"
    assert len(chunks) > TOPS // 7
    assert chunks[0] == b'{"status":"ok","data":[' and chunks[-1] == b"]}"
    assert len(orjson.loads(b"".join(chunks))["data"]) == TOPS


def test_the_record_cap_still_answers_as_a_normal_envelope_without_status_code_when_the_list_would_stream(
        api: Api, small_chunks: Callable[[bool], None], monkeypatch: pytest.MonkeyPatch) -> None:
    pid = make_project(api)
    seed(api, pid)
    small_chunks(True)
    for cap in (40, 100, TOPS - 1):
        monkeypatch.setattr(api.state, "settings", api.state.settings.with_(record_cap=cap))
        body, headers = raw(api, "get_tasks", id_project=pid)
        assert orjson.loads(body) == {"status": "error", "message": f"Too many tasks ({cap} max)"}
        assert "content-length" in headers
    monkeypatch.setattr(api.state, "settings", api.state.settings.with_(record_cap=TOPS))
    body, headers = raw(api, "get_all_tasks")
    assert "content-length" not in headers and len(orjson.loads(body)["data"]) == TOPS


def test_a_streamed_list_keeps_hidden_tasks_from_a_member_who_may_not_see_them(
        api: Api, small_chunks: Callable[[bool], None]) -> None:
    pid = make_project(api)
    ids = seed(api, pid, hidden_every=10)
    user = api.add_user("member@example.com")
    with api.state.db.session() as s:
        s.add(ProjectMember(project_id=pid, user_id=int(user["id"])))
    token = api.token("member@example.com")
    small_chunks(True)
    streamed = api.user_call(token, "get_all_tasks", extra="subtasks")
    small_chunks(False)
    assert streamed == api.user_call(token, "get_all_tasks", extra="subtasks")
    assert [t["id"] for t in streamed["data"]] == [str(i) for k, i in enumerate(ids) if k % 10]


def test_a_task_that_stops_matching_while_the_list_streams_is_left_out(
        api: Api, small_chunks: Callable[[bool], None]) -> None:
    pid = make_project(api)
    ids = seed(api, pid)
    open_ids = [i for k, i in enumerate(ids) if k % 3]
    last = open_ids[-1]
    small_chunks(True)

    async def close_last_task(n: int) -> None:
        if n == 2:  # the list of ids is fixed by now; the last chunk is read later
            with api.state.db.session() as s:
                s.execute(update(Task).where(Task.id == last).values(status="done"))

    _, chunks = asgi_call(api, "get_tasks", close_last_task, id_project=pid, filter="active")
    data = orjson.loads(b"".join(chunks))["data"]
    assert [t["id"] for t in data] == [str(i) for i in open_ids[:-1]]
