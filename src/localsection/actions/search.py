"""search_tasks (PROTOCOL.md §4.3, §5): the API adapter of domain.tasks.search_tasks."""

from __future__ import annotations

from typing import Any

from localsection import errors, render
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.domain import tasks
from localsection.read.tasks import TEXT_EXTRAS
from localsection.render.tasks import plain_task_objects, render_tasks

SEARCH_EXTRAS = frozenset({"text", "html", "files"})


@action("search_tasks", scope="tasks_read", threaded=True)
def search_tasks(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Tasks and subtasks (with `parent`) matching all given conditions; archived projects need a project scope."""
    if not any(p.has(name) for name in tasks.SEARCH_SCOPE):
        raise errors.one_of_required(", ".join(tasks.SEARCH_SCOPE))
    search = tasks.TaskSearch(filter=p.text("filter"), project_id=p.id("id_project", invalid=errors.project_invalid()),
                              task_id=p.id("id_task", invalid=errors.task_invalid()),
                              author_email=p.text("email_user_from"), executive_email=p.text("email_user_to"),
                              status=p.text("status"))
    extra = p.extra() & SEARCH_EXTRAS
    if not extra:  # task objects without extras: driver rows rendered in one pass
        return render.ok_data(plain_task_objects(ctx, tasks.search_tasks(ctx, search, plain=True), with_parent=True))
    rows = tasks.search_tasks(ctx, search, with_text=bool(extra & TEXT_EXTRAS))
    return render.ok_data(render_tasks(ctx, rows, extra, with_parent=True))
