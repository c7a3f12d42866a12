"""get_users_schedule / update_users_schedule (PROTOCOL.md §4.1): the API adapters of domain.schedules."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import orjson

from localsection import access, errors, render
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.domain import schedules
from localsection.render.members import display_name

# PHP-style form keys: data[<user>][<date>]=<value>
_FORM_KEY = re.compile(r"^data\[([^\]]+)\]\[([^\]]+)\]$")


def _schedule_item(item: schedules.UserSchedule) -> dict[str, Any]:
    user = item.user
    days = {render.date(day): kind for day, kind in item.days.items()}
    return {"id": render.sid(user.id), "email": user.email, "name": display_name(user),
            "group": item.team.title if item.team else "", "department": user.department,
            "schedule": days, "dates": dict(days)}


@action("get_users_schedule", scope="users_read")
def get_users_schedule(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Users (all, or `users` by e-mail/id) with their marked days in [datestart, dateend]."""
    refs = [r.strip() for r in p.csv("users") if r.strip()]
    found = schedules.users_schedule(ctx, user_refs=refs, start=p.date("datestart"), end=p.date("dateend"))
    return render.ok_data([_schedule_item(item) for item in found])


def _data(p: Params) -> dict[str, Any]:
    """`data` as an object: JSON body object, JSON-encoded string, or PHP-style data[user][date] keys."""
    raw = p.raw("data")
    if raw is None or raw == "":
        nested: dict[str, dict[str, Any]] = defaultdict(dict)
        for key, value in p.values.items():
            m = _FORM_KEY.match(key)
            if m:
                nested[m.group(1)][m.group(2)] = value
        raw = dict(nested)
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise errors.invalid_date("data") from None
    if raw in ({}, [], None):
        raise errors.required("data")
    if not isinstance(raw, dict):
        raise errors.invalid_date("data")
    return raw


@action("update_users_schedule", scope="users_write")
def update_users_schedule(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Set (vacation, sick-leave, workday) or remove (unset) days; all or nothing."""
    access.require_write(ctx)  # a reader is refused before `data` is read (the domain checks it again)
    result = schedules.update_users_schedule(ctx, data=_data(p))
    return render.ok_top(data=[], message=f"Days added: {result.added}, days updated: {result.updated}")
