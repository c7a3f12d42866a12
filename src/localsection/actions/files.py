"""Files: get_files, download and upload_files (PROTOCOL.md §4.8, §6)."""

from __future__ import annotations

import calendar
import urllib.parse
from email.utils import formatdate
from typing import Any

from sqlalchemy import and_, or_, select
from starlette.responses import FileResponse

from localsection import access, errors, files, render
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.models import Comment, StoredFile
from localsection.render import files as rf


@action("get_files", scope="files_read")
def get_files(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Project: description + Files section; task: description + its (visible) comments."""
    task_id = p.id("id_task", errors.task_invalid())
    if task_id is not None:
        task = access.task(ctx, task_id)
        visible_comment = select(Comment.id).where(Comment.id == StoredFile.comment_id,
                                                   access.comment_filter(ctx)).exists()
        cond = and_(StoredFile.task_id == task.id,
                    or_(StoredFile.comment_id.is_(None), visible_comment))
    else:
        project = access.project(ctx, p.id("id_project", errors.project_invalid()))
        cond = and_(StoredFile.project_id == project.id, StoredFile.task_id.is_(None))
    rows = ctx.db.scalars(select(StoredFile).where(StoredFile.account_id == ctx.account_id, cond)
                          .order_by(StoredFile.date_added, StoredFile.id))
    return render.ok_data(rf.listed_files(ctx, rows))


@action("download", scope="files_read", threaded=True)
def download(ctx: Ctx, p: Params) -> Any:
    """The raw bytes of a visible file with the headers of §6.3; errors stay JSON envelopes."""
    row = files.visible_file(ctx, p.id("id_file", files.not_found()))
    path = files.open_blob(ctx.settings, row.sha256)
    if path is None:
        raise files.not_found()
    stat = path.stat()
    quoted = urllib.parse.quote(row.name, safe="")
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quoted}",
        "Last-Modified": formatdate(calendar.timegm(row.date_added.timetuple()), usegmt=True),
        "ETag": f'"{row.sha256[:8]}-{row.size:x}"',
        "Cache-Control": "private",
        "Accept-Ranges": "bytes",
    }
    return FileResponse(path, headers=headers, media_type="application/x-download", stat_result=stat)


@action("upload_files", scope="files_write", write=True, threaded=True, uploads=True)
def upload_files(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Store each file part as a pending upload; returns [{id, ext, name[, error]}] (§6.2)."""
    access.require_write(ctx)
    parts = files.attachment_parts(p) or list(p.files)
    if not parts:
        raise errors.required("files")
    return render.ok_data([files.upload(ctx, part) for part in parts])
