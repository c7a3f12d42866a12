"""Tasks and subtasks (PROTOCOL.md §4.3): the API adapters of domain.tasks (lists, one task, create, change,
complete, reopen). There is deliberately no deletion (§9.1).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from localsection import errors, render
from localsection.actions.files import attachments
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.api.streaming import ok_data_stream
from localsection.ctx import Ctx
from localsection.domain import given, tasks
from localsection.formats import parse_priority
from localsection.read.tasks import TEXT_EXTRAS
from localsection.render.tasks import plain_list, plain_task_objects, render_task, render_tasks


def list_extra(p: Params) -> set[str]:
    """`extra`, with the old `show_subtasks=1` spelling of extra=subtasks."""
    extra = p.extra()
    if p.flag("show_subtasks"):
        extra.add("subtasks")
    return extra


def active_only(p: Params) -> bool:
    """filter=active (old spelling: status=active)."""
    return (p.text("filter") or "").strip().lower() == "active" or (p.text("status") or "").strip() == "active"


def _priority(p: Params) -> int | None:
    return parse_priority(p.text("priority") or "") if p.has("priority") else None


# -- reads -------------------------------------------------------------------------------------------

@action("get_all_tasks", scope="tasks_read", threaded=True)
def get_all_tasks(ctx: Ctx, p: Params) -> dict[str, Any] | Response:
    """Top-level tasks of every visible project (archived projects only with extra=archive)."""
    extra = list_extra(p)
    return _top_level_list(ctx, p, extra, tasks.list_tasks(ctx, with_text=bool(extra & TEXT_EXTRAS),
                                                          archived="archive" in extra, active_only=active_only(p),
                                                          plain=plain_list(extra)))


@action("get_tasks", scope="tasks_read")
def get_tasks(ctx: Ctx, p: Params) -> dict[str, Any] | Response:
    """Top-level tasks of one project."""
    project_id = p.req_id("id_project", invalid=errors.project_invalid())
    extra = list_extra(p)
    return _top_level_list(ctx, p, extra, tasks.list_tasks(ctx, project_id=project_id,
                                                          with_text=bool(extra & TEXT_EXTRAS),
                                                          active_only=active_only(p), plain=plain_list(extra)))


def _top_level_list(ctx: Ctx, p: Params, extra: set[str],
                    found: list[Any] | tasks.TaskStream) -> dict[str, Any] | Response:
    """The task objects at once, or streamed chunk by chunk (memory stays flat) for a long list. Without extras
    the rows are driver rows, rendered in one pass (plain_task_objects)."""
    only_active = active_only(p)
    if plain_list(extra):
        if isinstance(found, tasks.TaskStream):
            return ok_data_stream(found.chunks(ctx, plain_task_objects))
        return render.ok_data(plain_task_objects(ctx, found))
    if isinstance(found, tasks.TaskStream):
        return ok_data_stream(found.chunks(ctx, lambda c, views: render_tasks(c, views, extra,
                                                                              active_only=only_active)))
    return render.ok_data(render_tasks(ctx, found, extra, active_only=only_active))


@action("get_task", scope="tasks_read")
def get_task(ctx: Ctx, p: Params) -> dict[str, Any]:
    """One task or subtask; `child` items reduced; filter=active applies to them."""
    task = tasks.get_task(ctx, task_id=p.req_id("id_task", invalid=errors.task_invalid()))
    return render.ok_data(render_task(ctx, task, list_extra(p), active_only=active_only(p)))


# -- writes ------------------------------------------------------------------------------------------

@action("post_task", scope="tasks_write", uploads=True, aliases=("post_subtask",))
def post_task(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Create a task, or a subtask with id_parent."""
    new = tasks.NewTask(
        project_id=p.req_id("id_project", invalid=errors.project_invalid()), title=p.text("title") or "",
        parent_id=p.id("id_parent", invalid=errors.task_invalid()), author_email=p.text("email_user_from"),
        executive=p.text("email_user_to"), text=p.text("text") or "", todo=p.multi("todo"), priority=_priority(p),
        date_start=p.date("datestart"), date_end=p.date("dateend"), max_time=p.decimal("max_time"),
        max_money=p.decimal("max_money"), subscribers=p.csv("subscribe"), hidden=p.csv("hidden"),
        mentions=p.csv("mention"), tags=p.csv("tags"), attachments=attachments(p))
    return render.ok_data(render_task(ctx, tasks.create_task(ctx, new), p.extra()))


@action("update_task", scope="tasks_write")
def update_task(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Change an open or done task; `tags` replaces the set. Records update/task when anything changed."""
    changes = tasks.TaskChanges(
        title=p.text("title"), executive=p.text("email_user_to"), priority=_priority(p),
        date_start=given(p.date("datestart")), date_end=given(p.date("dateend")), date_closed=p.date("dateclosed"),
        max_time=given(p.decimal("max_time")), max_money=given(p.decimal("max_money")),
        tags=p.csv("tags") if p.has("tags") else None)
    task = tasks.update_task(ctx, task_id=p.req_id("id_task", invalid=errors.task_invalid()), changes=changes)
    return render.ok_data(render_task(ctx, task, p.extra()))


@action("complete_task", scope="tasks_write")
def complete_task(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Mark done; refused when already done, with open subtasks, or without required costs."""
    task = tasks.complete_task(ctx, task_id=p.req_id("id_task", invalid=errors.task_invalid()))
    return render.ok_data(render_task(ctx, task, set()))


@action("reopen_task", scope="tasks_write")
def reopen_task(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Reopen a done task; a subtask of a done parent cannot be reopened. Status-only."""
    tasks.reopen_task(ctx, task_id=p.req_id("id_task", invalid=errors.task_invalid()))
    return render.ok()
