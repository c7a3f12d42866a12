"""File shapes: get_files items and the `files` lists of tasks and comments (PROTOCOL.md §3.3, §6)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from localsection import access
from localsection.ctx import Ctx
from localsection.files import Upload
from localsection.models import StoredFile, User
from localsection.render import datetime_min, sid
from localsection.render.members import user_ref


def file_page(file_id: int) -> str:
    return f"/download/{file_id}/"


def listed_file(ctx: Ctx, row: StoredFile, users: dict[int, User]) -> dict[str, Any]:
    """{id, page, name, size, date_added, user_from} of get_files."""
    out: dict[str, Any] = {"id": sid(row.id), "page": file_page(row.id), "name": row.name, "size": str(row.size),
                           "date_added": datetime_min(ctx.local(row.date_added))}
    user = users.get(row.user_from_id)
    if user is not None:
        out["user_from"] = user_ref(user)
    return out


def listed_files(ctx: Ctx, rows: Iterable[StoredFile]) -> list[dict[str, Any]]:
    rows = list(rows)
    users = access.users_by_id(ctx.db, ctx.account_id, {r.user_from_id for r in rows})
    return [listed_file(ctx, r, users) for r in rows]


def upload_item(u: Upload) -> dict[str, str]:
    """{id, ext, name[, error]} of upload_files (id "" when refused)."""
    out = {"id": u.token, "ext": u.ext, "name": u.name}
    if u.error is not None:
        out["error"] = u.error
    return out


def task_file(row: StoredFile) -> dict[str, str]:
    """{id, page, name, size} inside a task's `files` (extra=files)."""
    return {"id": sid(row.id), "page": file_page(row.id), "name": row.name, "size": str(row.size)}


def comment_file(row: StoredFile) -> dict[str, str]:
    """{id, size, name, page} inside a comment's `files` (PM key order)."""
    return {"id": sid(row.id), "size": str(row.size), "name": row.name, "page": file_page(row.id)}


def files_of_tasks(ctx: Ctx, task_ids: Iterable[int]) -> dict[int, list[dict[str, str]]]:
    """Description files per task id (one IN query), for extra=files of task objects."""
    ids = list(set(task_ids))
    out: dict[int, list[dict[str, str]]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = ctx.db.scalars(select(StoredFile).where(StoredFile.account_id == ctx.account_id,
                                                   StoredFile.task_id.in_(ids), StoredFile.comment_id.is_(None))
                          .order_by(StoredFile.id))
    for row in rows:
        assert row.task_id is not None
        out[row.task_id].append(task_file(row))
    return out


def files_of_comments(ctx: Ctx, comment_ids: Iterable[int]) -> dict[int, list[dict[str, str]]]:
    """Files per comment id (one IN query), for extra=files of comments."""
    ids = list(set(comment_ids))
    out: dict[int, list[dict[str, str]]] = {i: [] for i in ids}
    if not ids:
        return out
    rows = ctx.db.scalars(select(StoredFile).where(StoredFile.account_id == ctx.account_id,
                                                   StoredFile.comment_id.in_(ids)).order_by(StoredFile.id))
    for row in rows:
        assert row.comment_id is not None
        out[row.comment_id].append(comment_file(row))
    return out
