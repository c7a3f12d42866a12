"""Tags and tag groups (PROTOCOL.md §4.5): tag and group ids are JSON integers, `id_group` a string."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import Any

from sqlalchemy import select

from localsection import access
from localsection.ctx import Ctx
from localsection.db import core, ids_in
from localsection.models import ProjectTag, Tag, TagGroup, TaskTag

# Listing order of groups: statuses, then labels, then untyped project groups (PM lists statuses first).
_TYPE_RANK = {"status": 0, "label": 1}


def group_order(g: TagGroup) -> tuple[int, int]:
    return (_TYPE_RANK.get(g.type, 2), g.id)


def group(g: TagGroup) -> dict[str, Any]:
    """{title, id, type, access} of get_*_tag_groups / add_*_tag_groups."""
    return {"title": g.title, "id": g.id, "type": g.type, "access": g.access}


def tag(t: Tag, g: TagGroup) -> dict[str, Any]:
    """{title, id, group: {title, id, id_group, type, access}} of get_*_tags."""
    return {"title": t.title, "id": t.id,
            "group": {"title": g.title, "id": g.id, "id_group": str(g.id), "type": g.type, "access": g.access}}


def created_tag(t: Tag) -> dict[str, Any]:
    """{title, id} of add_*_tags."""
    return {"title": t.title, "id": t.id}


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
