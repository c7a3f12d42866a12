"""domain.tasks.delete_task and the web app's other task writes, called directly: what goes, who may, which
event is recorded (and queued for `delete_task` webhooks)."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from localsection import clock, errors, files
from localsection.domain import comments, tasks, timers
from localsection.errors import ApiError
from localsection.models import (
    Comment,
    Cost,
    Event,
    OutboxItem,
    StoredFile,
    Task,
    TaskRelation,
    TaskSubscriber,
    Timer,
    Webhook,
)
from tests.factories import make_project, make_task
from tests.helpers import Api


class Part:
    def __init__(self, filename: str, data: bytes) -> None:
        self.filename, self.file, self.size = filename, io.BytesIO(data), len(data)


def _count(api: Api, model: type, *conds: object) -> int:
    with api.state.db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*conds)) or 0)  # type: ignore[arg-type]


def test_delete_task_removes_the_subtree_and_everything_on_it_and_records_delete_task(api: Api) -> None:
    pid = make_project(api)
    top = make_task(api, pid, "Top")
    child = make_task(api, pid, "Child", parent_id=top)
    grandchild = make_task(api, pid, "Grandchild", parent_id=child)
    other = make_task(api, pid, "Other")
    with api.state.db.session() as s:
        s.add(Webhook(account_id=api.account_id, url="http://127.0.0.1:9/hook", events="delete_task", projects="",
                      status="paused", http_user="", http_pass="", created_at=clock.now()))
    with api.ctx() as ctx:
        comments.post_comment(ctx, comments.NewComment(task_id=grandchild, text="deep",
                                                       attachments=files.Attachments(parts=[Part("a.txt", b"x")])))
        tasks.set_subscribers(ctx, task_id=child, emails=[api.owner_email])
        tasks.set_predecessors(ctx, task_id=other, relations=[tasks.Relation(child)])
        timers.start_my_timer(ctx, task_id=top)
    api.ok("add_costs", id_task=child, time="0:30", email_user_from=api.owner_email)
    with api.ctx() as ctx:
        tasks.delete_task(ctx, task_id=top)
    ids = [top, child, grandchild]
    assert _count(api, Task, Task.id.in_(ids)) == 0 and _count(api, Task, Task.id == other) == 1
    for model, cond in ((Comment, Comment.task_id.in_(ids)), (Cost, Cost.task_id.in_(ids)),
                        (Timer, Timer.task_id.in_(ids)), (StoredFile, StoredFile.task_id.in_(ids)),
                        (TaskSubscriber, TaskSubscriber.task_id.in_(ids)),
                        (TaskRelation, TaskRelation.from_task_id.in_(ids))):
        assert _count(api, model, cond) == 0, model
    with api.state.db.session(write=False) as s:
        event = s.scalars(select(Event).where(Event.account_id == api.account_id, Event.action == "delete")).one()
        assert (event.object_type, event.object_id, event.page) == ("task", top, f"/project/{pid}/{top}/")
        assert s.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.event_id == event.id)) == 1
    assert api.error("get_task", id_task=grandchild)["message"] == "Task is invalid"


def test_delete_task_is_refused_to_readers_and_to_users_who_cannot_see_the_task(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid, "Keep me")
    api.add_user("reader@example.com", role="reader")
    api.add_user("stranger@example.com")
    with pytest.raises(ApiError) as denied, api.ctx("reader@example.com") as ctx:
        tasks.delete_task(ctx, task_id=tid)
    assert denied.value.message == "Access denied"
    with pytest.raises(ApiError) as hidden, api.ctx("stranger@example.com") as ctx:
        tasks.delete_task(ctx, task_id=tid)
    assert hidden.value.message == errors.task_invalid().message
    assert _count(api, Task, Task.id == tid) == 1


def test_relations_refuse_self_and_two_task_cycles(api: Api) -> None:
    pid = make_project(api)
    a, b = make_task(api, pid, "A"), make_task(api, pid, "B")
    with api.ctx() as ctx:
        tasks.set_predecessors(ctx, task_id=b, relations=[tasks.Relation(a, "start-to-start")])
    for task_id, other in ((a, a), (a, b)):
        with pytest.raises(ApiError), api.ctx() as ctx:
            tasks.set_predecessors(ctx, task_id=task_id, relations=[tasks.Relation(other)])
    with api.ctx() as ctx:
        assert [(kind, v.id) for kind, v in tasks.predecessors(ctx, b)] == [("start-to-start", a)]
