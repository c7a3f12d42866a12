"""Cost rows, cost totals and timers (PROTOCOL.md §4.6, §4.7): the JSON shapes, key order as in Postman."""

from __future__ import annotations

from typing import Any

from localsection.ctx import Ctx
from localsection.models import Cost, Timer
from localsection.render import date, datetime_min, hms, minutes, money, project_ref, sid, task_ref


def amount(total_minutes: int, cents: int) -> dict[str, str]:
    """{time "H:MM", money "0.00"} of a sum."""
    return {"time": minutes(total_minutes), "money": money(cents)}


def cost_row(cost: Cost, user_from: dict[str, str], task: dict[str, Any]) -> dict[str, Any]:
    """One get_costs row: {id, comment, time, money, date, is_timer, user_from, task}."""
    return {"id": sid(cost.id), "comment": cost.comment, "time": minutes(cost.minutes),
            "money": money(cost.money_cents), "date": date(cost.date), "is_timer": bool(cost.is_timer),
            "user_from": user_from, "task": task}


def project_total(project_id: int, name: str, sums: tuple[int, int],
                  monthly: dict[str, tuple[int, int]]) -> dict[str, Any]:
    """One get_costs_total `projects` item (without `tasks`); months ascending."""
    return {**project_ref(project_id, name), **amount(*sums),
            "monthly": {month: amount(*monthly[month]) for month in sorted(monthly)}}


def task_total(task: Any, sums: tuple[int, int]) -> dict[str, Any]:
    """One `tasks` item: the task reference (of a Task or a row with its columns) plus its sums."""
    return {**task_ref(task), **amount(*sums)}


def elapsed_seconds(ctx: Ctx, timer: Timer) -> int:
    return max(0, int((ctx.now() - timer.started_at).total_seconds()))


def timer(ctx: Ctx, row: Timer, user_from: dict[str, str], task: dict[str, Any]) -> dict[str, Any]:
    """A get_timers item: {id, time "HH:MM:SS", date_started, user_from, task}."""
    return {"id": sid(row.id), "time": hms(elapsed_seconds(ctx, row)),
            "date_started": datetime_min(ctx.local(row.started_at)), "user_from": user_from, "task": task}


def my_timer(ctx: Ctx, row: Timer, task: dict[str, Any]) -> dict[str, Any]:
    """The get_my_timer item: {time (integer seconds), date_started, task}."""
    return {"time": elapsed_seconds(ctx, row), "date_started": datetime_min(ctx.local(row.started_at)),
            "task": task}
