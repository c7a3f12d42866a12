"""The official Python SDK drives tags, schedules and custom fields against a real server, unmodified."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from localsection import clock
from localsection.config import Settings
from localsection.db import Database
from localsection.models import Account, Project, ProjectTag, Task, TaskTag, User
from tests.compat.conftest import Server


def _db(server: Server) -> Database:
    return Database(Settings(data_dir=server.data_dir))


def _project_and_task(server: Server) -> tuple[int, int]:
    """Rows inserted straight into the server's SQLite database (the SDK flow under test is tagging)."""
    db = _db(server)
    try:
        with db.session() as s:
            account = s.scalars(select(Account).order_by(Account.id)).first()
            assert account is not None and account.owner_id is not None
            p = Project(account_id=account.id, name="SDK tags", status="active", user_from_id=account.owner_id,
                        options={}, date_added=clock.now())
            s.add(p)
            s.flush()
            t = Task(account_id=account.id, project_id=p.id, name="Tag me", name_folded="tag me", status="active",
                     user_from_id=account.owner_id, date_added=clock.now(), todo=[], mentions=[])
            s.add(t)
            s.flush()
            return p.id, t.id
    finally:
        db.dispose()


def _tag_ids(server: Server, model: Any, column: Any, object_id: int) -> set[int]:
    db = _db(server)
    try:
        with db.session(write=False) as s:
            return set(s.scalars(select(model.tag_id).where(column == object_id)))
    finally:
        db.dispose()


def test_sdk_creates_task_tag_groups_and_tags_and_updates_a_task(sdk, server: Server) -> None:  # type: ignore[no-untyped-def]
    name = f"SDK labels {uuid.uuid4().hex[:6]}"
    group = sdk.tasks.create_tag_group(name, "public")
    assert (group.title, group.type, group.access) == (name, "label", "public")
    assert isinstance(group.id, int)
    assert name in [g.title for g in sdk.tasks.tag_groups({"type": "label"})]
    tags = sdk.tasks.create_tags(name, "bug", "feature")
    assert [t.title for t in tags] == ["bug", "feature"]
    listed = sdk.tasks.tags({"group": name})
    assert [t.id for t in listed] == [t.id for t in tags]
    assert listed[0].group["title"] == name
    _, task = _project_and_task(server)
    sdk.tasks.update_tags(task, add_ids=[tags[0].id, tags[1].id])
    sdk.tasks.update_tags(task, remove_ids=[tags[0].id])
    assert _tag_ids(server, TaskTag, TaskTag.task_id, task) == {tags[1].id}


def test_sdk_project_tags_round_trip(sdk, server: Server) -> None:  # type: ignore[no-untyped-def]
    name = f"SDK finance {uuid.uuid4().hex[:6]}"
    group = sdk.projects.create_tag_group(name, "private")
    assert (group.title, group.type, group.access) == (name, "", "private")
    assert name in [g.title for g in sdk.projects.tag_groups({"access": "private"})]
    paid, bill = sdk.projects.create_tags(name, "paid", "bill")
    assert [t.title for t in sdk.projects.tags({"group": group.id})] == ["paid", "bill"]
    project, _ = _project_and_task(server)
    sdk.projects.update_tags(project, add_ids=[paid.id, bill.id], remove_ids=[])
    sdk.projects.update_tags(project, remove_ids=[bill.id])
    assert _tag_ids(server, ProjectTag, ProjectTag.project_id, project) == {paid.id}


def test_sdk_reports_an_unknown_tag_as_an_error(sdk, server: Server) -> None:  # type: ignore[no-untyped-def]
    _, task = _project_and_task(server)
    with pytest.raises(Exception, match="update_task_tags: Tag is invalid"):
        sdk.tasks.update_tags(task, add_ids=[987654321])


def test_sdk_sets_and_reads_user_schedules(sdk, server: Server) -> None:  # type: ignore[no-untyped-def]
    email = server.owner_email
    sdk.members.update_schedule({email: {"2031-03-03": "vacation", "04.03.2031": "sick-leave"}})
    schedules = sdk.members.schedule({"users": [email], "datestart": "2031-03-01", "dateend": "2031-03-31"})
    owner = next(s for s in schedules.values() if s.email == email)
    assert owner.dates == {"2031-03-03": "vacation", "2031-03-04": "sick-leave"}
    with pytest.raises(Exception, match="update_users_schedule: Invalid date"):
        sdk.members.update_schedule({email: {"mon": 8}})


def test_sdk_lists_custom_fields_defined_through_the_cli(sdk, server: Server) -> None:  # type: ignore[no-untyped-def]
    account = _account_name(server)
    name = f"Stage {uuid.uuid4().hex[:6]}"
    created = json.loads(server.cli("custom-fields", "create", "--account", account, "--for", "task", "--name",
                                    name, "--type", "select", "--option", "new", "--option", "done", "--json"))
    fields = {f.name: f for f in sdk.tasks.custom_fields()}
    assert fields[name].options == ["new", "done"]
    assert str(fields[name].id) == created["id"]
    server.cli("custom-fields", "create", "--account", account, "--for", "project", "--name", name,
               "--type", "text")
    assert name in [f.name for f in sdk.projects.custom_fields()]


def _account_name(server: Server) -> str:
    db = _db(server)
    try:
        with db.session(write=False) as s:
            owner = s.scalars(select(User).where(User.email == server.owner_email)).first()
            assert owner is not None
            account = s.get(Account, owner.account_id)
            assert account is not None
            return account.name
    finally:
        db.dispose()
