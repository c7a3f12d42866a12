"""Tags (statuses and labels) of tasks and projects and their groups (PROTOCOL.md §4.5).

A group has a `type` (`status`: an object holds at most one of its tags; `label`; `""` for project groups
created through the API, which behave as labels) and an `access` (`private` groups and their tags do not
exist for client-team users and guests). Names are matched case-insensitively; adding a name that already
exists returns the existing tag or group.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from sqlalchemy import ColumnElement, and_, or_, select, true

from localsection import access, errors, events, render, tagging
from localsection.ctx import Ctx
from localsection.models import Tag, TagGroup
from localsection.render import tags as rt

Kind = Literal["task", "project"]  # what a tag applies to
GroupType = Literal["status", "label", ""]  # "" = an untyped project group (behaves as labels)
Visibility = Literal["public", "private"]
TYPES: tuple[GroupType, ...] = ("status", "label")
ACCESS: tuple[Visibility, ...] = ("public", "private")
MAX_TITLE = 255


def _group_filter(ctx: Ctx, applies_to: Kind) -> ColumnElement[bool]:
    """Groups of this account and kind that the caller can see."""
    cond = and_(TagGroup.account_id == ctx.account_id, TagGroup.applies_to == applies_to)
    if access.in_client_team(ctx):
        cond = and_(cond, TagGroup.access == "public")
    return cond


def _type_access_filter(type_: str | None, visibility: str | None) -> ColumnElement[bool]:
    """The optional group type / access filters; `label` also matches untyped project groups."""
    cond: ColumnElement[bool] = true()
    if type_:
        cond = and_(cond, or_(TagGroup.type == type_, TagGroup.type == "") if type_ == "label"
                    else TagGroup.type == type_)
    if visibility:
        cond = and_(cond, TagGroup.access == visibility)
    return cond


def find_group(ctx: Ctx, *, applies_to: Kind, ref: str) -> TagGroup:
    """A group the caller can see, by id or title (any case); anything else is 16 Tag group is invalid."""
    key = ref.strip()
    groups = list(ctx.db.scalars(select(TagGroup).where(_group_filter(ctx, applies_to))))
    match = next((g for g in groups if str(g.id) == key), None)
    if match is None:
        match = next((g for g in groups if g.title.casefold() == key.casefold()), None)
    if match is None:
        raise errors.tag_group_invalid(key)
    return match


def check_titles(titles: Sequence[str]) -> list[str]:
    """Titles trimmed and de-duplicated case-insensitively (first spelling wins); blank ones are dropped.

    None left is 10 `title`; one over 255 characters is 11 Title is too long (+ its first 255).
    """
    out: dict[str, str] = {}
    for raw in titles:
        title = raw.strip()
        if not title:
            continue
        if len(title) > MAX_TITLE:
            raise errors.title_too_long(title[:MAX_TITLE])
        out.setdefault(title.casefold(), title)
    if not out:
        raise errors.required("title")
    return list(out.values())


# -- tags ---------------------------------------------------------------------------------------------

def list_tags(ctx: Ctx, *, applies_to: Kind, group: str | None = None, type_: str | None = None,
              visibility: str | None = None) -> list[tuple[Tag, TagGroup]]:
    """Visible tags with their groups (statuses first, then labels, by id), optionally of one group (id or
    title), group type or access; an unknown group is 16."""
    query = (select(Tag, TagGroup).join(TagGroup, TagGroup.id == Tag.group_id)
             .where(_group_filter(ctx, applies_to), _type_access_filter(type_, visibility)))
    if group is not None and group.strip():
        query = query.where(TagGroup.id == find_group(ctx, applies_to=applies_to, ref=group).id)
    rows = ctx.db.execute(query).tuples()
    return sorted(rows, key=lambda r: (rt.group_order(r[1]), r[0].id))


def add_tags(ctx: Ctx, *, applies_to: Kind, group: str, titles: Sequence[str]) -> list[Tag]:
    """Create tags in a visible group (id or title); names that exist in it are returned as they are."""
    access.require_write(ctx)
    if not group.strip():
        raise errors.required("group (id or title)")
    wanted = check_titles(titles)
    found = find_group(ctx, applies_to=applies_to, ref=group)
    existing = {t.title.casefold(): t for t in ctx.db.scalars(select(Tag).where(Tag.group_id == found.id))}
    out: list[Tag] = []
    for title in wanted:
        tag = existing.get(title.casefold())
        if tag is None:
            tag = Tag(account_id=ctx.account_id, group_id=found.id, title=title)
            ctx.db.add(tag)
            ctx.db.flush()
        out.append(tag)
    return out


def _update_tags(ctx: Ctx, applies_to: Kind, object_id: int, project_id: int, page: str,
                 plus: Sequence[str], minus: Sequence[str]) -> dict[str, str]:
    """Apply plus/minus (names or ids) and log an update event when the set changed; the new {id: title}."""
    add = tagging.resolve(ctx, applies_to, list(plus))
    remove = tagging.resolve(ctx, applies_to, list(minus))
    old, new = tagging.change(ctx, applies_to, object_id, add, remove)
    if old != new:
        events.record(ctx, "update", applies_to, object_id, page, project_id, new={"tags": new}, old={"tags": old})
    return new


def update_task_tags(ctx: Ctx, *, task_id: int, plus: Sequence[str] = (), minus: Sequence[str] = ()) -> dict[str, str]:
    """Add `plus` and remove `minus` tags (names or ids) of a task or subtask the caller may change.

    Adding a tag of a status group replaces the task's other tag of that group. Unknown tags are 16.
    """
    task = access.task(ctx, task_id, write=True)
    page = render.task_page(task.project_id, task.id, task.top_id)
    return _update_tags(ctx, "task", task.id, task.project_id, page, plus, minus)


def update_project_tags(ctx: Ctx, *, project_id: int, plus: Sequence[str] = (),
                        minus: Sequence[str] = ()) -> dict[str, str]:
    """Add `plus` and remove `minus` tags (names or ids) of a project the caller may change."""
    project = access.project(ctx, project_id, write=True)
    return _update_tags(ctx, "project", project.id, project.id, render.project_page(project.id), plus, minus)


# -- groups ------------------------------------------------------------------------------------------

def list_groups(ctx: Ctx, *, applies_to: Kind, type_: str | None = None,
                visibility: str | None = None) -> list[TagGroup]:
    """Visible groups: statuses, then labels, then untyped project groups."""
    rows = ctx.db.scalars(select(TagGroup).where(_group_filter(ctx, applies_to),
                                                 _type_access_filter(type_, visibility)))
    return sorted(rows, key=rt.group_order)


def add_groups(ctx: Ctx, *, applies_to: Kind, titles: Sequence[str], type_: GroupType,
               visibility: Visibility | None) -> list[TagGroup]:
    """Create groups by title; an existing title returns that group unchanged.

    Status groups are always public; otherwise `visibility` is required (10 `access`). A private group the
    caller cannot see is 16 rather than returned.
    """
    access.require_write(ctx)
    wanted = check_titles(titles)
    if type_ == "status":
        visibility = "public"
    elif visibility is None:
        raise errors.required("access")
    existing = {g.title.casefold(): g for g in ctx.db.scalars(select(TagGroup).where(
        TagGroup.account_id == ctx.account_id, TagGroup.applies_to == applies_to))}
    hide_private = access.in_client_team(ctx)
    out: list[TagGroup] = []
    for title in wanted:
        group = existing.get(title.casefold())
        if group is not None and hide_private and group.access == "private":
            raise errors.tag_group_invalid(title)
        if group is None:
            group = TagGroup(account_id=ctx.account_id, applies_to=applies_to, title=title, type=type_,
                             access=visibility)
            ctx.db.add(group)
            ctx.db.flush()
        out.append(group)
    return out
