"""Following a task (PROTOCOL.md §4.1): idempotent, no event recorded."""

from __future__ import annotations

from sqlalchemy import delete, select

from localsection import access
from localsection.ctx import Ctx
from localsection.models import TaskSubscriber


def subscribe(ctx: Ctx, *, task_id: int, email: str) -> None:
    """Make the account user `email` follow a task the caller may change (5 / 11 otherwise)."""
    task = access.task(ctx, task_id, write=True)
    user = access.user_by_email(ctx, email)
    exists = ctx.db.scalar(select(TaskSubscriber.user_id).where(TaskSubscriber.task_id == task.id,
                                                                TaskSubscriber.user_id == user.id))
    if exists is None:
        ctx.db.add(TaskSubscriber(task_id=task.id, user_id=user.id))


def unsubscribe(ctx: Ctx, *, task_id: int, email: str) -> None:
    """Stop `email` following the task; nothing happens when they did not."""
    task = access.task(ctx, task_id, write=True)
    user = access.user_by_email(ctx, email)
    ctx.db.execute(delete(TaskSubscriber).where(TaskSubscriber.task_id == task.id,
                                                TaskSubscriber.user_id == user.id))
