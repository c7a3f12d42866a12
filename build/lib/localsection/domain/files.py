"""Files (PROTOCOL.md §4.8, §6): the files of a project or task, one file's blob to download, pending uploads."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, or_, select

from localsection import access, errors, files
from localsection.ctx import Ctx
from localsection.models import Comment, StoredFile


@dataclass(frozen=True)
class Download:
    """What to send for one file: the blob on disk and what its headers say."""

    path: Path
    stat: os.stat_result
    name: str
    size: int
    sha256: str
    date_added: dt.datetime  # naive UTC


def list_files(ctx: Ctx, *, task_id: int | None = None, project_id: int | None = None) -> list[StoredFile]:
    """A task's files (description and visible comments) or, without a task, a project's own Files section."""
    if task_id is not None:
        task = access.task(ctx, task_id)
        visible_comment = select(Comment.id).where(Comment.id == StoredFile.comment_id,
                                                   access.comment_filter(ctx)).exists()
        cond = and_(StoredFile.task_id == task.id, or_(StoredFile.comment_id.is_(None), visible_comment))
    else:
        project = access.project(ctx, project_id)
        cond = and_(StoredFile.project_id == project.id, StoredFile.task_id.is_(None))
    return list(ctx.db.scalars(select(StoredFile).where(StoredFile.account_id == ctx.account_id, cond)
                               .order_by(StoredFile.date_added, StoredFile.id)))


def download(ctx: Ctx, *, file_id: int | None) -> Download:
    """A visible attached file whose blob is on disk; else 4 File not found (10 without an id)."""
    row = access.visible_file(ctx, file_id)
    path = files.open_blob(ctx.settings, row.sha256)
    if path is None:
        raise errors.file_not_found()
    return Download(path, path.stat(), row.name, row.size, row.sha256, row.date_added)


def upload_files(ctx: Ctx, *, parts: Sequence[files.FilePart]) -> list[files.Upload]:
    """Store each part as a pending upload of the caller (too large ones are refused one by one)."""
    access.require_write(ctx)
    if not parts:
        raise errors.required("files")
    return [files.upload(ctx, part) for part in parts]
