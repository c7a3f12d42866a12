"""Costs: time and money entries and their totals (PROTOCOL.md §4.6).

Time is stored as whole minutes and money as integer cents, so every sum is exact; totals are SQL aggregates.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select

from localsection import access, errors, render
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.db import Prepared, Snapshot, core, ids_in, prepared_insert
from localsection.errors import ApiError
from localsection.filters import Field, compile_filter
from localsection.models import Cost, Project, Task, Timer, User
from localsection.read.tasks import fetch_views, select_views
from localsection.render import costs as rc
from localsection.render.members import user_ref
from localsection.render.tasks import render_tasks

COSTS_FIELDS = {
    "id": Field("int", Cost.task_id),
    "project": Field("int", Cost.project_id),
    "comment": Field("str", Cost.comment_folded),
    "dateadd": Field("date", Cost.date),
}
TOTAL_FIELDS = {"project": Field("int", Cost.project_id)}

MAX_HOURS = 999_999
_HOURS_MINUTES = re.compile(r"^(\d{1,6}):(\d{1,2})$")
_DECIMAL = re.compile(r"^\d{0,9}(?:\.\d*)?$")
Sums = tuple[int, int]


def costs_not_found() -> ApiError:
    return ApiError(4, "Costs not found")


# -- input formats -------------------------------------------------------------------------------


def parse_time(value: str, name: str = "time") -> int:
    """`H:MM`, or decimal hours with `.` or `,` (`0.15` = `0,15` = `0:09`) -> whole minutes, rounded half up."""
    text = value.strip().replace(",", ".")
    m = _HOURS_MINUTES.match(text)
    if m:
        hours, mins = int(m.group(1)), int(m.group(2))
        if mins < 60 and hours <= MAX_HOURS:
            return hours * 60 + mins
        raise errors.invalid_value("Invalid time", name)
    if not _DECIMAL.match(text) or text in ("", "."):
        raise errors.invalid_value("Invalid time", name)
    hours_d = Decimal(text)
    if hours_d > MAX_HOURS:
        raise errors.invalid_value("Invalid time", name)
    return int((hours_d * 60).to_integral_value(ROUND_HALF_UP))


def parse_money(value: str, name: str = "money") -> int:
    """A decimal amount with `.` or `,` -> integer cents, rounded half up."""
    text = value.strip().replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise errors.invalid_value("Invalid number", name) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise errors.invalid_value("Invalid number", name)
    return int((amount * 100).to_integral_value(ROUND_HALF_UP))


def rate_cents(user: User, minutes: int) -> int:
    """The author's hourly rate x time, in cents rounded half up."""
    return int((Decimal(user.rate or 0) * 100 * minutes / 60).to_integral_value(ROUND_HALF_UP))


# -- shared query pieces ---------------------------------------------------------------------------


def _conditions(ctx: Ctx, p: Params, fields: dict[str, Field]) -> list[ColumnElement[bool]]:
    """The WHERE of get_costs / get_costs_total: visibility plus every given filter parameter."""
    conds = [access.cost_filter(ctx)]
    project_id = p.id("id_project", invalid=errors.project_invalid())
    if project_id is not None:
        access.project(ctx, project_id)
        conds.append(Cost.project_id == project_id)
    task_id = p.id("id_task", invalid=errors.task_invalid())
    if task_id is not None:
        access.task_snapshot(ctx, task_id)
        conds.append(Cost.task_id == task_id)
    start, end = p.date("datestart"), p.date("dateend")
    if start is not None:
        conds.append(Cost.date >= start)
    if end is not None:
        conds.append(Cost.date <= end)
    is_timer = p.flag("is_timer")
    if is_timer is not None:
        conds.append(Cost.is_timer.is_(is_timer))
    user_id = p.id("id_user", invalid=errors.invalid_value("Invalid id", "id_user"))
    if user_id is not None:
        conds.append(Cost.user_id == user_id)
    text = p.text("filter")
    if text is not None:
        conds.append(compile_filter(text, fields, ctx.tz))
    return conds


def _sums(row: Any) -> Sums:
    """(minutes, cents) of an aggregate row; SUM of nothing is NULL and PostgreSQL sums to NUMERIC."""
    return int(row[0] or 0), int(row[1] or 0)


# Built once (the hot path of add_costs): statement construction cost more than running these.
# get_costs reads rows as read-only snapshots: thousands of ORM objects cost more than the query.
_COSTS = Snapshot(Cost)
_PROJECT_OPTIONS = Prepared(select(Project.options).where(Project.id == bindparam("project")))
_INSERT_COST = prepared_insert(Cost, ["account_id", "project_id", "task_id", "top_task_id", "user_id", "minutes",
                                      "money_cents", "comment", "comment_folded", "date", "is_timer", "created_at"])


def _options(ctx: Ctx, project_id: int) -> dict[str, Any]:
    row = _PROJECT_OPTIONS.first(ctx.db, {"project": project_id})
    options = row[0] if row else None
    return dict(options or {})


def _on(options: dict[str, Any], name: str) -> bool:
    return str(options.get(name, 0)).strip().lower() in ("1", "true")


def _check_options(ctx: Ctx, project_id: int, *, day: dt.date | None, amounts: bool) -> None:
    """Project options: timer_only refuses manual amounts, time_today refuses other days."""
    options = _options(ctx, project_id)
    if amounts and _on(options, "timer_only"):
        raise errors.invalid_value("Costs can be added from timer only")
    if day is not None and _on(options, "time_today") and day != ctx.today():
        raise errors.invalid_value("Costs can be added for today only")


# -- reads ------------------------------------------------------------------------------------------


@action("get_costs", scope="costs_read", threaded=True)
def get_costs(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Cost rows (oldest date first) and the total of exactly those rows."""
    q = select(*_COSTS.columns).where(*_conditions(ctx, p, COSTS_FIELDS)).order_by(Cost.date, Cost.id)
    cap = ctx.settings.record_cap
    rows = [_COSTS.build(r) for r in core(ctx.db).execute(q.limit(cap + 1) if cap > 0 else q).all()]
    if cap > 0 and len(rows) > cap:
        raise errors.too_many(cap)
    tasks = task_objects(ctx, {r.task_id for r in rows})
    users = {u.id: user_ref(u) for u in ctx.db.scalars(
        select(User).where(ids_in(ctx.db, User.id, {r.user_id for r in rows}), User.account_id == ctx.account_id))}
    data = [rc.cost_row(r, users[r.user_id], tasks[r.task_id]) for r in rows]
    total = rc.amount(sum(r.minutes for r in rows), sum(r.money_cents for r in rows))
    return render.ok_top(data=data, total=total)


def task_objects(ctx: Ctx, task_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Task objects without extras by id (one bulk render; rows are already access-checked)."""
    if not task_ids:
        return {}
    tasks = fetch_views(ctx, select_views(text=False).where(ids_in(ctx.db, Task.id, task_ids),
                                                            Task.account_id == ctx.account_id))
    return {t.id: obj for t, obj in zip(tasks, render_tasks(ctx, tasks, set()), strict=True)}


@action("get_costs_total", scope="costs_read", threaded=True)
def get_costs_total(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Sums of the matching rows; extra=projects adds per-project (monthly, per-task) sums (§4.6 decision)."""
    conds = _conditions(ctx, p, TOTAL_FIELDS)
    extra = p.extra()
    if "projects" not in extra or p.has("id_task"):
        row = ctx.db.execute(select(func.sum(Cost.minutes), func.sum(Cost.money_cents)).where(*conds)).one()
        return render.ok_top(total=rc.amount(*_sums(row)))
    projects, total = _project_totals(ctx, conds)
    per = "tasks_top_level" if "tasks_top_level" in extra else "tasks" if "tasks" in extra else None
    if per is not None:
        _add_task_totals(ctx, conds, projects, top_level=per == "tasks_top_level")
    return render.ok_top(total=rc.amount(*total), projects=projects)


def month_of(ctx: Ctx, column: Any) -> ColumnElement[str]:
    """`YYYY-MM` of a DATE column, in the cheapest form each database has (SQLite keeps dates as ISO text)."""
    if ctx.db.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.substr(column, 1, 7)


def _project_totals(ctx: Ctx, conds: list[ColumnElement[bool]]) -> tuple[list[dict[str, Any]], Sums]:
    """Per project and month in one GROUP BY; project sums add up their months, the total adds up projects."""
    month = month_of(ctx, Cost.date)
    q = (select(Cost.project_id, month, func.sum(Cost.minutes), func.sum(Cost.money_cents))
         .where(*conds).group_by(Cost.project_id, month))
    monthly: dict[int, dict[str, Sums]] = {}
    for project_id, key, mins, cents in ctx.db.execute(q):
        monthly.setdefault(project_id, {})[str(key)] = _sums((mins, cents))
    names = dict(ctx.db.execute(select(Project.id, Project.name).where(
        ids_in(ctx.db, Project.id, set(monthly)), Project.account_id == ctx.account_id)).tuples().all())
    out = []
    total_minutes = total_cents = 0
    for project_id in sorted(monthly):
        months = monthly[project_id]
        sums = (sum(v[0] for v in months.values()), sum(v[1] for v in months.values()))
        total_minutes, total_cents = total_minutes + sums[0], total_cents + sums[1]
        out.append(rc.project_total(project_id, names.get(project_id, ""), sums, months))
    return out, (total_minutes, total_cents)


def _add_task_totals(ctx: Ctx, conds: list[ColumnElement[bool]], projects: list[dict[str, Any]], *,
                     top_level: bool) -> None:
    """`tasks` of each project: per task and subtask, or per top task with subtask costs rolled in."""
    key = Cost.top_task_id if top_level else Cost.task_id
    q = (select(Cost.project_id, key, func.sum(Cost.minutes), func.sum(Cost.money_cents))
         .where(*conds).group_by(Cost.project_id, key))
    grouped: dict[int, dict[int, Sums]] = {}
    for project_id, task_id, mins, cents in ctx.db.execute(q):
        grouped.setdefault(project_id, {})[task_id] = _sums((mins, cents))
    wanted = {t for per in grouped.values() for t in per}
    # Only the columns of a task reference: loading full ORM rows would dominate large reports.
    q_tasks = (select(Task.id, Task.name, Task.project_id, Task.top_id, Task.status, Task.priority)
               .where(ids_in(ctx.db, Task.id, wanted), Task.account_id == ctx.account_id))
    tasks = {t.id: t for t in ctx.db.execute(q_tasks)}
    for item in projects:
        per = grouped.get(int(item["id"]), {})
        item["tasks"] = [rc.task_total(tasks[t], per[t]) for t in sorted(per) if t in tasks]


# -- writes -----------------------------------------------------------------------------------------


def _amounts(p: Params, author: User | None) -> tuple[int | None, int | None]:
    """(minutes, cents) from time / money / is_rate; None where not given."""
    minutes = parse_time(p.req_text("time")) if p.has("time") else None
    cents = parse_money(p.req_text("money")) if p.has("money") else None
    if p.flag("is_rate") and author is not None:
        cents = rate_cents(author, minutes) if minutes is not None else None
    return minutes, cents


@action("add_costs", scope="costs_write")
def add_costs(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Add a manual cost row to a task; the admin key must name the author."""
    if not p.has("time") and not p.has("money"):
        raise errors.required("time or money")
    task = access.task_snapshot(ctx, p.req_id("id_task", invalid=errors.task_invalid()), write=True)
    # The admin key acts for nobody in particular, so it must name the author; a token user is the author.
    author = access.user_by_email(ctx, p.req_text("email_user_from")) if ctx.via_admin_key else ctx.user
    minutes, cents = _amounts(p, author)
    if minutes is None and cents is None:
        raise errors.required("time or money")
    day = p.date("date") or ctx.today()
    _check_options(ctx, task.project_id, day=day, amounts=True)
    comment = p.text("comment") or ""
    # A Core insert: the ORM unit of work cost more than the INSERT itself, inside the write lock.
    inserted = _INSERT_COST.all(ctx.db, {
        "account_id": ctx.account_id, "project_id": task.project_id, "task_id": task.id,
        "top_task_id": task.top_id or task.id, "user_id": author.id, "minutes": minutes or 0,
        "money_cents": cents or 0, "comment": comment, "comment_folded": comment.casefold(), "date": day,
        "is_timer": False, "created_at": ctx.now()})
    return render.ok_top(id=inserted[0][0])


@action("update_costs", scope="costs_write")
def update_costs(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Change a row; is_rate recomputes money from the author's rate and the (new) time."""
    row = access.cost(ctx, p.req_id("id_costs", invalid=costs_not_found()), write=True)
    author = ctx.db.get(User, row.user_id)
    minutes, cents = _amounts(p, None)
    if p.flag("is_rate") and author is not None:
        cents = rate_cents(author, row.minutes if minutes is None else minutes)
    day = p.date("date")
    _check_options(ctx, row.project_id, day=day, amounts=p.has("time") or p.has("money"))
    if minutes is not None:
        row.minutes = minutes
    if cents is not None:
        row.money_cents = cents
    comment = p.text("comment")
    if comment is not None:
        row.comment, row.comment_folded = comment, comment.casefold()
    if day is not None:
        row.date = day
    return render.ok()


@action("delete_costs", scope="costs_write")
def delete_costs(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Delete a row."""
    row = access.cost(ctx, p.req_id("id_costs", invalid=costs_not_found()), write=True)
    ctx.db.delete(row)
    return render.ok()


# -- timers save their time here ---------------------------------------------------------------------


def timer_minutes(seconds: int) -> int:
    """Elapsed seconds -> whole minutes, nearest minute (half up), at least one: a stopped timer always counts."""
    return max(1, (seconds + 30) // 60)


def save_timer(ctx: Ctx, timer: Timer, comment: str) -> Cost:
    """Turn a running timer into an is_timer cost row (dated the local start day, priced at the user's rate)."""
    task = ctx.db.get(Task, timer.task_id)
    user = ctx.db.get(User, timer.user_id)
    if task is None or user is None:  # pragma: no cover - tasks and users are never deleted
        raise errors.task_invalid()
    minutes = timer_minutes(rc.elapsed_seconds(ctx, timer))
    row = Cost(account_id=ctx.account_id, project_id=task.project_id, task_id=task.id,
               top_task_id=task.top_id or task.id, user_id=user.id, minutes=minutes,
               money_cents=rate_cents(user, minutes), comment=comment, comment_folded=comment.casefold(),
               date=ctx.local(timer.started_at).date(), is_timer=True, created_at=ctx.now())
    ctx.db.add(row)
    ctx.db.delete(timer)
    ctx.db.flush()
    return row
