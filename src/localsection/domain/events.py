"""Reading the events log (PROTOCOL.md §8); events are written by localsection.events.record."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from localsection import access
from localsection.ctx import Ctx
from localsection.models import Event
from localsection.render import task_page


def recent_events(ctx: Ctx, *, period: dt.timedelta, project_id: int | None = None) -> list[Event]:
    """Events of the last `period`, oldest first, optionally of one project (4 unless the caller sees it);
    only what the caller may see."""
    query = select(Event).where(access.event_filter(ctx), Event.date_added >= ctx.now() - period)
    if project_id is not None:
        project = access.project(ctx, project_id)
        query = query.where(Event.project_id == project.id)
    return list(ctx.db.scalars(query.order_by(Event.date_added, Event.id)))


def task_events(ctx: Ctx, *, task_id: int, limit: int = 100) -> list[Event]:
    """The newest events of one task and of its comments (their page is the task's page), newest first; only
    what the caller may see (5 unless the caller sees the task)."""
    task = access.task_snapshot(ctx, task_id)
    page = task_page(task.project_id, task.id, task.top_id)
    query = (select(Event).where(Event.project_id == task.project_id, Event.page == page, access.event_filter(ctx))
             .order_by(Event.date_added.desc(), Event.id.desc()).limit(limit))
    return list(ctx.db.scalars(query))
