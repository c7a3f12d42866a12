"""The board of a project (`/project/<pid>/board`): open top-level tasks in columns by their tag of a status
group, and `/project/<pid>/<tid>/move` (POST) that changes a task's status tag (drag and drop in board.js, or the
"Move to" select on each card without a mouse or JavaScript)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from localsection.domain import task_browse
from localsection.errors import ApiError
from localsection.render import task_page
from localsection.webapp.handlers import FormError, Page, local_next, redirect_after_post, webpage
from localsection.webapp.tasks import can_write, executive_name, label, url_task


def _int(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 19 else None


@webpage()
def board(page: Page) -> Response:
    pid = int(page.request.path_params["pid"])
    group_id = _int(page.request.query_params.get("group"))
    try:
        result = task_browse.board(page.ctx, project_id=pid, group_id=group_id)
    except ApiError:
        return page.not_found()
    here = f"/project/{pid}/board" + (f"?group={result.group.id}" if result.group and group_id else "")
    columns = [(c, label(page, c.tag.title) if c.tag else page._("No status"), str(c.tag.id) if c.tag else "")
               for c in result.columns]
    texts = {"executive": page._("Executive"), "dates": page._("Dates"), "priority": page._("Priority"),
             "move_to": page._("Move to"), "move": page._("Move"), "csrf": page.csrf_token()}
    context: dict[str, Any] = {"board": result, "project": result.project, "label": label, "can_write": can_write(page),
                               "executive": lambda t: executive_name(page, t, result.users), "task_page": task_page,
                               "here": here, "columns": columns, "t_": texts, "root": page.root}
    if page.request.query_params.get("fragment") == "columns":
        return page.render("tasks_board_columns.html", **context)
    return page.render("tasks_board.html", **context)


@webpage()
def move(page: Page) -> Response:
    """POST group=<status group id>, tag=<tag id or empty for no status>, next=<where to go back>."""
    pid, tid = int(page.request.path_params["pid"]), int(page.request.path_params["tid"])
    back = local_next(page.form.get("next", "")) or f"/project/{pid}/board"
    task = url_task(page, pid, tid)
    if task is None:
        return page.not_found()
    if not page.is_post:  # the POST failed
        return page.render("error.html", 400, title=page._("Something is not right"), message=page.error,
                           link=(back, page._("Back to the board")))
    group_id = _int(page.form.get("group"))
    raw_tag = page.form.get("tag", "")
    tag_id = _int(raw_tag)
    if group_id is None or (raw_tag and tag_id is None):
        raise FormError("Choose a column.")
    task_browse.move(page.ctx, task_id=task.id, group_id=group_id, tag_id=tag_id)
    if not page.form.get("quiet"):  # board.js moves without a page load: no message for the next one
        page.flash(page._("Task moved."))
    return redirect_after_post(page, back)
