"""Vacations, sick leaves and weekend work days of users (PROTOCOL.md §4.1, FAQ:1923 / FAQ:1926).

update_users_schedule counts, per user and date: "added" = a day that had no entry and now has one;
"updated" = a day whose entry changed to another value or was removed by `unset`. Re-setting the value a
day already has, or unsetting a day without an entry, changes nothing and is not counted.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from localsection import access, errors
from localsection.ctx import Ctx
from localsection.formats import is_digits, parse_date
from localsection.models import ScheduleDay, Team, User

KINDS = ("vacation", "sick-leave", "workday")
UNSET = "unset"
Changes = dict[tuple[int, dt.date], str]  # (user id, day) -> a kind or "unset"


@dataclass(frozen=True)
class UserSchedule:
    """One user's marked days (day -> kind, ascending) and their team."""

    user: User
    team: Team | None
    days: dict[dt.date, str]


@dataclass(frozen=True)
class ScheduleUpdate:
    added: int
    updated: int


def users_by_ref(ctx: Ctx, refs: Sequence[str]) -> dict[str, User]:
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


def users_schedule(ctx: Ctx, *, user_refs: Sequence[str] = (), start: dt.date | None = None,
                   end: dt.date | None = None) -> list[UserSchedule]:
    """Active users (all, or those of `user_refs` by e-mail/id) with their marked days in [start, end], by
    user id; users without a marked day are left out."""
    query = select(ScheduleDay).join(User, User.id == ScheduleDay.user_id).where(
        ScheduleDay.account_id == ctx.account_id, User.is_active.is_(True))
    if user_refs:
        query = query.where(ScheduleDay.user_id.in_({u.id for u in users_by_ref(ctx, user_refs).values()}))
    if start is not None:
        query = query.where(ScheduleDay.day >= start)
    if end is not None:
        query = query.where(ScheduleDay.day <= end)
    days: dict[int, dict[dt.date, str]] = defaultdict(dict)
    for row in ctx.db.scalars(query.order_by(ScheduleDay.user_id, ScheduleDay.day)):
        days[row.user_id][row.day] = row.kind
    users = access.users_by_id(ctx.db, ctx.account_id, set(days))
    teams = {t.id: t for t in ctx.db.scalars(select(Team).where(Team.account_id == ctx.account_id))}
    out = []
    for uid in sorted(days):
        user = users[uid]
        out.append(UserSchedule(user, teams.get(user.team_id) if user.team_id else None, days[uid]))
    return out


def check_schedule_changes(ctx: Ctx, *, data: Mapping[str, Any]) -> Changes:
    """Validate a whole change set before anything is written: `data` maps a user (e-mail or id) to
    {date (DD.MM.YYYY or YYYY-MM-DD): vacation | sick-leave | workday | unset}; a later key wins.

    Guests and readers are refused (20); an unknown user is 11 Invalid email, a bad date or kind 11 Invalid date.
    """
    access.require_write(ctx)
    users = users_by_ref(ctx, [str(k).strip() for k in data])
    out: Changes = {}
    for ref, days in data.items():
        user = users[str(ref).strip()]
        if not isinstance(days, Mapping):
            raise errors.invalid_date(str(ref))
        for key, value in days.items():
            day = parse_date(str(key), str(key))
            kind = value.strip().lower() if isinstance(value, str) else ""
            if kind not in (*KINDS, UNSET):
                raise errors.invalid_date(str(value))
            out[(user.id, day)] = kind
    return out


def do_update_schedule(ctx: Ctx, changes: Changes) -> ScheduleUpdate:
    """Write checked changes: set (vacation, sick-leave, workday) or remove (unset) days."""
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
    return ScheduleUpdate(added, updated)


def update_users_schedule(ctx: Ctx, *, data: Mapping[str, Any]) -> ScheduleUpdate:
    """check_schedule_changes + do_update_schedule: all or nothing."""
    return do_update_schedule(ctx, check_schedule_changes(ctx, data=data))
