"""The events log: get_events (PROTOCOL.md §8)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select

from localsection import access, errors, render
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.models import Event
from localsection.render.events import render_events

_PERIOD = re.compile(r"^([1-9][0-9]*)(m|h|d)$")
_UNITS = {"m": (dt.timedelta(minutes=1), 360), "h": (dt.timedelta(hours=1), 72), "d": (dt.timedelta(days=1), 30)}


def parse_period(value: str | None) -> dt.timedelta:
    """`1m`..`360m`, `1h`..`72h`, `1d`..`30d`; anything else is 10 Field is required / period (PM)."""
    m = _PERIOD.match((value or "").strip())
    if not m or len(m.group(1)) > 4:
        raise errors.required("period")
    unit, bound = _UNITS[m.group(2)]
    count = int(m.group(1))
    if count > bound:
        raise errors.required("period")
    return unit * count


@action("get_events", scope="projects_read", threaded=True)
def get_events(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Events of the last `period`, oldest first, optionally of one project; only what the caller may see."""
    since = ctx.now() - parse_period(p.text("period"))
    query = select(Event).where(access.event_filter(ctx), Event.date_added >= since)
    if p.has("id_project"):
        project = access.project(ctx, p.id("id_project", errors.project_invalid()))
        query = query.where(Event.project_id == project.id)
    rows = ctx.db.scalars(query.order_by(Event.date_added, Event.id))
    return render.ok_data(render_events(ctx, rows))
