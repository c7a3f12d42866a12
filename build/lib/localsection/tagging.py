"""Resolving tags by name or id and setting them on tasks and projects (a status group holds one tag)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, insert, select

from localsection import access, errors
from localsection.ctx import Ctx
from localsection.models import ProjectTag, Tag, TagGroup, TaskTag


def resolve(ctx: Ctx, applies_to: str, refs: list[str]) -> list[Tag]:
    """Tags of `applies_to` ("task"/"project") by id or exact title; unknown -> 16 Tag is invalid + that ref.

    A title shared by tags of several groups is ambiguous and also refused (titles must be unique).
    Tags of private groups do not exist for client-team users and guests.
    """
    if not refs:
        return []
    query = (select(Tag, TagGroup).join(TagGroup, TagGroup.id == Tag.group_id)
             .where(Tag.account_id == ctx.account_id, TagGroup.applies_to == applies_to))
    if access.in_client_team(ctx):
        query = query.where(TagGroup.access == "public")
    rows = ctx.db.execute(query).all()
    by_id = {str(t.id): t for t, _ in rows}
    by_title: dict[str, list[Tag]] = defaultdict(list)
    for t, _ in rows:
        by_title[t.title.strip().lower()].append(t)
    out: list[Tag] = []
    for ref in refs:
        key = ref.strip()
        tag = by_id.get(key)
        if tag is None:
            matches = by_title.get(key.lower(), [])
            tag = matches[0] if len(matches) == 1 else None
        if tag is None:
            raise errors.tag_invalid(key)
        if tag not in out:
            out.append(tag)
    return out


def _link(applies_to: str) -> tuple[type[TaskTag] | type[ProjectTag], str]:
    return (TaskTag, "task_id") if applies_to == "task" else (ProjectTag, "project_id")


def current(ctx: Ctx, applies_to: str, object_id: int) -> list[Tag]:
    model, col = _link(applies_to)
    return list(ctx.db.scalars(select(Tag).join(model, model.tag_id == Tag.id)
                               .where(getattr(model, col) == object_id).order_by(Tag.id)))


def change(ctx: Ctx, applies_to: str, object_id: int, plus: list[Tag], minus: list[Tag],
           replace: bool = False) -> tuple[dict[str, str], dict[str, str]]:
    """Add `plus`, remove `minus` (or replace the whole set); return (old, new) as {id: title} maps.

    Adding a tag of a status group removes the object's other tag of that group. A replace by a
    caller who cannot see private groups keeps the object's private tags (they are not the caller's to drop).
    """
    model, col = _link(applies_to)
    before = current(ctx, applies_to, object_id)
    groups = {g.id: g for g in ctx.db.scalars(select(TagGroup).where(
        TagGroup.id.in_({t.group_id for t in plus} | {t.group_id for t in before})))}
    if replace:
        hidden = access.in_client_team(ctx)
        keep = [t for t in before if hidden and groups[t.group_id].access == "private"]
    else:
        keep = [t for t in before if t not in minus]
    for tag in plus:
        group = groups.get(tag.group_id)
        if group is not None and group.type == "status":
            keep = [t for t in keep if t.group_id != tag.group_id]
        if tag not in keep:
            keep.append(tag)
    if {t.id for t in keep} != {t.id for t in before}:
        ctx.db.execute(delete(model).where(getattr(model, col) == object_id))
        if keep:
            ctx.db.execute(insert(model), [{col: object_id, "tag_id": t.id} for t in keep])
    return as_map(before), as_map(keep)


def as_map(tags: list[Tag]) -> dict[str, str]:
    return {str(t.id): t.title for t in sorted(tags, key=lambda t: t.id)}
