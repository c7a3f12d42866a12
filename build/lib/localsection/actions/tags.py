"""Tags (statuses and labels) of tasks and projects and their groups (PROTOCOL.md §4.5): the API adapters of
domain.tags."""

from __future__ import annotations

from typing import Any

from localsection import errors, render
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.domain import tags
from localsection.domain.tags import GroupType, Kind, Visibility
from localsection.render import tags as rt


def _word(p: Params, name: str) -> str:
    return (p.text(name) or "").strip().lower()


def _type(p: Params) -> GroupType:
    """The required group `type`; missing or unknown is 10 Field is required (PM reports bad values so)."""
    value = _word(p, "type")
    for kind in tags.TYPES:
        if value == kind:
            return kind
    raise errors.required("type")


def _visibility(p: Params) -> Visibility | None:
    """The group `access`; None when missing or unknown (the domain answers 10 after its write check)."""
    value = _word(p, "access")
    return next((v for v in tags.ACCESS if v == value), None)


def _list_tags(ctx: Ctx, p: Params, applies_to: Kind) -> dict[str, Any]:
    rows = tags.list_tags(ctx, applies_to=applies_to, group=p.text("group"), type_=_word(p, "type") or None,
                          visibility=_word(p, "access") or None)
    return render.ok_data([rt.tag(t, g) for t, g in rows])


def _add_tags(ctx: Ctx, p: Params, applies_to: Kind) -> dict[str, Any]:
    created = tags.add_tags(ctx, applies_to=applies_to, group=p.text("group") or "", titles=p.csv("title"))
    return render.ok_data([rt.created_tag(t) for t in created])


def _list_groups(ctx: Ctx, p: Params, applies_to: Kind) -> dict[str, Any]:
    rows = tags.list_groups(ctx, applies_to=applies_to, type_=_word(p, "type") or None,
                            visibility=_word(p, "access") or None)
    return render.ok_data([rt.group(g) for g in rows])


def _add_groups(ctx: Ctx, p: Params, applies_to: Kind, kind: GroupType) -> dict[str, Any]:
    groups = tags.add_groups(ctx, applies_to=applies_to, titles=p.csv("title"), type_=kind,
                             visibility=_visibility(p))
    return render.ok_data([rt.group(g) for g in groups])


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
    tags.update_task_tags(ctx, task_id=p.req_id("id_task", errors.task_invalid()), plus=p.csv("plus"),
                          minus=p.csv("minus"))
    return render.ok()


@action("get_task_tag_groups", scope="tags_read")
def get_task_tag_groups(ctx: Ctx, p: Params) -> dict[str, Any]:
    return _list_groups(ctx, p, "task")


@action("add_task_tag_groups", scope="tags_write")
def add_task_tag_groups(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Create task tag groups: `type` status|label and `access` public|private are required."""
    tags.check_titles(p.csv("title"))
    return _add_groups(ctx, p, "task", _type(p))


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
    tags.update_project_tags(ctx, project_id=p.req_id("id_project", errors.project_invalid()),
                             plus=p.csv("plus"), minus=p.csv("minus"))
    return render.ok()


@action("get_project_tag_groups", scope="tags_read")
def get_project_tag_groups(ctx: Ctx, p: Params) -> dict[str, Any]:
    return _list_groups(ctx, p, "project")


@action("add_project_tag_groups", scope="tags_write")
def add_project_tag_groups(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Create project tag groups. The API has no `type` here (PM returns `""`); OURS: an optional
    `type` status|label is honoured so that project status groups can be made without the UI."""
    tags.check_titles(p.csv("title"))
    return _add_groups(ctx, p, "project", _type(p) if p.has("type") else "")
