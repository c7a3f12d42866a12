"""subscribe / unsubscribe (PROTOCOL.md §4.1): follow a task; idempotent, no event recorded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from localsection import access, errors, render
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.models import Task, TaskSubscriber, User


def _target(ctx: Ctx, p: Params) -> tuple[Task, User]:
    """The task (5 when not visible) and the one account user named by email_user (11 otherwise)."""
    task = access.task(ctx, p.req_id("id_task", invalid=errors.task_invalid()), write=True)
    return task, access.user_by_email(ctx, p.req_text("email_user"))


@action("subscribe", scope="tasks_write")
def subscribe(ctx: Ctx, p: Params) -> dict[str, Any]:
    task, user = _target(ctx, p)
    exists = ctx.db.scalar(select(TaskSubscriber.user_id).where(TaskSubscriber.task_id == task.id,
                                                                TaskSubscriber.user_id == user.id))
    if exists is None:
        ctx.db.add(TaskSubscriber(task_id=task.id, user_id=user.id))
    return render.ok()


@action("unsubscribe", scope="tasks_write")
def unsubscribe(ctx: Ctx, p: Params) -> dict[str, Any]:
    task, user = _target(ctx, p)
    ctx.db.execute(delete(TaskSubscriber).where(TaskSubscriber.task_id == task.id,
                                                TaskSubscriber.user_id == user.id))
    return render.ok()
