"""Vacations, sick leaves and weekend work days of users (PROTOCOL.md §4.1, FAQ:1923 / FAQ:1926).

update_users_schedule counts, per user and date: "added" = a day that had no entry and now has one;
"updated" = a day whose entry changed to another value or was removed by `unset`. Re-setting the value a
day already has, or unsetting a day without an entry, changes nothing and is not counted.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from typing import Any

import orjson
from sqlalchemy import or_, select

from localsection import access, errors, render
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.formats import is_digits, parse_date
from localsection.models import ScheduleDay, Team, User
from localsection.render.members import display_name

KINDS = ("vacation", "sick-leave", "workday")
UNSET = "unset"
# PHP-style form keys: data[<user>][<date>]=<value>
_FORM_KEY = re.compile(r"^data\[([^\]]+)\]\[([^\]]+)\]$")


def _users(ctx: Ctx, refs: list[str]) -> dict[str, User]:
    """Active account users by e-mail or id (one query); an unknown reference is 11 Invalid email."""
    ids = {int(r) for r in refs if is_digits(r) and len(r) < 19}
    emails = {r.lower() for r in refs if not is_digits(r)}
    rows = list(ctx.db.scalars(select(User).where(
        User.account_id == ctx.account_id, User.is_active.is_(True),
        or_(User.id.in_(ids), User.email.in_(emails)))))
    by_ref = {str(u.id): u for u in rows} | {u.email: u for u in rows}
    out: dict[str, User] = {}
    for ref in refs:
        user = by_ref.get(ref if is_digits(ref) else ref.lower())
        if user is None:
            raise errors.invalid_email(ref)
        out[ref] = user
    return out


def _schedule_item(user: User, teams: dict[int, Team], days: dict[str, str]) -> dict[str, Any]:
    team = teams.get(user.team_id) if user.team_id else None
    return {"id": render.sid(user.id), "email": user.email, "name": display_name(user),
            "group": team.title if team else "", "department": user.department,
            "schedule": days, "dates": dict(days)}


@action("get_users_schedule", scope="users_read")
def get_users_schedule(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Users (all, or `users` by e-mail/id) with their marked days in [datestart, dateend]."""
    refs = [r.strip() for r in p.csv("users") if r.strip()]
    start, end = p.date("datestart"), p.date("dateend")
    query = select(ScheduleDay).join(User, User.id == ScheduleDay.user_id).where(
        ScheduleDay.account_id == ctx.account_id, User.is_active.is_(True))
    if refs:
        query = query.where(ScheduleDay.user_id.in_({u.id for u in _users(ctx, refs).values()}))
    if start is not None:
        query = query.where(ScheduleDay.day >= start)
    if end is not None:
        query = query.where(ScheduleDay.day <= end)
    days: dict[int, dict[str, str]] = defaultdict(dict)
    for row in ctx.db.scalars(query.order_by(ScheduleDay.user_id, ScheduleDay.day)):
        days[row.user_id][render.date(row.day)] = row.kind
    users = access.users_by_id(ctx.db, ctx.account_id, set(days))
    teams = {t.id: t for t in ctx.db.scalars(select(Team).where(Team.account_id == ctx.account_id))}
    return render.ok_data([_schedule_item(users[uid], teams, days[uid]) for uid in sorted(days)])


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


def _changes(ctx: Ctx, data: dict[str, Any]) -> dict[tuple[int, dt.date], str]:
    """Validate everything before writing: {(user id, day): kind or "unset"} (a later key wins)."""
    users = _users(ctx, [str(k).strip() for k in data])
    out: dict[tuple[int, dt.date], str] = {}
    for ref, days in data.items():
        user = users[str(ref).strip()]
        if not isinstance(days, dict):
            raise errors.invalid_date(str(ref))
        for key, value in days.items():
            day = parse_date(str(key), str(key))
            kind = value.strip().lower() if isinstance(value, str) else ""
            if kind not in (*KINDS, UNSET):
                raise errors.invalid_date(str(value))
            out[(user.id, day)] = kind
    return out


@action("update_users_schedule", scope="users_write")
def update_users_schedule(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Set (vacation, sick-leave, workday) or remove (unset) days; all or nothing."""
    access.require_write(ctx)
    changes = _changes(ctx, _data(p))
    existing: dict[tuple[int, dt.date], ScheduleDay] = {}
    if changes:
        # One range query per request (index on account_id, day), narrowed to the exact keys in Python.
        rows = ctx.db.scalars(select(ScheduleDay).where(
            ScheduleDay.account_id == ctx.account_id,
            ScheduleDay.user_id.in_({uid for uid, _ in changes}),
            ScheduleDay.day.between(min(d for _, d in changes), max(d for _, d in changes))))
        existing = {(r.user_id, r.day): r for r in rows}
    added = updated = 0
    for (user_id, day), kind in changes.items():
        row = existing.get((user_id, day))
        if kind == UNSET:
            if row is not None:
                ctx.db.delete(row)
                updated += 1
        elif row is None:
            ctx.db.add(ScheduleDay(account_id=ctx.account_id, user_id=user_id, day=day, kind=kind))
            added += 1
        elif row.kind != kind:
            row.kind = kind
            updated += 1
    ctx.db.flush()
    return render.ok_top(data=[], message=f"Days added: {added}, days updated: {updated}")
