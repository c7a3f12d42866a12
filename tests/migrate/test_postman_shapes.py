"""A migration from a fake source that answers every action with the official Postman collection's example: the
shapes of the real service (capitalised roles, ids that do not line up between examples) are read as they are."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
from sqlalchemy import select

from localsection.migrate.run import Migration
from localsection.migrate.source import Source
from localsection.migrate.state import State
from localsection.migrate.writer import Writer
from localsection.models import Account, StoredFile, Task, User
from localsection.state import AppState
from tests.conftest import new_account_name
from tests.postman import example


def postman_source(calls: list[str]) -> Source:
    def handler(request: httpx.Request) -> httpx.Response:
        action = dict(parse_qsl(request.url.query.decode()))["action"]
        calls.append(action)
        if action == "download":
            return httpx.Response(200, content=b"bytes of " + request.url.query,
                                  headers={"Content-Type": "application/x-download"})
        body: Any = example(action)
        return httpx.Response(200, content=json.dumps(body).encode(), headers={"Content-Type": "application/json"})

    return Source("https://acc1234.worksection.com", "KEY", rate=1000.0, transport=httpx.MockTransport(handler))


def test_the_postman_examples_migrate_with_their_dates_authors_and_roles(backend: AppState, tmp_path: Path) -> None:
    calls: list[str] = []
    name = new_account_name()
    writer = Writer(backend.db, name)
    writer.check_target()
    run = Migration(postman_source(calls), writer, State("https://acc1234.worksection.com", name),
                    tmp_path / "state.json")
    run.run()
    report = run.report()
    assert report["complete"]
    users, projects, tasks = example("get_users")["data"], example("get_projects")["data"], example("get_tasks")
    assert report["copied"]["user"] == len(users) and report["copied"]["project"] == len(projects)
    assert report["copied"]["comment"] == len(example("get_comments")["data"])
    # The costs example refers to tasks the tasks example does not hold: reported, with the reason.
    assert {f["kind"] for f in report["not_copied"]} <= {"cost"}
    assert all("was not copied" in f["reason"] for f in report["not_copied"])

    with backend.db.session(write=False) as s:
        acc = s.scalars(select(Account).where(Account.name == name)).one()
        roles = {u.email: u.role for u in s.scalars(select(User).where(User.account_id == acc.id))}
        first = tasks["data"][0]
        task = s.scalars(select(Task).where(Task.account_id == acc.id, Task.name == first["name"])).one()
        files = s.scalars(select(StoredFile).where(StoredFile.account_id == acc.id)).all()
    assert {u["email"]: u["role"].lower() for u in users} == roles  # "Owner", "Account admin" as we write them
    assert task.date_added.strftime("%Y-%m-%d %H:%M") == first["date_added"]
    assert task.priority == int(first["priority"])
    assert files and all(f.size > 0 for f in files)
    assert "download" in calls and "get_comments" in calls
