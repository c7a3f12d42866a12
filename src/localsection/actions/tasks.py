"""Tasks and subtasks (PROTOCOL.md §4.3): lists, one task, create, change, complete, reopen.

There is deliberately no deletion (§9.1).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from array import array
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, insert, or_, select
from sqlalchemy.orm import aliased
from starlette.responses import Response

from localsection import access, errors, events, files, render, tagging
from localsection.actions.files import attachments
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.api.streaming import ok_data_stream
from localsection.ctx import Ctx
from localsection.formats import parse_priority
from localsection.models import Cost, Project, Task, TaskSubscriber, TaskVisibility, User
from localsection.read.tasks import TEXT_EXTRAS, TaskView, fetch_views, select_views
from localsection.render import date as fmt_date
from localsection.render import task_page
from localsection.render.members import ANY_EXECUTIVE, NOONE_EXECUTIVE, user_ref
from localsection.render.tasks import render_task, render_tasks, task_text

MAX_DEPTH = 2  # task / subtask / sub-subtask
# get_all_tasks / get_tasks above this many tasks are streamed, STREAM_CHUNK tasks per read transaction, so memory
# stays flat however long the list (issue 7); smaller lists are rendered at once, in one transaction.
STREAM_ABOVE = 2000
STREAM_CHUNK = 1000


# -- shared helpers (also used by search_tasks) ----------------------------------------------------

def list_extra(p: Params) -> set[str]:
    """`extra`, with the old `show_subtasks=1` spelling of extra=subtasks."""
    extra = p.extra()
    if p.flag("show_subtasks"):
        extra.add("subtasks")
    return extra


def active_only(p: Params) -> bool:
    """filter=active (old spelling: status=active)."""
    return (p.text("filter") or "").strip().lower() == "active" or (p.text("status") or "").strip() == "active"


def capped(ctx: Ctx, query: Select[Any]) -> list[TaskView]:
    """Run a select_views() query; above Settings.record_cap rows (when > 0) -> Too many tasks."""
    cap = ctx.settings.record_cap
    if cap > 0:
        rows = fetch_views(ctx, query.limit(cap + 1))
        if len(rows) > cap:
            raise errors.too_many(cap)
        return rows
    return fetch_views(ctx, query)


def not_archived(query: Select[Any]) -> Select[Any]:
    """Only tasks of projects that are not archived (an alias, so visibility subqueries keep correlating)."""
    proj = aliased(Project)
    return query.join(proj, proj.id == Task.project_id).where(proj.status != "archive")


def page_of(t: Task) -> str:
    return task_page(t.project_id, t.id, t.top_id)


def executive_ref(ctx: Ctx, user_id: int | None, anyone: bool) -> dict[str, str]:
    """The user_to reference of an (id, ANY flag) pair, for event payloads."""
    if anyone:
        return ANY_EXECUTIVE
    if user_id is None:
        return NOONE_EXECUTIVE
    user = ctx.db.get(User, user_id)
    return user_ref(user) if user else NOONE_EXECUTIVE


def parse_executive(ctx: Ctx, email: str) -> tuple[int | None, bool]:
    """email_user_to: an account user, ANY or NOONE -> (user id, anyone flag)."""
    value = email.strip()
    if value.upper() == "ANY":
        return None, True
    if value.upper() == "NOONE":
        return None, False
    return access.user_by_email(ctx, value).id, False


def default_executive(project: Project) -> tuple[int | None, bool]:
    """The project's default executive of new tasks (NOONE when unset)."""
    if project.executive_any:
        return None, True
    return project.executive_id, False


def _iso(value: dt.date | None) -> str:
    return fmt_date(value) if value is not None else ""


def _num(value: Decimal | None) -> int | float | str:
    n = render.number(value)
    return "" if n is None else n


# -- reads -------------------------------------------------------------------------------------------

@action("get_all_tasks", scope="tasks_read", threaded=True)
def get_all_tasks(ctx: Ctx, p: Params) -> dict[str, Any] | Response:
    """Top-level tasks of every visible project (archived projects only with extra=archive)."""
    q = select_views(_wants_text(p)).where(access.visible_task_filter(ctx), Task.parent_id.is_(None))
    if "archive" not in list_extra(p):
        q = not_archived(q)
    return _top_level_list(ctx, p, q)


@action("get_tasks", scope="tasks_read")
def get_tasks(ctx: Ctx, p: Params) -> dict[str, Any] | Response:
    """Top-level tasks of one project."""
    project = access.project(ctx, p.req_id("id_project", invalid=errors.project_invalid()))
    q = select_views(_wants_text(p)).where(Task.project_id == project.id, Task.parent_id.is_(None),
                                           access.task_filter(ctx))
    return _top_level_list(ctx, p, q)


def _wants_text(p: Params) -> bool:
    return bool(list_extra(p) & TEXT_EXTRAS)


def _top_level_list(ctx: Ctx, p: Params, q: Any) -> dict[str, Any] | Response:
    """Render the tasks `q` selects (open ones only with filter=active), capped, in id order.

    Up to STREAM_ABOVE tasks are rendered at once; a longer list is streamed (see _stream_tasks). The record
    cap is decided here, inside the action's transaction, before any byte is sent.
    """
    only_active = active_only(p)
    if only_active:
        q = q.where(Task.status == "active")
    q = q.order_by(Task.id)
    extra = list_extra(p)
    cap = ctx.settings.record_cap
    at_once = STREAM_ABOVE if cap <= 0 else min(cap, STREAM_ABOVE)
    rows = fetch_views(ctx, q.limit(at_once + 1))
    if len(rows) <= at_once:
        return render.ok_data(render_tasks(ctx, rows, extra, active_only=only_active))
    if 0 < cap <= at_once:
        raise errors.too_many(cap)
    head = rows[:at_once]
    # The rest as bare ids (8 bytes each): rendered later, chunk by chunk.
    rest_q = q.with_only_columns(Task.id).where(Task.id > head[-1].id)
    if cap > 0:
        rest_q = rest_q.limit(cap - len(head) + 1)
    rest = array("q", ctx.db.scalars(rest_q))
    if cap > 0 and len(head) + len(rest) > cap:
        raise errors.too_many(cap)
    return ok_data_stream(_stream_tasks(ctx, q, head, rest, extra, only_active))


def _stream_tasks(ctx: Ctx, q: Any, head: list[TaskView], rest: array[int], extra: set[str],
                  only_active: bool) -> Iterator[list[dict[str, Any]]]:
    """Task objects STREAM_CHUNK at a time, each chunk read in its own short transaction (the action's is over).

    `head` rows are already loaded; the `rest` ids are loaded again through `q`, so its filters hold for the
    rows as they are now: a task that no longer matches between chunks is left out, never shown in error.
    """
    for start in range(0, len(head) + len(rest), STREAM_CHUNK):
        views = head[start:start + STREAM_CHUNK]
        ids = list(rest[max(0, start - len(head)):max(0, start + STREAM_CHUNK - len(head))])
        with ctx.session(write=False) as db:
            cctx = dataclasses.replace(ctx, db=db)
            if ids:
                # A primary-key range scan, then only the ids counted when the cap was decided (a task that
                # became visible since is not added): cheaper than a 1,000-id IN list.
                wanted = set(ids)
                views += [t for t in fetch_views(cctx, q.where(Task.id.between(ids[0], ids[-1])))
                          if t.id in wanted]
            items = render_tasks(cctx, views, extra, active_only=only_active)
        yield items  # outside the transaction: no connection is held while the client reads


@action("get_task", scope="tasks_read")
def get_task(ctx: Ctx, p: Params) -> dict[str, Any]:
    """One task or subtask; `child` items reduced; filter=active applies to them."""
    task = access.task_snapshot(ctx, p.req_id("id_task", invalid=errors.task_invalid()))
    return render.ok_data(render_task(ctx, task, list_extra(p), active_only=active_only(p)))


# -- create ------------------------------------------------------------------------------------------

def _parent(ctx: Ctx, p: Params, project: Project) -> Task | None:
    """The parent of a new subtask: same project, at most two levels deep, not done."""
    parent_id = p.id("id_parent", invalid=errors.task_invalid())
    if parent_id is None:
        return None
    parent = access.task_snapshot(ctx, parent_id)
    if parent.project_id != project.id or parent.depth >= MAX_DEPTH:
        raise errors.task_invalid()
    if parent.status == "done":
        raise errors.ApiError(8, "Task is closed")
    return parent


@action("post_task", scope="tasks_write", uploads=True, aliases=("post_subtask",))
def post_task(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Create a task, or a subtask with id_parent."""
    project = access.project(ctx, p.req_id("id_project", invalid=errors.project_invalid()), write=True)
    title = p.req_text("title").strip()
    if not title:
        raise errors.required("title")
    parent = _parent(ctx, p, project)
    author = access.author(ctx, p.text("email_user_from"))
    to = p.text("email_user_to")
    user_to_id, anyone = parse_executive(ctx, to) if to else default_executive(project)
    subscribers = access.users_by_emails(ctx, p.csv("subscribe"))
    hidden = access.users_by_emails(ctx, p.csv("hidden"))
    mentioned = access.users_by_emails(ctx, p.csv("mention"))
    tags = tagging.resolve(ctx, "task", p.csv("tags"))
    task = Task(account_id=ctx.account_id, project_id=project.id, parent_id=parent.id if parent else None,
                top_id=(parent.top_id or parent.id) if parent else None, depth=parent.depth + 1 if parent else 0,
                name=title, name_folded=title.casefold(), text=p.text("text") or "", todo=p.multi("todo"),
                mentions=[u.id for u in mentioned], status="active",
                priority=parse_priority(p.text("priority") or "1"), user_from_id=author.id,
                user_to_id=user_to_id, user_to_any=anyone, hidden=bool(hidden), date_added=ctx.now(),
                date_start=p.date("datestart"), date_end=p.date("dateend"),
                max_time=p.decimal("max_time"), max_money=p.decimal("max_money"))
    ctx.db.add(task)
    ctx.db.flush()
    _link_users(ctx, task.id, TaskVisibility, hidden)
    _link_users(ctx, task.id, TaskSubscriber, subscribers)
    _, tag_map = tagging.change(ctx, "task", task.id, tags, [], replace=True)
    files.attach(ctx, attachments(p), author=author, project_id=project.id, task_id=task.id)
    events.record(ctx, "post", "task", task.id, page_of(task), project.id,
                  new=_created_fields(ctx, p, task, tag_map, mentioned), actor_id=author.id)
    return render.ok_data(render_task(ctx, task, p.extra()))


def _link_users(ctx: Ctx, task_id: int, model: type[TaskVisibility] | type[TaskSubscriber],
                users: list[User]) -> None:
    if users:
        ctx.db.execute(insert(model), [{"task_id": task_id, "user_id": u.id} for u in users])


def _created_fields(ctx: Ctx, p: Params, t: Task, tags: dict[str, str], mentioned: list[User]) -> dict[str, Any]:
    """`new` of a post/task event: the fields given at creation."""
    new: dict[str, Any] = {"title": t.name}
    if p.has("priority"):
        new["priority"] = str(t.priority)
    if p.has("email_user_to"):
        new["user_to"] = executive_ref(ctx, t.user_to_id, t.user_to_any)
    if t.text or t.todo or t.mentions:
        new["text"] = task_text(t, {u.id: u for u in mentioned})
    if t.date_start is not None:
        new["date_start"] = _iso(t.date_start)
    if t.date_end is not None:
        new["date_end"] = _iso(t.date_end)
    if t.max_time is not None:
        new["max_time"] = _num(t.max_time)
    if t.max_money is not None:
        new["max_money"] = _num(t.max_money)
    if tags:
        new["tags"] = tags
    return new


# -- change ------------------------------------------------------------------------------------------

class _Changes:
    """Collects (new, old) pairs of changed fields for the update/task event."""

    def __init__(self) -> None:
        self.new: dict[str, Any] = {}
        self.old: dict[str, Any] = {}

    def add(self, key: str, old: Any, new: Any) -> None:
        if old != new:
            self.old[key] = old
            self.new[key] = new


def _closed_at(ctx: Ctx, task: Task, day: dt.date) -> dt.datetime:
    """The naive-UTC close timestamp for a local calendar day (keeping the local time of day)."""
    local_time = ctx.local(task.date_closed).time() if task.date_closed else dt.time(0, 0)
    local = dt.datetime.combine(day, local_time).replace(tzinfo=ctx.tz)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _apply_changes(ctx: Ctx, p: Params, task: Task) -> _Changes:
    """Validate every given field first, then change the row; returns the changed fields.

    Only the fields of PROTOCOL.md §4.3 update_task are read. email_user_from, text, todo, subscribe and hidden
    are "unavailable for editing" (FAQ): the real service ignores them without an error, and so do we.
    """
    title = p.text("title")
    to = p.text("email_user_to")
    executive = parse_executive(ctx, to) if to else None
    priority = parse_priority(p.text("priority") or "") if p.has("priority") else None
    start, end, closed = p.date("datestart"), p.date("dateend"), p.date("dateclosed")
    max_time, max_money = p.decimal("max_time"), p.decimal("max_money")
    tags = tagging.resolve(ctx, "task", p.csv("tags")) if p.has("tags") else None
    ch = _Changes()
    if title is not None and title.strip():
        ch.add("title", task.name, title.strip())
        task.name, task.name_folded = title.strip(), title.strip().casefold()
    if executive is not None and executive != (task.user_to_id, task.user_to_any):
        ch.add("user_to", executive_ref(ctx, task.user_to_id, task.user_to_any), executive_ref(ctx, *executive))
        task.user_to_id, task.user_to_any = executive
    if priority is not None:
        ch.add("priority", str(task.priority), str(priority))
        task.priority = priority
    if start is not None:
        ch.add("date_start", _iso(task.date_start), _iso(start))
        task.date_start = start
    if end is not None:
        ch.add("date_end", _iso(task.date_end), _iso(end))
        task.date_end = end
    if closed is not None and task.status == "done":
        when = _closed_at(ctx, task, closed)
        old_closed = render.datetime_min(ctx.local(task.date_closed)) if task.date_closed else ""
        ch.add("date_closed", old_closed, render.datetime_min(ctx.local(when)))
        task.date_closed = when
    if max_time is not None:
        ch.add("max_time", _num(task.max_time), _num(max_time))
        task.max_time = max_time
    if max_money is not None:
        ch.add("max_money", _num(task.max_money), _num(max_money))
        task.max_money = max_money
    if tags is not None:
        old_tags, new_tags = tagging.change(ctx, "task", task.id, tags, [], replace=True)
        ch.add("tags", old_tags, new_tags)
    return ch


@action("update_task", scope="tasks_write")
def update_task(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Change an open or done task; `tags` replaces the set. Records update/task when anything changed.

    The description, checklist, author, subscribers and visibility are not editable here (see _apply_changes).
    """
    task = access.task(ctx, p.req_id("id_task", invalid=errors.task_invalid()), write=True)
    changes = _apply_changes(ctx, p, task)
    ctx.db.flush()
    if changes.new:
        events.record(ctx, "update", "task", task.id, page_of(task), task.project_id,
                      new=changes.new, old=changes.old)
    return render.ok_data(render_task(ctx, task, p.extra()))


# -- complete / reopen -------------------------------------------------------------------------------

def _has_open_children(ctx: Ctx, task: Task) -> bool:
    q = select(func.count()).select_from(Task).where(
        Task.account_id == ctx.account_id, or_(Task.parent_id == task.id, Task.top_id == task.id),
        Task.status == "active")
    return bool(ctx.db.scalar(q))


def _costs_required(ctx: Ctx, task: Task) -> bool:
    """Project option time_require=1 and the task has no cost rows yet."""
    project = ctx.db.get(Project, task.project_id)
    if project is None or str((project.options or {}).get("time_require", 0)) not in ("1", "True", "true"):
        return False
    return ctx.db.scalar(select(Cost.id).where(Cost.task_id == task.id).limit(1)) is None


@action("complete_task", scope="tasks_write")
def complete_task(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Mark done; refused when already done, with open subtasks, or without required costs."""
    task = access.task(ctx, p.req_id("id_task", invalid=errors.task_invalid()), write=True)
    if task.status == "done":
        raise errors.ApiError(12, "Task is already closed")
    if _has_open_children(ctx, task):
        raise errors.ApiError(13, "Task has children")
    if _costs_required(ctx, task):
        raise errors.invalid_value("Costs are required")
    task.status, task.date_closed = "done", ctx.now()
    ctx.db.flush()
    events.record(ctx, "close", "task", task.id, page_of(task), task.project_id)
    return render.ok_data(render_task(ctx, task, set()))


@action("reopen_task", scope="tasks_write")
def reopen_task(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Reopen a done task; a subtask of a done parent cannot be reopened. Status-only."""
    task = access.task(ctx, p.req_id("id_task", invalid=errors.task_invalid()), write=True)
    if task.status != "done":
        raise errors.ApiError(12, "Task is already active")
    if task.parent_id is not None:
        parent = ctx.db.get(Task, task.parent_id)
        if parent is not None and parent.status == "done":
            raise errors.ApiError(14, "Parent task is done")
    task.status, task.date_closed = "active", None
    ctx.db.flush()
    events.record(ctx, "reopen", "task", task.id, page_of(task), task.project_id)
    return render.ok()
