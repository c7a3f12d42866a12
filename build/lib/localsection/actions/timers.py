"""Timers (PROTOCOL.md §4.7, §2.6): the API adapters of domain.timers."""

from __future__ import annotations

from typing import Any

from localsection import errors, render
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.domain import timers
from localsection.render import costs as render_costs


@action("get_timers", scope="administrative", admin_only=True)
def get_timers(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Every running timer of the account, oldest start first."""
    rows = timers.running_timers(ctx)
    tasks = render_costs.task_objects(ctx, {t.task_id for t in rows})
    users = render_costs.user_refs(ctx, {t.user_id for t in rows})
    return render.ok_data([render_costs.timer(ctx, t, users[t.user_id], tasks[t.task_id]) for t in rows])


@action("stop_timer", scope="administrative", admin_only=True, write=True)
def stop_timer(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Stop anyone's timer and save its time as a cost row."""
    timers.stop_timer(ctx, timer_id=p.req_id("timer", invalid=errors.timer_not_found()))
    return render.ok()


@action("get_my_timer", scope="costs_read", user_only=True)
def get_my_timer(ctx: Ctx, p: Params) -> dict[str, Any]:
    """The caller's running timer as a list of zero or one item (§4.7 decision)."""
    row = timers.my_timer(ctx)
    if row is None:
        return render.ok_data([])
    return render.ok_data([render_costs.my_timer(ctx, row, render_costs.task_objects(ctx, {row.task_id})[row.task_id])])


@action("start_my_timer", scope="costs_write", user_only=True)
def start_my_timer(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Start the caller's timer on a task they can see; one timer per user."""
    timers.start_my_timer(ctx, task_id=p.req_id("id_task", invalid=errors.task_invalid()))
    return render.ok()


@action("stop_my_timer", scope="costs_write", user_only=True)
def stop_my_timer(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Stop the caller's timer and save it with the optional comment."""
    timers.stop_my_timer(ctx, comment=p.text("comment") or "")
    return render.ok()


@action("delete_my_timer", scope="costs_write", user_only=True)
def delete_my_timer(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Discard the caller's timer without saving anything."""
    timers.delete_my_timer(ctx)
    return render.ok()
