"""Tags of tasks and projects as the objects that carry them show them (one query for many objects)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import select

from localsection import access
from localsection.ctx import Ctx
from localsection.db import core, ids_in
from localsection.models import ProjectTag, Tag, TagGroup, TaskTag


def object_tags(ctx: Ctx, applies_to: str, object_ids: Collection[int]) -> dict[int, dict[str, str]]:
    """The `tags` object ({"<id>": "<title>"}) of each task/project, in one query; private tags are left
    out for callers who cannot see private groups. Objects without tags are absent from the result."""
    if not object_ids:
        return {}
    link, col = (TaskTag, TaskTag.task_id) if applies_to == "task" else (ProjectTag, ProjectTag.project_id)
    query = (select(col, Tag.id, Tag.title).join(link, link.tag_id == Tag.id)
             .join(TagGroup, TagGroup.id == Tag.group_id)
             .where(ids_in(ctx.db, col, object_ids), Tag.account_id == ctx.account_id).order_by(col, Tag.id))
    if access.in_client_team(ctx):
        query = query.where(TagGroup.access == "public")
    out: dict[int, dict[str, str]] = defaultdict(dict)
    for object_id, tag_id, title in core(ctx.db).execute(query):
        out[object_id][str(tag_id)] = title
    return dict(out)
