"""Tags and tag groups (PROTOCOL.md §4.5): tag and group ids are JSON integers, `id_group` a string."""

from __future__ import annotations

from typing import Any

from localsection.models import Tag, TagGroup

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
