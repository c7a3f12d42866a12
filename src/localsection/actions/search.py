"""search_tasks (PROTOCOL.md §4.3, §5): a flat list of tasks and subtasks matching every given condition."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

from localsection import access, errors, render
from localsection.actions.tasks import capped, not_archived
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.filters import Field, compile_filter
from localsection.models import Task
from localsection.read.tasks import TEXT_EXTRAS, select_views
from localsection.render.tasks import render_tasks

SCOPE_PARAMS = ("filter", "id_project", "id_task", "email_user_from", "email_user_to")
SEARCH_EXTRAS = frozenset({"text", "html", "files"})

FIELDS: dict[str, Field] = {
    "id": Field("int", Task.id),
    "project": Field("int", Task.project_id),
    "parent": Field("int", Task.parent_id),
    "name": Field("str", Task.name_folded),
    "dateadd": Field("datetime", Task.date_added),
    "date_added": Field("datetime", Task.date_added),
    "dateclose": Field("datetime", Task.date_closed),
    "date_closed": Field("datetime", Task.date_closed),
    "datestart": Field("date", Task.date_start),
    "date_start": Field("date", Task.date_start),
    "dateend": Field("date", Task.date_end),
    "date_end": Field("date", Task.date_end),
}

_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_PROJECT_FIELD = re.compile(r"\bproject\b")


def _names_project(filter_text: str) -> bool:
    """Whether the filter scopes by project (quoted strings ignored)."""
    return bool(_PROJECT_FIELD.search(_QUOTED.sub("''", filter_text)))


def _executive_cond(ctx: Ctx, email: str) -> ColumnElement[bool]:
    value = email.strip().upper()
    if value == "ANY":
        return Task.user_to_any.is_(True)
    if value == "NOONE":
        return and_(Task.user_to_id.is_(None), Task.user_to_any.is_(False))
    return Task.user_to_id == access.user_by_email(ctx, email).id


def _conditions(ctx: Ctx, p: Params) -> list[ColumnElement[bool]]:
    """The SQL conditions of the given scope parameters (each checked: 4, 5, 11)."""
    conds: list[ColumnElement[bool]] = []
    project_id = p.id("id_project", invalid=errors.project_invalid())
    if project_id is not None:
        conds.append(Task.project_id == access.project(ctx, project_id).id)
    task_id = p.id("id_task", invalid=errors.task_invalid())
    if task_id is not None:
        tid = access.task(ctx, task_id).id
        conds.append(or_(Task.id == tid, Task.parent_id == tid, Task.top_id == tid))
    author = p.text("email_user_from")
    if author is not None:
        conds.append(Task.user_from_id == access.user_by_email(ctx, author).id)
    executive = p.text("email_user_to")
    if executive is not None:
        conds.append(_executive_cond(ctx, executive))
    text = p.text("filter")
    if text is not None:
        conds.append(compile_filter(text, FIELDS, ctx.tz))
    status = (p.text("status") or "").strip().lower()
    if status in ("active", "done"):
        conds.append(Task.status == status)
    return conds


@action("search_tasks", scope="tasks_read", threaded=True)
def search_tasks(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Tasks and subtasks (with `parent`) matching all given conditions; archived projects need a project scope."""
    if not any(p.has(name) for name in SCOPE_PARAMS):
        raise errors.ApiError(10, "At least one of fields required", ", ".join(SCOPE_PARAMS))
    extra = p.extra() & SEARCH_EXTRAS
    q = select_views(bool(extra & TEXT_EXTRAS)).where(access.visible_task_filter(ctx), *_conditions(ctx, p))
    if not p.has("id_project") and not _names_project(p.text("filter") or ""):
        q = not_archived(q)
    rows = capped(ctx, q.order_by(Task.id))
    return render.ok_data(render_tasks(ctx, rows, extra, with_parent=True))
