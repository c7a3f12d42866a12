"""A project's tasks as people browse them (the web app's task list and board): filtered, sorted, one page at
a time, with everything the rows show loaded in a fixed number of queries (no N+1).

Filters apply to the top-level tasks; the subtasks of the tasks on a page come with them (only open ones when
the list shows open tasks). The visibility rules are access.task_filter's, the same as get_tasks.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import aliased

from localsection import access, errors
from localsection.ctx import Ctx
from localsection.db import core, ids_in
from localsection.domain import members, tags
from localsection.domain.tasks import SEARCH_FIELDS
from localsection.filters import compile_filter
from localsection.models import Project, Tag, TagGroup, Task, TaskTag, User
from localsection.read.tags import object_tags
from localsection.read.tasks import TaskView, fetch_views, load_children, select_views

Status = Literal["open", "done", "all"]
SORTS = ("id", "title", "priority", "date_start", "date_end", "executive")
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_FILTER = 2000  # characters of a free filter
BOARD_LIMIT = 300  # cards of one board (the highest priority first); the column counts are exact


@dataclass(frozen=True)
class TaskQuery:
    """What the task list asks for. `executive`: a user id, "ANY" or "NOONE"; `tags`: tag ids a task must all
    carry; `date_from`/`date_to`: tasks whose dates overlap the range; `filter`: the search_tasks language."""

    status: Status = "open"
    executive: str | None = None
    tags: tuple[int, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    filter: str | None = None
    sort: str = "id"
    descending: bool = False
    offset: int = 0
    limit: int = PAGE_SIZE


@dataclass
class TaskPage:
    """One page of top-level tasks with their subtasks and what the rows refer to."""

    project: Project
    rows: list[TaskView]
    total: int
    children: dict[int, list[TaskView]] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)
    tags: dict[int, dict[str, str]] = field(default_factory=dict)


def _conditions(ctx: Ctx, q: TaskQuery) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if q.status == "open":
        conds.append(Task.status == "active")
    elif q.status == "done":
        conds.append(Task.status == "done")
    if q.executive:
        value = q.executive.strip().upper()
        if value == "ANY":
            conds.append(Task.user_to_any.is_(True))
        elif value == "NOONE":
            conds.append(and_(Task.user_to_id.is_(None), Task.user_to_any.is_(False)))
        elif value.isdigit() and len(value) < 19:
            conds.append(Task.user_to_id == int(value))
        else:
            raise errors.invalid_value("Executive is invalid", q.executive)
    for tag_id in q.tags[:10]:
        conds.append(Task.id.in_(select(TaskTag.task_id).where(TaskTag.tag_id == tag_id)))
    start, end = func.coalesce(Task.date_start, Task.date_end), func.coalesce(Task.date_end, Task.date_start)
    if q.date_from is not None:
        conds.append(end >= q.date_from)
    if q.date_to is not None:
        conds.append(start <= q.date_to)
    if q.filter and q.filter.strip():
        if len(q.filter) > MAX_FILTER:
            raise errors.filter_invalid("the filter is too long")
        conds.append(compile_filter(q.filter, SEARCH_FIELDS, ctx.tz))
    return conds


def _order(q: TaskQuery) -> list[Any]:
    def d(col: Any) -> Any:
        return col.desc() if q.descending else col.asc()

    if q.sort == "title":
        return [d(Task.name_folded), Task.id]
    if q.sort == "priority":
        return [d(Task.priority), Task.id]
    if q.sort in ("date_start", "date_end"):
        col = Task.date_start if q.sort == "date_start" else Task.date_end
        return [col.is_(None), d(col), Task.id]  # tasks without the date last either way
    if q.sort == "executive":
        return [d(func.coalesce(User.last_name, "")), d(func.coalesce(User.first_name, "")), Task.id]
    return [d(Task.id)]


def list_page(ctx: Ctx, *, project_id: int, query: TaskQuery) -> TaskPage:
    """One page of a visible project's top-level tasks (4 when the caller cannot see the project; a bad filter
    is the API's filter error)."""
    project = access.project(ctx, project_id)
    where = [Task.project_id == project.id, Task.parent_id.is_(None), access.task_filter(ctx),
             *_conditions(ctx, query)]
    total = int(ctx.db.scalar(select(func.count()).select_from(Task).where(*where)) or 0)
    sel = select_views(text=False).where(*where)
    if query.sort == "executive":
        sel = sel.outerjoin(User, User.id == Task.user_to_id)
    limit = max(1, min(query.limit, MAX_PAGE_SIZE))
    rows = fetch_views(ctx, sel.order_by(*_order(query)).offset(max(0, query.offset)).limit(limit))
    out = TaskPage(project, rows, total)
    out.children = load_children(ctx, rows, active_only=query.status == "open", text=False)
    _refs(ctx, out, rows + [c for cs in out.children.values() for c in cs])
    return out


def _refs(ctx: Ctx, out: TaskPage, everyone: list[TaskView]) -> None:
    user_ids = {t.user_to_id for t in everyone if t.user_to_id is not None}
    if user_ids:
        out.users = {u.id: u for u in ctx.db.scalars(select(User).where(ids_in(ctx.db, User.id, user_ids),
                                                                         User.account_id == ctx.account_id))}
    out.tags = object_tags(ctx, "task", [t.id for t in everyone])


# -- the board ------------------------------------------------------------------------------------------

@dataclass
class Column:
    tag: Tag | None  # None: tasks without a status of the group
    cards: list[TaskView]
    count: int


@dataclass
class Board:
    project: Project
    group: TagGroup | None
    groups: list[TagGroup]
    columns: list[Column]
    users: dict[int, User] = field(default_factory=dict)
    tags: dict[int, dict[str, str]] = field(default_factory=dict)
    shown: int = 0
    total: int = 0


def status_groups(ctx: Ctx) -> list[TagGroup]:
    """The account's task status groups (always public), oldest first."""
    return list(ctx.db.scalars(select(TagGroup).where(TagGroup.account_id == ctx.account_id,
                                                      TagGroup.applies_to == "task", TagGroup.type == "status")
                               .order_by(TagGroup.id)))


def board(ctx: Ctx, *, project_id: int, group_id: int | None = None) -> Board:
    """The open top-level tasks of a visible project in columns by their tag of a status group (the first group
    unless `group_id`); at most BOARD_LIMIT cards, by priority."""
    project = access.project(ctx, project_id)
    groups = status_groups(ctx)
    group = next((g for g in groups if g.id == group_id), groups[0] if groups else None)
    if group is None:
        return Board(project, None, groups, [])
    tags = list(ctx.db.scalars(select(Tag).where(Tag.group_id == group.id).order_by(Tag.id)))
    status = aliased(TaskTag)
    link = (select(status.task_id, status.tag_id).join(Tag, Tag.id == status.tag_id)
            .where(Tag.group_id == group.id).subquery())
    where = [Task.project_id == project.id, Task.parent_id.is_(None), Task.status == "active",
             access.task_filter(ctx)]
    counts = Counter({tag_id: n for tag_id, n in ctx.db.execute(
        select(link.c.tag_id, func.count()).select_from(Task).outerjoin(link, link.c.task_id == Task.id)
        .where(*where).group_by(link.c.tag_id)).tuples()})
    rows = core(ctx.db).execute(
        select_views(text=False).add_columns(link.c.tag_id).outerjoin(link, link.c.task_id == Task.id)
        .where(*where).order_by(Task.priority.desc(), Task.id).limit(BOARD_LIMIT)).all()
    by_tag: dict[int | None, list[TaskView]] = {}
    views: list[TaskView] = []
    for row in rows:
        view = TaskView._make(row[:-1])
        views.append(view)
        by_tag.setdefault(row[-1], []).append(view)
    columns = [Column(None, by_tag.get(None, []), counts.get(None, 0))]
    columns += [Column(t, by_tag.get(t.id, []), counts.get(t.id, 0)) for t in tags]
    out = Board(project, group, groups, columns, shown=len(views), total=sum(counts.values()))
    page = TaskPage(project, views, out.total)
    _refs(ctx, page, views)
    out.users, out.tags = page.users, page.tags
    return out


def status_tag(ctx: Ctx, *, group_id: int, tag_id: int | None) -> tuple[TagGroup, Tag | None]:
    """A status group of the account and (unless None) one of its tags; else 16."""
    group = ctx.db.scalars(select(TagGroup).where(TagGroup.id == group_id, TagGroup.account_id == ctx.account_id,
                                                  TagGroup.applies_to == "task", TagGroup.type == "status")).first()
    if group is None:
        raise errors.tag_group_invalid(str(group_id))
    if tag_id is None:
        return group, None
    tag = ctx.db.scalars(select(Tag).where(Tag.id == tag_id, Tag.group_id == group.id)).first()
    if tag is None:
        raise errors.tag_invalid(str(tag_id))
    return group, tag


def current_status(ctx: Ctx, task_id: int, group_id: int) -> Tag | None:
    return ctx.db.scalars(select(Tag).join(TaskTag, TaskTag.tag_id == Tag.id)
                          .where(TaskTag.task_id == task_id, Tag.group_id == group_id)).first()


def visible_users(ctx: Ctx) -> list[User]:
    """The account's active users as get_users lists them, by name (the executive and subscriber choices)."""
    return sorted(members.list_users(ctx), key=lambda u: (u.first_name.casefold(), u.last_name.casefold(), u.id))


def move(ctx: Ctx, *, task_id: int, group_id: int, tag_id: int | None) -> dict[str, str]:
    """Give a task the caller may change the tag `tag_id` of a status group (None: no status of that group):
    update_task_tags, so the update/task event and its webhooks are the API's."""
    group, tag = status_tag(ctx, group_id=group_id, tag_id=tag_id)
    if tag is not None:
        return tags.update_task_tags(ctx, task_id=task_id, plus=[str(tag.id)])
    old = current_status(ctx, task_id, group.id)
    return tags.update_task_tags(ctx, task_id=task_id, minus=[str(old.id)] if old else [])
