"""Tags (statuses and labels) of tasks and projects and their groups (PROTOCOL.md §4.5).

A group has a `type` (`status`: an object holds at most one of its tags; `label`; `""` for project groups
created through the API, which behave as labels) and an `access` (`private` groups and their tags do not
exist for client-team users and guests). Names are matched case-insensitively; adding a name that already
exists returns the existing tag or group.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, true

from localsection import access, errors, events, render, tagging
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.models import Tag, TagGroup
from localsection.render import tags as rt

TYPES = ("status", "label")
ACCESS = ("public", "private")
MAX_TITLE = 255


def _group_filter(ctx: Ctx, applies_to: str) -> ColumnElement[bool]:
    """Groups of this account and kind that the caller can see."""
    cond = and_(TagGroup.account_id == ctx.account_id, TagGroup.applies_to == applies_to)
    if access.in_client_team(ctx):
        cond = and_(cond, TagGroup.access == "public")
    return cond


def _type_access_filter(p: Params) -> ColumnElement[bool]:
    """The optional `type` / `access` filters; `label` also matches untyped project groups."""
    cond: ColumnElement[bool] = true()
    kind = (p.text("type") or "").strip().lower()
    if kind:
        cond = and_(cond, or_(TagGroup.type == kind, TagGroup.type == "") if kind == "label"
                    else TagGroup.type == kind)
    visibility = (p.text("access") or "").strip().lower()
    if visibility:
        cond = and_(cond, TagGroup.access == visibility)
    return cond


def _find_group(ctx: Ctx, applies_to: str, ref: str) -> TagGroup:
    """A visible group by id or title; anything else is 16 Tag group is invalid."""
    key = ref.strip()
    groups = list(ctx.db.scalars(select(TagGroup).where(_group_filter(ctx, applies_to))))
    match = next((g for g in groups if str(g.id) == key), None)
    if match is None:
        match = next((g for g in groups if g.title.casefold() == key.casefold()), None)
    if match is None:
        raise errors.ApiError(16, "Tag group is invalid", key)
    return match


def _titles(p: Params) -> list[str]:
    """The comma list `title`: trimmed, de-duplicated case-insensitively, each at most 255 characters."""
    titles: dict[str, str] = {}
    for title in p.csv("title"):
        if len(title) > MAX_TITLE:
            raise errors.invalid_value("Title is too long", title[:MAX_TITLE])
        titles.setdefault(title.casefold(), title)
    if not titles:
        raise errors.required("title")
    return list(titles.values())


def _enum(p: Params, name: str, values: tuple[str, ...]) -> str:
    """A required enum parameter; missing or unknown is 10 Field is required (PM reports bad values so)."""
    value = (p.text(name) or "").strip().lower()
    if value not in values:
        raise errors.required(name)
    return value


# -- shared bodies --------------------------------------------------------------------------------

def _list_tags(ctx: Ctx, p: Params, applies_to: str) -> dict[str, Any]:
    query = (select(Tag, TagGroup).join(TagGroup, TagGroup.id == Tag.group_id)
             .where(_group_filter(ctx, applies_to), _type_access_filter(p)))
    ref = p.text("group")
    if ref is not None and ref.strip():
        query = query.where(TagGroup.id == _find_group(ctx, applies_to, ref).id)
    rows = sorted(ctx.db.execute(query).tuples(), key=lambda r: (rt.group_order(r[1]), r[0].id))
    return render.ok_data([rt.tag(t, g) for t, g in rows])


def _add_tags(ctx: Ctx, p: Params, applies_to: str) -> dict[str, Any]:
    access.require_write(ctx)
    ref = p.req_text("group", details="group (id or title)")
    if not ref.strip():
        raise errors.required("group (id or title)")
    titles = _titles(p)
    group = _find_group(ctx, applies_to, ref)
    existing = {t.title.casefold(): t for t in ctx.db.scalars(select(Tag).where(Tag.group_id == group.id))}
    out: list[Tag] = []
    for title in titles:
        tag = existing.get(title.casefold())
        if tag is None:
            tag = Tag(account_id=ctx.account_id, group_id=group.id, title=title)
            ctx.db.add(tag)
            ctx.db.flush()
        out.append(tag)
    return render.ok_data([rt.created_tag(t) for t in out])


def _update_tags(ctx: Ctx, p: Params, applies_to: str, object_id: int, project_id: int, page: str) -> None:
    """Apply plus/minus (names or ids; empty = nothing) and log an update event when the set changed."""
    plus = tagging.resolve(ctx, applies_to, p.csv("plus"))
    minus = tagging.resolve(ctx, applies_to, p.csv("minus"))
    old, new = tagging.change(ctx, applies_to, object_id, plus, minus)
    if old != new:
        events.record(ctx, "update", applies_to, object_id, page, project_id, new={"tags": new}, old={"tags": old})


def _list_groups(ctx: Ctx, p: Params, applies_to: str) -> dict[str, Any]:
    rows = ctx.db.scalars(select(TagGroup).where(_group_filter(ctx, applies_to), _type_access_filter(p)))
    return render.ok_data([rt.group(g) for g in sorted(rows, key=rt.group_order)])


def _add_groups(ctx: Ctx, p: Params, applies_to: str, kind: str) -> dict[str, Any]:
    """Create groups by title; an existing title returns that group unchanged. Status groups are public."""
    access.require_write(ctx)
    titles = _titles(p)
    visibility = "public" if kind == "status" else _enum(p, "access", ACCESS)
    existing = {g.title.casefold(): g for g in ctx.db.scalars(select(TagGroup).where(
        TagGroup.account_id == ctx.account_id, TagGroup.applies_to == applies_to))}
    hide_private = access.in_client_team(ctx)
    out: list[TagGroup] = []
    for title in titles:
        group = existing.get(title.casefold())
        if group is not None and hide_private and group.access == "private":
            raise errors.ApiError(16, "Tag group is invalid", title)
        if group is None:
            group = TagGroup(account_id=ctx.account_id, applies_to=applies_to, title=title, type=kind,
                             access=visibility)
            ctx.db.add(group)
            ctx.db.flush()
        out.append(group)
    return render.ok_data([rt.group(g) for g in out])


# -- task tags ------------------------------------------------------------------------------------

@action("get_task_tags", scope="tags_read")
def get_task_tags(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Task tags, optionally of one group (id or title) / type / access."""
    return _list_tags(ctx, p, "task")


@action("add_task_tags", scope="tags_write")
def add_task_tags(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Create task tags in a group; names that exist in it are returned as they are."""
    return _add_tags(ctx, p, "task")


@action("update_task_tags", scope="tags_write")
def update_task_tags(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Add (`plus`) and remove (`minus`) tags of a task or subtask."""
    task = access.task(ctx, p.req_id("id_task", errors.task_invalid()), write=True)
    page = render.task_page(task.project_id, task.id, task.top_id)
    _update_tags(ctx, p, "task", task.id, task.project_id, page)
    return render.ok()


@action("get_task_tag_groups", scope="tags_read")
def get_task_tag_groups(ctx: Ctx, p: Params) -> dict[str, Any]:
    return _list_groups(ctx, p, "task")


@action("add_task_tag_groups", scope="tags_write")
def add_task_tag_groups(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Create task tag groups: `type` status|label and `access` public|private are required."""
    _titles(p)
    return _add_groups(ctx, p, "task", _enum(p, "type", TYPES))


# -- project tags ---------------------------------------------------------------------------------

@action("get_project_tags", scope="tags_read")
def get_project_tags(ctx: Ctx, p: Params) -> dict[str, Any]:
    return _list_tags(ctx, p, "project")


@action("add_project_tags", scope="tags_write")
def add_project_tags(ctx: Ctx, p: Params) -> dict[str, Any]:
    return _add_tags(ctx, p, "project")


@action("update_project_tags", scope="tags_write")
def update_project_tags(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Add (`plus`) and remove (`minus`) tags of a project."""
    project = access.project(ctx, p.req_id("id_project", errors.project_invalid()), write=True)
    _update_tags(ctx, p, "project", project.id, project.id, render.project_page(project.id))
    return render.ok()


@action("get_project_tag_groups", scope="tags_read")
def get_project_tag_groups(ctx: Ctx, p: Params) -> dict[str, Any]:
    return _list_groups(ctx, p, "project")


@action("add_project_tag_groups", scope="tags_write")
def add_project_tag_groups(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Create project tag groups. The API has no `type` here (PM returns `""`); OURS: an optional
    `type` status|label is honoured so that project status groups can be made without the UI."""
    _titles(p)
    kind = _enum(p, "type", TYPES) if p.has("type") else ""
    return _add_groups(ctx, p, "project", kind)
