"""Timers (PROTOCOL.md §4.7, §2.6): one running timer per user; stopping one saves an is_timer cost row."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from localsection import access, errors, render
from localsection.actions.costs import save_timer, task_objects
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.db import ids_in
from localsection.errors import ApiError
from localsection.models import Timer, User
from localsection.render import costs as rc
from localsection.render.members import user_ref


def timer_not_found() -> ApiError:
    return ApiError(7, "Timer not found")


def timer_not_started() -> ApiError:
    return ApiError(7, "Timer is not started")


def _my_timer(ctx: Ctx, *, lock: bool = False) -> Timer | None:
    """The caller's timer; `lock` makes two concurrent stops on PostgreSQL save it once, not twice."""
    q = select(Timer).where(Timer.account_id == ctx.account_id, Timer.user_id == ctx.user.id)
    return ctx.db.scalars(q.with_for_update() if lock else q).first()


@action("get_timers", scope="administrative", admin_only=True)
def get_timers(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Every running timer of the account, oldest start first."""
    rows = list(ctx.db.scalars(select(Timer).where(Timer.account_id == ctx.account_id)
                               .order_by(Timer.started_at, Timer.id)))
    tasks = task_objects(ctx, {t.task_id for t in rows})
    users = {u.id: user_ref(u) for u in ctx.db.scalars(
        select(User).where(ids_in(ctx.db, User.id, {t.user_id for t in rows}), User.account_id == ctx.account_id))}
    return render.ok_data([rc.timer(ctx, t, users[t.user_id], tasks[t.task_id]) for t in rows])


@action("stop_timer", scope="administrative", admin_only=True, write=True)
def stop_timer(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Stop anyone's timer and save its time as a cost row."""
    timer_id = p.req_id("timer", invalid=timer_not_found())
    row = ctx.db.scalars(select(Timer).where(Timer.id == timer_id, Timer.account_id == ctx.account_id)
                         .with_for_update()).first()
    if row is None:
        raise timer_not_found()
    save_timer(ctx, row, "")
    return render.ok()


@action("get_my_timer", scope="costs_read", user_only=True)
def get_my_timer(ctx: Ctx, p: Params) -> dict[str, Any]:
    """The caller's running timer as a list of zero or one item (§4.7 decision)."""
    row = _my_timer(ctx)
    if row is None:
        return render.ok_data([])
    task = task_objects(ctx, {row.task_id})[row.task_id]
    return render.ok_data([rc.my_timer(ctx, row, task)])


@action("start_my_timer", scope="costs_write", user_only=True)
def start_my_timer(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Start the caller's timer on a task they can see; one timer per user."""
    task = access.task(ctx, p.req_id("id_task", invalid=errors.task_invalid()), write=True)
    if _my_timer(ctx) is not None:
        raise ApiError(6, "Timer is already started")
    try:
        # A savepoint turns the unique(user_id) race of two concurrent starts into the same error.
        with ctx.db.begin_nested():
            ctx.db.add(Timer(account_id=ctx.account_id, user_id=ctx.user.id, task_id=task.id,
                             started_at=ctx.now()))
    except IntegrityError:
        raise ApiError(6, "Timer is already started") from None
    return render.ok()


def _running_timer(ctx: Ctx) -> Timer:
    """The caller's running timer, locked for a change; 7 Timer is not started when there is none."""
    access.require_write(ctx)
    row = _my_timer(ctx, lock=True)
    if row is None:
        raise timer_not_started()
    return row


@action("stop_my_timer", scope="costs_write", user_only=True)
def stop_my_timer(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Stop the caller's timer and save it with the optional comment."""
    row = _running_timer(ctx)
    save_timer(ctx, row, p.text("comment") or "")
    return render.ok()


@action("delete_my_timer", scope="costs_write", user_only=True)
def delete_my_timer(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Discard the caller's timer without saving anything."""
    row = _running_timer(ctx)
    ctx.db.delete(row)
    return render.ok()
