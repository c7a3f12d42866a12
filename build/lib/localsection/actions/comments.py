"""Comments (PROTOCOL.md §4.4): the API adapters of domain.comments. No editing or deletion through the API."""

from __future__ import annotations

from typing import Any

from localsection import errors, render
from localsection.actions.files import attachments
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.domain import comments
from localsection.domain.tasks import page_of
from localsection.formats import truthy
from localsection.render import comments as render_comments


@action("get_comments", scope="comments_read")
def get_comments(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Visible comments of a task, newest first; `files` with extra=files."""
    found = comments.list_comments(ctx, task_id=p.req_id("id_task", invalid=errors.task_invalid()),
                                   with_files="files" in p.extra())
    page = page_of(found.task)
    return render.ok_data([render_comments.comment(ctx, c, page, found.users, found.files.get(c.id))
                           for c in found.comments])


@action("post_comment", scope="comments_write", uploads=True)
def post_comment(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Add a comment (text and/or checklist); hidden, internal and mentions as §4.4."""
    # `hidden`: 1/true = internal (hidden from client teams), else the e-mails allowed to see it.
    internal = truthy(p.text("hidden") or "")
    posted = comments.post_comment(ctx, comments.NewComment(
        task_id=p.req_id("id_task", invalid=errors.task_invalid()), text=p.text("text") or "", todo=p.multi("todo"),
        author_email=p.text("email_user_from"), internal=internal, visible_to=[] if internal else p.csv("hidden"),
        mentions=p.csv("mention"), attachments=attachments(p)))
    return render.ok_data(render_comments.comment(ctx, posted.comment, page_of(posted.task), posted.users))
