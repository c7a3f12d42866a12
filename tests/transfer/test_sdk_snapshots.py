"""Snapshots through the official SDK on a real emulator server (SQLite and PostgreSQL): restoring gives the very
same bytes of `get_all_tasks` as at snapshot time, after changes in between (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat.conftest import Server, emulator_server
from tests.conftest import BACKENDS


@pytest.fixture(scope="module", params=BACKENDS)
def emulator(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with emulator_server(request.param, Path(tmp_path_factory.mktemp("snapshots")), "ls_snap") as srv:
        yield srv


def sdk_with_bytes(server: Server) -> tuple[Any, list[bytes]]:
    """The official SDK client, recording the raw body of every answer it receives."""
    from worksection.client import Client
    from worksection.http import Http, HttpResponse

    bodies: list[bytes] = []

    class Recording(Http):
        def send(self, url: str, method: str = "GET", body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> HttpResponse:
            resp = super().send(url, method, body, headers)
            bodies.append(resp.body)
            return resp

    client = Client(server.url).set_api_key(server.api_key)
    client._http = Recording()
    return client, bodies


def all_tasks(sdk: Any, bodies: list[bytes]) -> tuple[list[Any], bytes]:
    listed = sdk.tasks.list(0, {"extra": "text,subtasks"})
    return [(t.id, t.name, t.status) for t in listed], bodies[-1]


def test_a_restored_account_snapshot_answers_get_all_tasks_byte_for_byte(emulator: Server) -> None:
    sdk, bodies = sdk_with_bytes(emulator)
    project = sdk.projects.create("Snapshot me", {"email_manager": emulator.owner_email})
    first = sdk.tasks.create(int(project.id), "First", {"priority": 7, "text": "keep me"})
    sdk.tasks.create(int(project.id), "Child", {"id_parent": int(first.id)})
    second = sdk.tasks.create(int(project.id), "Second", {})
    sdk.tasks.complete(int(second.id))
    tasks_then, bytes_then = all_tasks(sdk, bodies)

    made = httpx.post(f"{emulator.url}/_localsection/snapshots/before-changes", json={"account": "localsection"})
    assert made.status_code == 201, made.text
    assert made.json()["snapshot"]["scope"] == "account" and made.json()["snapshot"]["rows"] > 0

    sdk.tasks.create(int(project.id), "Added later", {})
    sdk.tasks.update(int(first.id), {"title": "Renamed", "priority": 2})
    sdk.tasks.reopen(int(second.id))
    sdk.costs.create(int(first.id), {"time": "1:00", "email_user_from": emulator.owner_email})
    other = sdk.projects.create("Later project", {})
    assert all_tasks(sdk, bodies)[1] != bytes_then

    restored = httpx.post(f"{emulator.url}/_localsection/snapshots/before-changes/restore")
    assert restored.status_code == 200, restored.text
    assert restored.json()["milliseconds"] < 5000
    tasks_now, bytes_now = all_tasks(sdk, bodies)
    assert bytes_now == bytes_then
    assert tasks_now == tasks_then
    assert [p.id for p in sdk.projects.list()] == [project.id]
    assert other.id not in [p.id for p in sdk.projects.list()]
    # The server goes on: new objects get fresh ids, past every id the snapshot holds.
    again = sdk.tasks.create(int(project.id), "After the restore", {})
    assert int(again.id) > max(int(t[0]) for t in tasks_then)

    listed = httpx.get(f"{emulator.url}/_localsection/snapshots").json()["snapshots"]
    entry = next(s for s in listed if s["name"] == "before-changes")
    assert entry["bytes"] > 0 and entry["account"] == "localsection" and entry["created_at"].endswith("Z")
    assert httpx.delete(f"{emulator.url}/_localsection/snapshots/before-changes").status_code == 200
    gone = httpx.post(f"{emulator.url}/_localsection/snapshots/before-changes/restore")
    assert gone.status_code == 404 and gone.json() == {"status": "error",
                                                      "message": "no snapshot named before-changes"}
