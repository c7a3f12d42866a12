"""Cost rows, cost totals and timers (PROTOCOL.md §4.6, §4.7): the JSON shapes, key order as in Postman."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from localsection.ctx import Ctx
from localsection.db import ids_in
from localsection.models import Cost, Task, Timer, User
from localsection.read.costs import ProjectCosts, elapsed_seconds
from localsection.read.tasks import fetch_views, select_views
from localsection.render import date, datetime_min, hms, minutes, money, project_ref, sid, task_ref
from localsection.render.members import user_ref
from localsection.render.tasks import render_tasks


def amount(total_minutes: int, cents: int) -> dict[str, str]:
    """{time "H:MM", money "0.00"} of a sum."""
    return {"time": minutes(total_minutes), "money": money(cents)}


def cost_row(cost: Cost, user_from: dict[str, str], task: dict[str, Any]) -> dict[str, Any]:
    """One get_costs row: {id, comment, time, money, date, is_timer, user_from, task}."""
    return {"id": sid(cost.id), "comment": cost.comment, "time": minutes(cost.minutes),
            "money": money(cost.money_cents), "date": date(cost.date), "is_timer": bool(cost.is_timer),
            "user_from": user_from, "task": task}


def cost_rows(ctx: Ctx, rows: list[Cost]) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The get_costs `data` rows and the `total` of exactly those rows (one query for tasks, one for users)."""
    tasks = task_objects(ctx, {r.task_id for r in rows})
    users = user_refs(ctx, {r.user_id for r in rows})
    data = [cost_row(r, users[r.user_id], tasks[r.task_id]) for r in rows]
    return data, amount(sum(r.minutes for r in rows), sum(r.money_cents for r in rows))


def task_objects(ctx: Ctx, task_ids: set[int]) -> dict[int, dict[str, Any]]:
    """Task objects without extras by id (one bulk render; rows are already access-checked)."""
    if not task_ids:
        return {}
    tasks = fetch_views(ctx, select_views(text=False).where(ids_in(ctx.db, Task.id, task_ids),
                                                            Task.account_id == ctx.account_id))
    return {t.id: obj for t, obj in zip(tasks, render_tasks(ctx, tasks, set()), strict=True)}


def user_refs(ctx: Ctx, user_ids: set[int]) -> dict[int, dict[str, str]]:
    """User references of the account by id (one query)."""
    return {u.id: user_ref(u) for u in ctx.db.scalars(
        select(User).where(ids_in(ctx.db, User.id, user_ids), User.account_id == ctx.account_id))}


def project_costs(item: ProjectCosts) -> dict[str, Any]:
    """One get_costs_total `projects` item, with `tasks` when they were asked for."""
    out = project_total(item.id, item.name, item.sums, item.monthly)
    if item.tasks is not None:
        out["tasks"] = [task_total(task, sums) for task, sums in item.tasks]
    return out


def project_total(project_id: int, name: str, sums: tuple[int, int],
                  monthly: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """One get_costs_total `projects` item (without `tasks`); months ascending."""
    return {**project_ref(project_id, name), **amount(*sums),
            "monthly": {month: amount(*monthly[month]) for month in sorted(monthly)}}


def task_total(task: Any, sums: tuple[int, int]) -> dict[str, Any]:
    """One `tasks` item: the task reference (of a Task or a row with its columns) plus its sums."""
    return {**task_ref(task), **amount(*sums)}


def timer(ctx: Ctx, row: Timer, user_from: dict[str, str], task: dict[str, Any]) -> dict[str, Any]:
    """A get_timers item: {id, time "HH:MM:SS", date_started, user_from, task}."""
    return {"id": sid(row.id), "time": hms(elapsed_seconds(ctx, row)),
            "date_started": datetime_min(ctx.local(row.started_at)), "user_from": user_from, "task": task}


def my_timer(ctx: Ctx, row: Timer, task: dict[str, Any]) -> dict[str, Any]:
    """The get_my_timer item: {time (integer seconds), date_started, task}."""
    return {"time": elapsed_seconds(ctx, row), "date_started": datetime_min(ctx.local(row.started_at)),
            "task": task}
