"""Timers (PROTOCOL.md §4.7, §2.6): one running timer per user; stopping one saves an is_timer cost row."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from localsection import access, errors
from localsection.ctx import Ctx
from localsection.domain.costs import rate_cents
from localsection.models import Cost, Task, Timer, User
from localsection.read.costs import elapsed_seconds
from localsection.render import task_page


def timer_minutes(seconds: int) -> int:
    """Elapsed seconds -> whole minutes, nearest minute (half up), at least one: a stopped timer always counts."""
    return max(1, (seconds + 30) // 60)


def save_timer(ctx: Ctx, timer: Timer, comment: str) -> Cost:
    """Turn a running timer into an is_timer cost row (dated the local start day, priced at the user's rate)."""
    task = ctx.db.get(Task, timer.task_id)
    user = ctx.db.get(User, timer.user_id)
    if task is None or user is None:  # pragma: no cover - tasks and users are never deleted
        raise errors.task_invalid()
    minutes = timer_minutes(elapsed_seconds(ctx, timer))
    row = Cost(account_id=ctx.account_id, project_id=task.project_id, task_id=task.id,
               top_task_id=task.top_id or task.id, user_id=user.id, minutes=minutes,
               money_cents=rate_cents(user, minutes), comment=comment, comment_folded=comment.casefold(),
               date=ctx.local(timer.started_at).date(), is_timer=True, created_at=ctx.now())
    ctx.db.add(row)
    ctx.db.delete(timer)
    ctx.db.flush()
    return row


# -- every user's timers (account administration) ----------------------------------------------------


def running_timers(ctx: Ctx) -> list[Timer]:
    """Every running timer of the account, oldest start first (admins only)."""
    access.require_admin(ctx)
    return list(ctx.db.scalars(select(Timer).where(Timer.account_id == ctx.account_id)
                               .order_by(Timer.started_at, Timer.id)))


def stop_timer(ctx: Ctx, *, timer_id: int) -> Cost:
    """Stop anyone's timer (admins only) and save its time as a cost row; 7 Timer not found."""
    access.require_admin(ctx)
    row = ctx.db.scalars(select(Timer).where(Timer.id == timer_id, Timer.account_id == ctx.account_id)
                         .with_for_update()).first()
    if row is None:
        raise errors.timer_not_found()
    return save_timer(ctx, row, "")


# -- the caller's own timer ------------------------------------------------------------------------


@dataclass(frozen=True)
class RunningTimer:
    """The caller's running timer as every page's header shows it: its task's page and the seconds it has run."""

    task_page: str
    seconds: int


def my_running_timer(ctx: Ctx) -> RunningTimer | None:
    """The caller's running timer with its task's page, in one indexed lookup (timers.user_id is unique; the
    task by its primary key). No task name: the badge links to the page, which checks access itself."""
    row = ctx.db.execute(select(Timer.started_at, Task.project_id, Task.id, Task.top_id)
                         .join(Task, Task.id == Timer.task_id)
                         .where(Timer.user_id == ctx.user.id, Timer.account_id == ctx.account_id)).first()
    if row is None:
        return None
    seconds = max(0, int((ctx.now() - row.started_at).total_seconds()))
    return RunningTimer(task_page(row.project_id, row.id, row.top_id), seconds)


def my_timer(ctx: Ctx, *, lock: bool = False) -> Timer | None:
    """The caller's timer; `lock` makes two concurrent stops on PostgreSQL save it once, not twice."""
    q = select(Timer).where(Timer.account_id == ctx.account_id, Timer.user_id == ctx.user.id)
    return ctx.db.scalars(q.with_for_update() if lock else q).first()


def start_my_timer(ctx: Ctx, *, task_id: int) -> Timer:
    """Start the caller's timer on a task they may change (5); one timer per user (6 Timer is already started)."""
    task = access.task(ctx, task_id, write=True)
    if my_timer(ctx) is not None:
        raise errors.timer_already_started()
    timer = Timer(account_id=ctx.account_id, user_id=ctx.user.id, task_id=task.id, started_at=ctx.now())
    try:
        # A savepoint turns the unique(user_id) race of two concurrent starts into the same error.
        with ctx.db.begin_nested():
            ctx.db.add(timer)
    except IntegrityError:
        raise errors.timer_already_started() from None
    return timer


def _running_timer(ctx: Ctx) -> Timer:
    """The caller's running timer, locked for a change; 7 Timer is not started when there is none."""
    access.require_write(ctx)
    row = my_timer(ctx, lock=True)
    if row is None:
        raise errors.timer_not_started()
    return row


def stop_my_timer(ctx: Ctx, *, comment: str = "") -> Cost:
    """Stop the caller's timer and save it (with the comment) as a cost row."""
    return save_timer(ctx, _running_timer(ctx), comment)


def delete_my_timer(ctx: Ctx) -> None:
    """Discard the caller's timer without saving anything."""
    ctx.db.delete(_running_timer(ctx))
