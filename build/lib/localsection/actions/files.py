"""Files: get_files, download and upload_files (PROTOCOL.md §4.8, §6): the API adapters of domain.files."""

from __future__ import annotations

import calendar
import re
import urllib.parse
from email.utils import formatdate
from typing import Any

import orjson
from starlette.responses import FileResponse

from localsection import errors, files, render
from localsection.api.params import Params, UploadedPart
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.domain import files as domain
from localsection.render import files as rf

_ATTACH_FIELD = re.compile(r"^(?:attach(?:\[[^\]]*\])?|files(?:\[\])?)$")


def attachment_parts(p: Params) -> list[UploadedPart]:
    """Multipart parts named attach[n] / attach / attach[] / files / files[] (§6.1)."""
    return [part for part in p.files if _ATTACH_FIELD.match(part.field)]


def upload_refs(p: Params) -> list[str]:
    """Upload ids from the SDK's `files` list (objects as upload_files returned them, or bare ids)."""
    raw = p.raw("files")
    if isinstance(raw, str) and raw.strip().startswith("["):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raw = None
    if not isinstance(raw, list):
        return []
    refs: list[str] = []
    for item in raw:
        ref = item.get("id") if isinstance(item, dict) else item
        if ref not in (None, ""):
            refs.append(str(ref))
    return refs


def attachments(p: Params) -> files.Attachments:
    """The files a creating action attaches (§6.1): multipart parts and `files` upload ids."""
    return files.Attachments(attachment_parts(p), upload_refs(p))


@action("get_files", scope="files_read")
def get_files(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Project: description + Files section; task: description + its (visible) comments."""
    task_id = p.id("id_task", errors.task_invalid())
    project_id = None if task_id is not None else p.id("id_project", errors.project_invalid())
    return render.ok_data(rf.listed_files(ctx, domain.list_files(ctx, task_id=task_id, project_id=project_id)))


@action("download", scope="files_read", threaded=True)
def download(ctx: Ctx, p: Params) -> Any:
    """The raw bytes of a visible file with the headers of §6.3; errors stay JSON envelopes."""
    d = domain.download(ctx, file_id=p.id("id_file", errors.file_not_found()))
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{urllib.parse.quote(d.name, safe='')}",
        "Last-Modified": formatdate(calendar.timegm(d.date_added.timetuple()), usegmt=True),
        "ETag": f'"{d.sha256[:8]}-{d.size:x}"',
        "Cache-Control": "private",
        "Accept-Ranges": "bytes",
    }
    return FileResponse(d.path, headers=headers, media_type="application/x-download", stat_result=d.stat)


@action("upload_files", scope="files_write", write=True, threaded=True, uploads=True)
def upload_files(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Store each file part as a pending upload; returns [{id, ext, name[, error]}] (§6.2)."""
    uploads = domain.upload_files(ctx, parts=attachment_parts(p) or list(p.files))
    return render.ok_data([rf.upload_item(u) for u in uploads])
