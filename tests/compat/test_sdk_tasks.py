"""The official Python SDK (unmodified) and raw md5-signed Postman-style requests drive tasks, comments,
subscriptions and search against a real server."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
import pytest
from worksection.exceptions.response_exception import ResponseException

from tests.compat.conftest import Server


def md5_get(server: Server, query: str) -> dict[str, Any]:
    """A GET built like the Postman pre-request script: raw `k=v` pairs + key, MD5'd, appended as `hash`."""
    digest = hashlib.md5((query + server.api_key).encode()).hexdigest()
    resp = httpx.get(f"{server.url}/api/admin/v2/?{query}&hash={digest}", timeout=30)
    assert resp.status_code == 200
    return resp.json()  # type: ignore[no-any-return]


@pytest.fixture
def project_id(sdk: Any) -> int:
    return int(sdk.projects.create(f"SDK tasks {uuid.uuid4().hex[:6]}").id)


def test_sdk_creates_lists_gets_updates_completes_and_reopens_tasks(sdk: Any, project_id: int) -> None:
    task = sdk.tasks.create(project_id, "Template creation",
                            {"priority": "high", "text": "Desc", "todo": ["draft", "final"], "dateend": "2025-12-31"})
    assert task.name == "Template creation" and task.priority == "10" and task.date_end == "2025-12-31"
    sub = sdk.tasks.create(project_id, "Sub", {"id_parent": int(task.id)})
    assert sub.page == f"/project/{project_id}/{task.id}/{sub.id}/"
    listed = sdk.tasks.list(project_id, {"extra": "text,subtasks"})
    assert [t.id for t in listed] == [task.id]
    assert listed[0].text == "Desc\r\n• draft\r\n• final"
    assert task.id in [t.id for t in sdk.tasks.list()]
    got = sdk.tasks.get(int(task.id), {"extra": "text"})
    assert got.project.id == str(project_id) and got.user_to.email == "NOONE"
    updated = sdk.tasks.update(int(task.id), {"title": "Renamed", "priority": 3})
    assert (updated.name, updated.priority) == ("Renamed", "3")
    with pytest.raises(ResponseException, match="Task has children"):
        sdk.tasks.complete(int(task.id))
    sdk.tasks.complete(int(sub.id))
    sdk.tasks.complete(int(task.id))
    assert sdk.tasks.get(int(task.id)).status == "done"
    with pytest.raises(ResponseException, match="Parent task is done"):
        sdk.tasks.reopen(int(sub.id))
    sdk.tasks.reopen(int(task.id))
    assert sdk.tasks.get(int(task.id)).status == "active"


def test_sdk_search_subscribe_and_comments(sdk: Any, server: Server, project_id: int) -> None:
    marker = uuid.uuid4().hex[:8]
    task = sdk.tasks.create(project_id, f"Report {marker}")
    found = sdk.tasks.search({"filter": f"name has '{marker}'"})
    assert [t.id for t in found] == [task.id]
    assert sdk.tasks.search({"id_project": project_id, "status": "done"}) == []
    with pytest.raises(ResponseException, match="At least one of fields required"):
        sdk.tasks.search({"status": "active"})
    with pytest.raises(ResponseException, match="Filter is invalid"):
        sdk.tasks.search({"filter": "name HAS 'x'"})
    sdk.tasks.subscribe(int(task.id), server.owner_email)
    sdk.tasks.subscribe(int(task.id), server.owner_email)
    raw = md5_get(server, f"action=get_task&id_task={task.id}&extra=subscribers")
    assert [u["email"] for u in raw["data"]["subscribers"]] == [server.owner_email]
    sdk.tasks.unsubscribe(int(task.id), server.owner_email)
    assert md5_get(server, f"action=get_task&id_task={task.id}&extra=subscribers")["data"]["subscribers"] == []
    first = sdk.comments.create(int(task.id), "First")
    second = sdk.comments.create(int(task.id), "Second", {"hidden": 1})
    assert [c.id for c in sdk.comments.list(int(task.id))] == [second.id, first.id]
    assert first.user_from.email == server.owner_email


def test_raw_md5_requests_built_like_the_postman_collection(sdk: Any, server: Server, project_id: int) -> None:
    body = md5_get(server, f"action=post_task&id_project={project_id}&title=Template prototype"
                           "&text=Take previous prototype as an example&todo[]=draft&todo[]=first version"
                           "&datestart=15.01.2021&dateend=17.01.2021&priority=2&extra=text")
    assert body["status"] == "ok", body
    task = body["data"]
    assert task["text"] == "Take previous prototype as an example\r\n• draft\r\n• first version"
    assert (task["date_start"], task["date_end"], task["priority"]) == ("2021-01-15", "2021-01-17", "2")
    listed = md5_get(server, f"action=get_tasks&id_project={project_id}&extra=text, files, comments, relations, "
                             "subtasks, subscribers")
    assert [t["id"] for t in listed["data"]] == [task["id"]]
    comment = md5_get(server, f"action=post_comment&id_task={task['id']}&text=Need info&todo[]=survey results")
    assert comment["data"]["text"] == "Need info\r\n• survey results"
    assert md5_get(server, f"action=get_comments&id_task={task['id']}&extra=files")["data"][0]["id"] == \
        comment["data"]["id"]
    assert md5_get(server, f"action=complete_task&id_task={task['id']}")["data"]["status"] == "done"
    assert md5_get(server, f"action=reopen_task&id_task={task['id']}") == {"status": "ok"}
    found = md5_get(server, f"action=search_tasks&id_project={project_id}&filter=name has 'prototype'")
    assert [t["id"] for t in found["data"]] == [task["id"]]
    bad = md5_get(server, "action=search_tasks")
    assert (bad["status_code"], bad["message_details"]) == (10, "filter, id_project, id_task, email_user_from, "
                                                                "email_user_to")
    wrong = md5_get(server, f"action=subscribe&id_task={task['id']}&email_user=a@x.com,b@x.com")
    assert (wrong["status_code"], wrong["message_details"]) == (11, "a@x.com,b@x.com")
