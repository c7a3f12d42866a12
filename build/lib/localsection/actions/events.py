"""The events log: get_events (PROTOCOL.md §8), the API adapter of domain.events."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from localsection import errors, render
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.domain import events
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
    period = parse_period(p.text("period"))
    project_id = p.req_id("id_project", errors.project_invalid()) if p.has("id_project") else None
    return render.ok_data(render_events(ctx, events.recent_events(ctx, period=period, project_id=project_id)))
