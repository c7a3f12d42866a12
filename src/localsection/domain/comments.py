"""Comments (PROTOCOL.md §4.4). The API can only add them; the web app also edits and deletes them (the
`update_comment` / `delete_comment` webhook events, §7.1)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select

from localsection import access, errors, events, files
from localsection.ctx import Ctx
from localsection.db import ids_in, plain, prepared_insert
from localsection.domain.tasks import page_of
from localsection.formats import truthy
from localsection.models import Comment, CommentVisibility, Project, StoredFile, Task, User
from localsection.render.comments import compose_text, mentioned_users

_INSERT_COMMENT = prepared_insert(Comment, ["account_id", "task_id", "text", "todo", "mentions", "user_from_id",
                                            "hidden", "internal", "date_added"])


@dataclass(frozen=True)
class TaskComments:
    """Comments of one task as the caller sees them, newest first, with what they refer to."""

    task: Task
    comments: list[Comment]
    users: dict[int, User]  # authors and mentioned users
    files: dict[int, list[StoredFile]] = field(default_factory=dict)  # by comment id (with_files only)


@dataclass(frozen=True)
class NewComment:
    """What post_comment adds. E-mails are resolved (and checked) by post_comment."""

    task_id: int
    text: str = ""
    todo: Sequence[str] = ()  # text and todo may not both be empty
    author_email: str | None = None  # honoured for the admin key only; else the caller is the author
    internal: bool = False  # hidden from guests and client teams
    visible_to: Sequence[str] = ()  # e-mails: only they (besides the author and admins) see it
    mentions: Sequence[str] = ()  # e-mails
    attachments: files.Attachments = files.NO_FILES


@dataclass(frozen=True)
class PostedComment:
    comment: Comment  # transient: carries the stored values
    task: Task
    users: dict[int, User]  # the author and the mentioned users


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


def list_comments(ctx: Ctx, *, task_id: int, with_files: bool = False) -> TaskComments:
    """The comments of a visible task the caller may see, newest first (5 Task is invalid otherwise)."""
    task = access.task_snapshot(ctx, task_id)
    rows = list(ctx.db.scalars(select(Comment).where(Comment.task_id == task.id, access.comment_filter(ctx))
                               .order_by(Comment.date_added.desc(), Comment.id.desc())))
    users = _users_of(ctx, rows)
    return TaskComments(task, rows, users, _comment_files(ctx, [c.id for c in rows]) if with_files else {})


def post_comment(ctx: Ctx, new: NewComment) -> PostedComment:
    """Add a comment to a task the caller may change; records post/comment."""
    task = access.task_snapshot(ctx, new.task_id, write=True)
    text = new.text.strip()
    todo = list(new.todo)
    if not text and not todo:
        raise errors.required("text or todo")
    author = access.author(ctx, new.author_email)
    allowed = [] if new.internal else access.users_by_emails(ctx, list(new.visible_to))
    mentioned = access.users_by_emails(ctx, list(new.mentions))
    values = {"account_id": ctx.account_id, "task_id": task.id, "text": text, "todo": todo,
              "mentions": [u.id for u in mentioned], "user_from_id": author.id, "hidden": bool(allowed),
              "internal": new.internal, "date_added": ctx.now()}
    new_text = {"text": compose_text(text, todo, mentioned)}
    if not allowed and not mentioned and not new.attachments.parts and not new.attachments.upload_ids:
        # Nothing but the comment and its event to write, unless someone listens: one statement (PostgreSQL).
        alone = events.insert_alone(ctx, Comment, values, action="post", object_type="comment",
                                    page=page_of(task), project_id=task.project_id, task_id=task.id,
                                    new=new_text, actor_id=author.id)
        if alone is not None:
            return PostedComment(plain(Comment, {"id": alone[0], **values}), task, {author.id: author})
    # A Core insert: the ORM unit of work cost more than the INSERT itself, inside the write lock. The
    # transient Comment only carries the values to the renderer.
    c = plain(Comment, {"id": _INSERT_COMMENT.all(ctx.db, values)[0][0], **values})
    if allowed:
        ctx.db.execute(insert(CommentVisibility), [{"comment_id": c.id, "user_id": u.id} for u in allowed])
    files.attach(ctx, new.attachments, author=author, project_id=task.project_id, task_id=task.id,
                 comment_id=c.id)
    events.record(ctx, "post", "comment", c.id, page_of(task), task.project_id, new=new_text, actor_id=author.id,
                  task=task, comment_mentions=[u.id for u in mentioned])
    return PostedComment(c, task, {u.id: u for u in [author, *mentioned]})


# -- editing and deleting (the web app; the API has neither, PROTOCOL.md §9.1) ------------------------------


def _project_denies_edits(ctx: Ctx, project_id: int) -> bool:
    options = ctx.db.scalars(select(Project.options).where(Project.id == project_id)).first()
    return truthy(dict(options or {}).get("deny_comments_edit", 0))


def may_change_comment(ctx: Ctx, comment: Comment, *, project_id: int) -> bool:
    """Admins may edit and delete any comment; other writers only their own, unless the project's
    `options.deny_comments_edit` forbids it (PROTOCOL.md §4.2)."""
    if access.is_admin(ctx):
        return True
    if ctx.user.role in access.READ_ONLY_ROLES or comment.user_from_id != ctx.user.id:
        return False
    return not _project_denies_edits(ctx, project_id)


def _changeable(ctx: Ctx, comment_id: int) -> tuple[Comment, Task]:
    """The comment (locked) and its task, if the caller sees both and may change the comment; else
    4 Comment not found (also for comments hidden from the caller) or 20 Access denied."""
    access.require_write(ctx)
    q = select(Comment).where(Comment.id == comment_id, Comment.account_id == ctx.account_id,
                              access.comment_filter(ctx))
    comment = ctx.db.scalars(q.with_for_update(of=Comment)).first()
    if comment is None:
        raise errors.comment_not_found()
    try:
        task = access.task_snapshot(ctx, comment.task_id, write=True)
    except errors.ApiError:
        raise errors.comment_not_found() from None
    if not may_change_comment(ctx, comment, project_id=task.project_id):
        raise errors.access_denied("author")
    return comment, task


def _shown_text(ctx: Ctx, comment: Comment) -> str:
    mentioned = mentioned_users(comment.mentions or [], _users_of(ctx, [comment]))
    return compose_text(comment.text, comment.todo or [], mentioned)


def update_comment(ctx: Ctx, *, comment_id: int, text: str) -> Comment:
    """Change the text of a comment the caller may change; records update/comment ({text} new and old)."""
    comment, task = _changeable(ctx, comment_id)
    new_text = text.strip()
    if not new_text and not comment.todo:
        raise errors.required("text")
    if new_text == comment.text:
        return comment
    old = _shown_text(ctx, comment)
    comment.text = new_text
    ctx.db.flush()
    events.record(ctx, "update", "comment", comment.id, page_of(task), task.project_id,
                  new={"text": _shown_text(ctx, comment)}, old={"text": old})
    return comment


def delete_comment(ctx: Ctx, *, comment_id: int) -> None:
    """Delete a comment the caller may change, with its files (their blobs go with the next sweep);
    records delete/comment."""
    comment, task = _changeable(ctx, comment_id)
    # Recorded first: the webhooks it goes to are chosen while the comment's visibility can still be checked, so
    # the deletion of a hidden comment reaches only those who could see it.
    events.record(ctx, "delete", "comment", comment_id, page_of(task), task.project_id)
    ctx.db.execute(delete(CommentVisibility).where(CommentVisibility.comment_id == comment.id))
    ctx.db.execute(delete(StoredFile).where(StoredFile.comment_id == comment.id,
                                            StoredFile.account_id == ctx.account_id))
    ctx.db.delete(comment)
    ctx.db.flush()
