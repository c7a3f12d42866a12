"""Reading the events log (PROTOCOL.md §8); events are written by localsection.events.record."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from localsection import access
from localsection.ctx import Ctx
from localsection.models import Event


def recent_events(ctx: Ctx, *, period: dt.timedelta, project_id: int | None = None) -> list[Event]:
    """Events of the last `period`, oldest first, optionally of one project (4 unless the caller sees it);
    only what the caller may see."""
    query = select(Event).where(access.event_filter(ctx), Event.date_added >= ctx.now() - period)
    if project_id is not None:
        project = access.project(ctx, project_id)
        query = query.where(Event.project_id == project.id)
    return list(ctx.db.scalars(query.order_by(Event.date_added, Event.id)))
