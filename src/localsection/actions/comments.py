"""Comments (PROTOCOL.md §4.4). There is deliberately no editing or deletion through the API."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import insert, select

from localsection import access, errors, events, render
from localsection import files as file_store
from localsection.actions.files import attachments
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.db import ids_in, plain, prepared_insert
from localsection.domain.tasks import page_of
from localsection.models import Comment, CommentVisibility, StoredFile, User
from localsection.render import comments as rc

INTERNAL_FLAGS = frozenset({"1", "true"})
_INSERT_COMMENT = prepared_insert(Comment, ["account_id", "task_id", "text", "todo", "mentions", "user_from_id",
                                            "hidden", "internal", "date_added"])


def _comment_files(ctx: Ctx, comment_ids: list[int]) -> dict[int, list[StoredFile]]:
    out: dict[int, list[StoredFile]] = defaultdict(list)
    if not comment_ids:
        return out
    q = (select(StoredFile).where(ids_in(ctx.db, StoredFile.comment_id, comment_ids),
                                  StoredFile.account_id == ctx.account_id).order_by(StoredFile.id))
    for f in ctx.db.scalars(q):
        assert f.comment_id is not None
        out[f.comment_id].append(f)
    return out


def _users_of(ctx: Ctx, comments: list[Comment]) -> dict[int, User]:
    ids = {c.user_from_id for c in comments}
    ids |= {int(i) for c in comments for i in (c.mentions or []) if str(i).isdigit()}
    if not ids:
        return {}
    return {u.id: u for u in ctx.db.scalars(select(User).where(User.account_id == ctx.account_id,
                                                              ids_in(ctx.db, User.id, ids)))}


@action("get_comments", scope="comments_read")
def get_comments(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Visible comments of a task, newest first; `files` with extra=files."""
    task = access.task_snapshot(ctx, p.req_id("id_task", invalid=errors.task_invalid()))
    rows = list(ctx.db.scalars(select(Comment).where(Comment.task_id == task.id, access.comment_filter(ctx))
                               .order_by(Comment.date_added.desc(), Comment.id.desc())))
    users = _users_of(ctx, rows)
    files = _comment_files(ctx, [c.id for c in rows]) if "files" in p.extra() else {}
    page = page_of(task)
    return render.ok_data([rc.comment(ctx, c, page, users, files.get(c.id)) for c in rows])


def _visibility(ctx: Ctx, p: Params) -> tuple[bool, list[User]]:
    """`hidden`: 1/true = internal (hidden from client teams), else the e-mails allowed to see it."""
    raw = (p.text("hidden") or "").strip()
    if raw.lower() in INTERNAL_FLAGS:
        return True, []
    return False, access.users_by_emails(ctx, p.csv("hidden"))


@action("post_comment", scope="comments_write", uploads=True)
def post_comment(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Add a comment (text and/or checklist); hidden, internal and mentions as §4.4."""
    task = access.task_snapshot(ctx, p.req_id("id_task", invalid=errors.task_invalid()), write=True)
    text = (p.text("text") or "").strip()
    todo = p.multi("todo")
    if not text and not todo:
        raise errors.required("text or todo")
    author = access.author(ctx, p.text("email_user_from"))
    internal, allowed = _visibility(ctx, p)
    mentioned = access.users_by_emails(ctx, p.csv("mention"))
    values = {"account_id": ctx.account_id, "task_id": task.id, "text": text, "todo": todo,
              "mentions": [u.id for u in mentioned], "user_from_id": author.id, "hidden": bool(allowed),
              "internal": internal, "date_added": ctx.now()}
    # A Core insert: the ORM unit of work cost more than the INSERT itself, inside the write lock. The
    # transient Comment only carries the values to the renderer.
    c = plain(Comment, {"id": _INSERT_COMMENT.all(ctx.db, values)[0][0], **values})
    if allowed:
        ctx.db.execute(insert(CommentVisibility), [{"comment_id": c.id, "user_id": u.id} for u in allowed])
    file_store.attach(ctx, attachments(p), author=author, project_id=task.project_id, task_id=task.id,
                      comment_id=c.id)
    users = {u.id: u for u in [author, *mentioned]}
    page = page_of(task)
    events.record(ctx, "post", "comment", c.id, page, task.project_id,
                  new={"text": rc.compose_text(c.text, todo, mentioned)}, actor_id=author.id)
    return render.ok_data(rc.comment(ctx, c, page, users))
