"""domain.tasks called directly (no HTTP): create, change, complete/reopen, lists and search."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from localsection import errors
from localsection.domain import tasks
from localsection.models import Event, Task
from tests.factories import make_project, make_task
from tests.helpers import Api


def events_of(api: Api, task_id: int) -> list[tuple[str, dict[str, object]]]:
    with api.state.db.session() as s:
        rows = s.scalars(select(Event).where(Event.account_id == api.account_id, Event.object_type == "task",
                                             Event.object_id == task_id).order_by(Event.id))
        return [(e.action, e.new or {}) for e in rows]


def test_create_task_writes_the_task_and_records_the_given_fields(api: Api) -> None:
    pid = make_project(api)
    api.add_user("ann.lee@example.com")
    with api.ctx() as ctx:
        task = tasks.create_task(ctx, tasks.NewTask(project_id=pid, title="  Write docs ", priority=7,
                                                    executive="ann.lee@example.com", date_end=dt.date(2027, 1, 31),
                                                    max_time=Decimal("2.5")))
        tid = task.id
    with api.state.db.session() as s:
        row = s.get(Task, tid)
        assert row is not None
        assert (row.name, row.priority, row.date_end, row.max_time) == ("Write docs", 7, dt.date(2027, 1, 31),
                                                                       Decimal("2.5"))
    [(action, new)] = events_of(api, tid)
    assert action == "post"
    assert new["title"] == "Write docs" and new["priority"] == "7" and new["date_end"] == "2027-01-31"
    assert new["user_to"]["email"] == "ann.lee@example.com"  # type: ignore[index]


def test_create_task_refuses_a_blank_title_an_unknown_executive_and_a_closed_parent(api: Api) -> None:
    pid = make_project(api)
    done = make_task(api, pid, status="done")
    with pytest.raises(errors.ApiError) as blank, api.ctx() as ctx:
        tasks.create_task(ctx, tasks.NewTask(project_id=pid, title="   "))
    assert (blank.value.code, blank.value.details) == (10, "title")
    with pytest.raises(errors.ApiError) as who, api.ctx() as ctx:
        tasks.create_task(ctx, tasks.NewTask(project_id=pid, title="x", executive="nobody@example.com"))
    assert (who.value.code, who.value.message) == (11, "Invalid email")
    with pytest.raises(errors.ApiError) as closed, api.ctx() as ctx:
        tasks.create_task(ctx, tasks.NewTask(project_id=pid, title="x", parent_id=done))
    assert (closed.value.code, closed.value.message) == (8, "Task is closed")


def test_a_guest_cannot_create_or_change_and_an_outsider_does_not_see_the_task(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid)
    guest = api.add_user("gus.guest@example.com", role="guest")
    api.ok("update_project", id_project=pid, members="gus.guest@example.com")
    api.add_user("olga.out@example.com")
    assert guest
    with pytest.raises(errors.ApiError) as refused, api.ctx("gus.guest@example.com") as ctx:
        tasks.update_task(ctx, task_id=tid, changes=tasks.TaskChanges(title="Mine"))
    assert refused.value.code == 20
    with pytest.raises(errors.ApiError) as hidden, api.ctx("olga.out@example.com") as ctx:
        tasks.get_task(ctx, task_id=tid)
    assert hidden.value.code == 5
    with api.ctx("olga.out@example.com") as ctx:
        assert tasks.search_tasks(ctx, tasks.TaskSearch(filter="name has 'Task'")) == []


def test_update_task_records_old_and_new_values_only_when_something_changed(api: Api) -> None:
    tid = make_task(api, make_project(api), "Old")
    with api.ctx() as ctx:
        tasks.update_task(ctx, task_id=tid, changes=tasks.TaskChanges(title="New", date_start=dt.date(2027, 2, 1)))
    with api.ctx() as ctx:
        tasks.update_task(ctx, task_id=tid, changes=tasks.TaskChanges(title="New"))  # no change: no event
    updates = [new for action, new in events_of(api, tid) if action == "update"]
    assert updates == [{"title": "New", "date_start": "2027-02-01"}]


def test_complete_and_reopen_follow_the_subtask_rules(api: Api) -> None:
    pid = make_project(api)
    top = make_task(api, pid)
    sub = make_task(api, pid, parent_id=top)
    with pytest.raises(errors.ApiError) as children, api.ctx() as ctx:
        tasks.complete_task(ctx, task_id=top)
    assert children.value.code == 13
    with api.ctx() as ctx:
        assert tasks.complete_task(ctx, task_id=sub).status == "done"
        assert tasks.complete_task(ctx, task_id=top).status == "done"
    with pytest.raises(errors.ApiError) as parent_done, api.ctx() as ctx:
        tasks.reopen_task(ctx, task_id=sub)
    assert (parent_done.value.code, parent_done.value.message) == (14, "Parent task is done")
    with api.ctx() as ctx:
        assert tasks.reopen_task(ctx, task_id=top).status == "active"
    with pytest.raises(errors.ApiError) as active, api.ctx() as ctx:
        tasks.reopen_task(ctx, task_id=top)
    assert (active.value.code, active.value.message) == (12, "Task is already active")
    assert [a for a, _ in events_of(api, top)] == ["close", "reopen"]


def test_list_tasks_gives_top_level_tasks_in_id_order_and_streams_long_lists(api: Api,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    pid = make_project(api)
    ids = [make_task(api, pid, f"T{i}", status="done" if i == 1 else "active") for i in range(5)]
    make_task(api, pid, "child", parent_id=ids[0])
    with api.ctx() as ctx:
        found = tasks.list_tasks(ctx, project_id=pid)
        assert isinstance(found, list) and [t.id for t in found] == ids
        active = tasks.list_tasks(ctx, project_id=pid, active_only=True)
        assert isinstance(active, list) and [t.id for t in active] == [i for i in ids if i != ids[1]]
    monkeypatch.setattr(tasks, "STREAM_ABOVE", 2)
    monkeypatch.setattr(tasks, "STREAM_CHUNK", 2)
    with api.ctx() as ctx:
        stream = tasks.list_tasks(ctx, project_id=pid)
    assert isinstance(stream, tasks.TaskStream)
    chunks = list(stream.chunks(ctx, lambda _c, views: [t.id for t in views]))
    assert chunks == [ids[0:2], ids[2:4], ids[4:5]]


def test_search_needs_a_scope_and_hides_archived_projects_unless_named(api: Api) -> None:
    live, archived = make_project(api, "Live"), make_project(api, "Old", status="archive")
    a, b = make_task(api, live, "alpha"), make_task(api, archived, "alpha too")
    with pytest.raises(errors.ApiError) as none, api.ctx() as ctx:
        tasks.search_tasks(ctx, tasks.TaskSearch(status="active"))
    assert none.value.code == 10
    with api.ctx() as ctx:
        assert [t.id for t in tasks.search_tasks(ctx, tasks.TaskSearch(filter="name has 'alpha'"))] == [a]
        named = tasks.search_tasks(ctx, tasks.TaskSearch(filter="name has 'alpha'", project_id=archived))
        assert [t.id for t in named] == [b]
