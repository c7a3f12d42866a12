"""Tasks and subtasks (PROTOCOL.md §4.3, §5): lists, search, one task, create, change, complete, reopen.

The API cannot delete a task (§9.1); the web app can (delete_task, the `delete_task` webhook event). The web
app also changes what update_task leaves alone: the description and checklist, subscribers and relations.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, delete, func, insert, or_, select, update
from sqlalchemy.orm import aliased

from localsection import access, errors, events, files, render, tagging
from localsection.ctx import Ctx
from localsection.domain import UNSET, Unset
from localsection.filters import Field, compile_filter
from localsection.formats import truthy
from localsection.models import (
    Comment,
    CommentVisibility,
    Cost,
    CustomField,
    CustomFieldValue,
    Project,
    StoredFile,
    Task,
    TaskRelation,
    TaskSubscriber,
    TaskTag,
    TaskVisibility,
    Timer,
    User,
)
from localsection.read.tasks import (
    TaskView,
    admin_project_rows,
    fetch_list_rows,
    fetch_views,
    select_list_rows,
    select_views,
    task_with_refs,
)
from localsection.render import date as fmt_date
from localsection.render import task_page
from localsection.render.members import ANY_EXECUTIVE, NOONE_EXECUTIVE, user_ref
from localsection.render.tasks import task_text

T = TypeVar("T")

MAX_DEPTH = 2  # task / subtask / sub-subtask
# Top-level lists above this many tasks are streamed, STREAM_CHUNK tasks per read transaction, so memory stays
# flat however long the list (issue 7); smaller lists are read at once, in the caller's transaction.
STREAM_ABOVE = 2000
STREAM_CHUNK = 1000


# -- shared helpers ------------------------------------------------------------------------------------

def page_of(t: Task) -> str:
    return task_page(t.project_id, t.id, t.top_id)


def capped(ctx: Ctx, query: Select[Any], fetch: Callable[[Ctx, Select[Any]], Sequence[Any]] = fetch_views
           ) -> list[Any]:
    """Run a select_views() query (or another `fetch` reads); above Settings.record_cap rows (when > 0) -> Too many
    tasks."""
    cap = ctx.settings.record_cap
    if cap > 0:
        rows = list(fetch(ctx, query.limit(cap + 1)))
        if len(rows) > cap:
            raise errors.too_many(cap)
        return rows
    return list(fetch(ctx, query))


def not_archived(query: Select[Any]) -> Select[Any]:
    """Only tasks of projects that are not archived (an alias, so visibility subqueries keep correlating)."""
    proj = aliased(Project)
    return query.join(proj, proj.id == Task.project_id).where(proj.status != "archive")


def executive_ref(ctx: Ctx, user_id: int | None, anyone: bool) -> dict[str, str]:
    """The user_to reference of an (id, ANY flag) pair, for event payloads."""
    if anyone:
        return ANY_EXECUTIVE
    if user_id is None:
        return NOONE_EXECUTIVE
    user = ctx.db.get(User, user_id)
    return user_ref(user) if user else NOONE_EXECUTIVE


def resolve_executive(ctx: Ctx, email: str) -> tuple[int | None, bool]:
    """An executive given as an account user's e-mail, ANY or NOONE -> (user id, anyone flag)."""
    value = email.strip()
    if value.upper() == "ANY":
        return None, True
    if value.upper() == "NOONE":
        return None, False
    return access.user_by_email(ctx, value).id, False


def default_executive(project: Project) -> tuple[int | None, bool]:
    """The project's default executive of new tasks (NOONE when unset)."""
    if project.executive_any:
        return None, True
    return project.executive_id, False


def _iso(value: dt.date | None) -> str:
    return fmt_date(value) if value is not None else ""


def _num(value: Decimal | None) -> int | float | str:
    n = render.number(value)
    return "" if n is None else n


# -- reads ---------------------------------------------------------------------------------------------

@dataclass
class TaskStream:
    """A top-level list too long to read at once: `head` is read already, the `rest` ids are read again chunk by
    chunk, each chunk in its own short transaction (see chunks)."""

    query: Select[Any]
    head: list[Any]  # TaskViews, or LIST_FIELDS rows with `plain`
    rest: array[int]
    plain: bool = False

    def chunks(self, ctx: Ctx, shape: Callable[[Ctx, list[Any]], T]) -> Iterator[T]:
        """`shape(chunk_ctx, views)` of STREAM_CHUNK tasks at a time, called inside the chunk's transaction and
        yielded after it ended (no connection is held while the consumer works with the result).

        The `rest` ids are loaded again through the list's query, so its filters hold for the rows as they are
        now: a task that no longer matches between chunks is left out, never shown in error.
        """
        head, rest, q = self.head, self.rest, self.query
        for start in range(0, len(head) + len(rest), STREAM_CHUNK):
            views = head[start:start + STREAM_CHUNK]
            ids = list(rest[max(0, start - len(head)):max(0, start + STREAM_CHUNK - len(head))])
            with ctx.session(write=False) as db:
                cctx = dataclasses.replace(ctx, db=db)
                if ids:
                    # A primary-key range scan, then only the ids counted when the cap was decided (a task that
                    # became visible since is not added): cheaper than a 1,000-id IN list.
                    wanted = set(ids)
                    fetch = fetch_list_rows if self.plain else fetch_views
                    views += [t for t in fetch(cctx, q.where(Task.id.between(ids[0], ids[-1])))
                              if t[0] in wanted]
                out = shape(cctx, views)
            yield out


def list_tasks(ctx: Ctx, *, project_id: int | None = None, with_text: bool = False, archived: bool = False,
               active_only: bool = False, plain: bool = False) -> list[Any] | TaskStream:
    """Visible top-level tasks in id order: of one project, or of every visible project (those of archived
    projects only with `archived`); open ones only with `active_only`; `with_text` reads descriptions too.
    TaskViews; with `plain`, read.tasks.LIST_FIELDS rows as the driver gives them (render.tasks.plain_task_objects).

    Up to STREAM_ABOVE tasks come as a list; a longer one as a TaskStream. The record cap (Too many tasks) is
    decided here, in the caller's transaction, before anything is sent.
    """
    cap = ctx.settings.record_cap
    at_once = STREAM_ABOVE if cap <= 0 else min(cap, STREAM_ABOVE)
    project = None if project_id is None else access.project_snapshot(ctx, project_id)
    rows = None
    if plain and project is not None and access.is_admin(ctx):  # the common case, in a prebuilt statement
        rows = list(admin_project_rows(ctx, project.id, active_only=active_only, limit=at_once + 1))
        if len(rows) <= at_once:
            return rows
    columns = select_list_rows() if plain else select_views(with_text)
    fetch = fetch_list_rows if plain else fetch_views
    if project is None:
        q = columns.where(access.visible_task_filter(ctx), Task.parent_id.is_(None))
        if not archived:
            q = not_archived(q)
    else:
        q = columns.where(Task.project_id == project.id, Task.parent_id.is_(None), access.task_filter(ctx))
    if active_only:
        q = q.where(Task.status == "active")
    q = q.order_by(Task.id)
    if rows is None:
        rows = list(fetch(ctx, q.limit(at_once + 1)))
        if len(rows) <= at_once:
            return rows
    if 0 < cap <= at_once:
        raise errors.too_many(cap)
    head = rows[:at_once]
    # The rest as bare ids (8 bytes each): read later, chunk by chunk.
    rest_q = q.with_only_columns(Task.id).where(Task.id > head[-1][0])
    if cap > 0:
        rest_q = rest_q.limit(cap - len(head) + 1)
    rest = array("q", ctx.db.scalars(rest_q))
    if cap > 0 and len(head) + len(rest) > cap:
        raise errors.too_many(cap)
    return TaskStream(q, head, rest, plain)


def get_task(ctx: Ctx, *, task_id: int) -> Task:
    """A visible task or subtask (a read-only snapshot); else 5 Task is invalid. Read with the rows its task
    object refers to (one statement; render.tasks uses them)."""
    return task_with_refs(ctx, task_id)


SEARCH_FIELDS: dict[str, Field] = {
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
SEARCH_SCOPE = ("filter", "id_project", "id_task", "email_user_from", "email_user_to")

_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
_PROJECT_FIELD = re.compile(r"\bproject\b")


@dataclass(frozen=True)
class TaskSearch:
    """The conditions of search_tasks; at least one of the first five must be given."""

    filter: str | None = None  # the query language of PROTOCOL.md §5
    project_id: int | None = None
    task_id: int | None = None  # the task and its subtasks
    author_email: str | None = None
    executive_email: str | None = None  # an e-mail, ANY or NOONE
    status: str | None = None  # "active" or "done"; anything else is no condition


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


def _search_conditions(ctx: Ctx, s: TaskSearch) -> list[ColumnElement[bool]]:
    """The SQL conditions of the given scope (each checked: 4, 5, 11)."""
    conds: list[ColumnElement[bool]] = []
    if s.project_id is not None:
        conds.append(Task.project_id == access.project(ctx, s.project_id).id)
    if s.task_id is not None:
        tid = access.task(ctx, s.task_id).id
        conds.append(or_(Task.id == tid, Task.parent_id == tid, Task.top_id == tid))
    if s.author_email is not None:
        conds.append(Task.user_from_id == access.user_by_email(ctx, s.author_email).id)
    if s.executive_email is not None:
        conds.append(_executive_cond(ctx, s.executive_email))
    if s.filter is not None:
        conds.append(compile_filter(s.filter, SEARCH_FIELDS, ctx.tz))
    status = (s.status or "").strip().lower()
    if status in ("active", "done"):
        conds.append(Task.status == status)
    return conds


def search_tasks(ctx: Ctx, search: TaskSearch, *, with_text: bool = False, plain: bool = False) -> list[Any]:
    """Visible tasks and subtasks matching every condition, in id order, capped; archived projects are searched
    only when the search names a project. TaskViews; with `plain`, read.tasks.LIST_FIELDS rows and parent_id as
    the driver gives them (render.tasks.plain_task_objects)."""
    if all(v is None for v in (search.filter, search.project_id, search.task_id, search.author_email,
                               search.executive_email)):
        raise errors.one_of_required(", ".join(SEARCH_SCOPE))
    columns = select_list_rows(with_parent=True) if plain else select_views(with_text)
    q = columns.where(access.visible_task_filter(ctx), *_search_conditions(ctx, search))
    if search.project_id is None and not _names_project(search.filter or ""):
        q = not_archived(q)
    return capped(ctx, q.order_by(Task.id), fetch_list_rows if plain else fetch_views)


# -- create --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NewTask:
    """What post_task creates. E-mails are resolved (and checked) by create_task."""

    project_id: int
    title: str  # blank: 10 Field is required
    parent_id: int | None = None  # a subtask of this task
    author_email: str | None = None  # honoured for the admin key only; else the caller is the author
    executive: str | None = None  # an e-mail, ANY or NOONE; None or "" = the project's default
    text: str = ""
    todo: Sequence[str] = ()
    priority: int | None = None  # None: 1, and not in the event
    date_start: dt.date | None = None
    date_end: dt.date | None = None
    max_time: Decimal | None = None
    max_money: Decimal | None = None
    subscribers: Sequence[str] = ()  # e-mails
    hidden: Sequence[str] = ()  # e-mails of the only users (besides author and admins) who see it
    mentions: Sequence[str] = ()  # e-mails
    tags: Sequence[str] = ()  # tag names or ids
    attachments: files.Attachments = files.NO_FILES


def _parent(ctx: Ctx, parent_id: int | None, project: Project) -> Task | None:
    """The parent of a new subtask: same project, at most two levels deep, not done."""
    if parent_id is None:
        return None
    parent = access.task_snapshot(ctx, parent_id)
    if parent.project_id != project.id or parent.depth >= MAX_DEPTH:
        raise errors.task_invalid()
    if parent.status == "done":
        raise errors.task_closed()
    return parent


def create_task(ctx: Ctx, new: NewTask) -> Task:
    """Create a task (or a subtask with parent_id) in a project the caller may change; records post/task."""
    project = access.project(ctx, new.project_id, write=True)
    title = new.title.strip()
    if not title:
        raise errors.required("title")
    parent = _parent(ctx, new.parent_id, project)
    author = access.author(ctx, new.author_email)
    user_to_id, anyone = resolve_executive(ctx, new.executive) if new.executive else default_executive(project)
    subscribers = access.users_by_emails(ctx, list(new.subscribers))
    hidden = access.users_by_emails(ctx, list(new.hidden))
    mentioned = access.users_by_emails(ctx, list(new.mentions))
    tags = tagging.resolve(ctx, "task", list(new.tags))
    task = Task(account_id=ctx.account_id, project_id=project.id, parent_id=parent.id if parent else None,
                top_id=(parent.top_id or parent.id) if parent else None, depth=parent.depth + 1 if parent else 0,
                name=title, name_folded=title.casefold(), text=new.text, todo=list(new.todo),
                mentions=[u.id for u in mentioned], status="active",
                priority=1 if new.priority is None else new.priority, user_from_id=author.id,
                user_to_id=user_to_id, user_to_any=anyone, hidden=bool(hidden), date_added=ctx.now(),
                date_start=new.date_start, date_end=new.date_end, max_time=new.max_time, max_money=new.max_money)
    ctx.db.add(task)
    ctx.db.flush()
    _link_users(ctx, task.id, TaskVisibility, hidden)
    _link_users(ctx, task.id, TaskSubscriber, subscribers)
    _, tag_map = tagging.change(ctx, "task", task.id, tags, [], replace=True)
    files.attach(ctx, new.attachments, author=author, project_id=project.id, task_id=task.id)
    events.record(ctx, "post", "task", task.id, page_of(task), project.id,
                  new=_created_fields(ctx, new, task, tag_map, mentioned), actor_id=author.id)
    return task


def _link_users(ctx: Ctx, task_id: int, model: type[TaskVisibility] | type[TaskSubscriber],
                users: list[User]) -> None:
    if users:
        ctx.db.execute(insert(model), [{"task_id": task_id, "user_id": u.id} for u in users])


def _created_fields(ctx: Ctx, given: NewTask, t: Task, tags: dict[str, str],
                    mentioned: list[User]) -> dict[str, Any]:
    """`new` of a post/task event: the fields given at creation."""
    new: dict[str, Any] = {"title": t.name}
    if given.priority is not None:
        new["priority"] = str(t.priority)
    if given.executive is not None:
        new["user_to"] = executive_ref(ctx, t.user_to_id, t.user_to_any)
    if t.text or t.todo or t.mentions:
        new["text"] = task_text(t, {u.id: u for u in mentioned})
    if t.date_start is not None:
        new["date_start"] = _iso(t.date_start)
    if t.date_end is not None:
        new["date_end"] = _iso(t.date_end)
    if t.max_time is not None:
        new["max_time"] = _num(t.max_time)
    if t.max_money is not None:
        new["max_money"] = _num(t.max_money)
    if tags:
        new["tags"] = tags
    return new


# -- change --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TaskChanges:
    """The editable fields of update_task; a field left at its default is left as it is.

    The title, executive, priority, closing date and tags: None = leave. The dates, the estimate and the budget
    can also be emptied: UNSET = leave, None = empty. (The API never empties them, since an empty optional
    parameter is "not given"; the web app's edit form empties the ones a person left blank.)

    The description, checklist, author, subscribers and visibility are not editable (FAQ): the real service
    ignores them without an error, and so do we.
    """

    title: str | None = None  # blank: ignored
    executive: str | None = None  # an e-mail, ANY or NOONE; "" = unchanged
    priority: int | None = None
    date_start: dt.date | Unset | None = UNSET
    date_end: dt.date | Unset | None = UNSET
    date_closed: dt.date | None = None  # a local calendar day; only for a done task
    max_time: Decimal | Unset | None = UNSET
    max_money: Decimal | Unset | None = UNSET
    tags: Sequence[str] | None = None  # replaces the set


class _Changes:
    """Collects (new, old) pairs of changed fields for the update/task event."""

    def __init__(self) -> None:
        self.new: dict[str, Any] = {}
        self.old: dict[str, Any] = {}

    def add(self, key: str, old: Any, new: Any) -> None:
        if old != new:
            self.old[key] = old
            self.new[key] = new


def _closed_at(ctx: Ctx, task: Task, day: dt.date) -> dt.datetime:
    """The naive-UTC close timestamp for a local calendar day (keeping the local time of day)."""
    local_time = ctx.local(task.date_closed).time() if task.date_closed else dt.time(0, 0)
    local = dt.datetime.combine(day, local_time).replace(tzinfo=ctx.tz)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _apply_changes(ctx: Ctx, c: TaskChanges, task: Task) -> _Changes:
    """Resolve every given value first, then change the row; returns the changed fields."""
    executive = resolve_executive(ctx, c.executive) if c.executive else None
    tags = tagging.resolve(ctx, "task", list(c.tags)) if c.tags is not None else None
    ch = _Changes()
    if c.title is not None and c.title.strip():
        ch.add("title", task.name, c.title.strip())
        task.name, task.name_folded = c.title.strip(), c.title.strip().casefold()
    if executive is not None and executive != (task.user_to_id, task.user_to_any):
        ch.add("user_to", executive_ref(ctx, task.user_to_id, task.user_to_any), executive_ref(ctx, *executive))
        task.user_to_id, task.user_to_any = executive
    if c.priority is not None:
        ch.add("priority", str(task.priority), str(c.priority))
        task.priority = c.priority
    if not isinstance(c.date_start, Unset):
        ch.add("date_start", _iso(task.date_start), _iso(c.date_start))
        task.date_start = c.date_start
    if not isinstance(c.date_end, Unset):
        ch.add("date_end", _iso(task.date_end), _iso(c.date_end))
        task.date_end = c.date_end
    if c.date_closed is not None and task.status == "done":
        when = _closed_at(ctx, task, c.date_closed)
        old_closed = render.datetime_min(ctx.local(task.date_closed)) if task.date_closed else ""
        ch.add("date_closed", old_closed, render.datetime_min(ctx.local(when)))
        task.date_closed = when
    if not isinstance(c.max_time, Unset):
        ch.add("max_time", _num(task.max_time), _num(c.max_time))
        task.max_time = c.max_time
    if not isinstance(c.max_money, Unset):
        ch.add("max_money", _num(task.max_money), _num(c.max_money))
        task.max_money = c.max_money
    if tags is not None:
        old_tags, new_tags = tagging.change(ctx, "task", task.id, tags, [], replace=True)
        ch.add("tags", old_tags, new_tags)
    return ch


def update_task(ctx: Ctx, *, task_id: int, changes: TaskChanges) -> Task:
    """Change an open or done task the caller may change; records update/task when anything changed."""
    task = access.task(ctx, task_id, write=True)
    ch = _apply_changes(ctx, changes, task)
    ctx.db.flush()
    if ch.new:
        events.record(ctx, "update", "task", task.id, page_of(task), task.project_id, new=ch.new, old=ch.old)
    return task


# -- complete / reopen ---------------------------------------------------------------------------------

def _has_open_children(ctx: Ctx, task: Task) -> bool:
    q = select(func.count()).select_from(Task).where(
        Task.account_id == ctx.account_id, or_(Task.parent_id == task.id, Task.top_id == task.id),
        Task.status == "active")
    return bool(ctx.db.scalar(q))


def _costs_required(ctx: Ctx, task: Task) -> bool:
    """Project option time_require=1 and the task has no cost rows yet."""
    project = ctx.db.get(Project, task.project_id)
    if project is None or not truthy((project.options or {}).get("time_require", 0)):
        return False
    return ctx.db.scalar(select(Cost.id).where(Cost.task_id == task.id).limit(1)) is None


def complete_task(ctx: Ctx, *, task_id: int) -> Task:
    """Mark done; refused when already done (12), with open subtasks (13), or without required costs (11)."""
    task = access.task(ctx, task_id, write=True)
    if task.status == "done":
        raise errors.task_already_closed()
    if _has_open_children(ctx, task):
        raise errors.task_has_children()
    if _costs_required(ctx, task):
        raise errors.costs_required()
    task.status, task.date_closed = "done", ctx.now()
    ctx.db.flush()
    events.record(ctx, "close", "task", task.id, page_of(task), task.project_id)
    return task


def reopen_task(ctx: Ctx, *, task_id: int) -> Task:
    """Reopen a done task (12 when open); a subtask of a done parent cannot be reopened (14). Status only."""
    task = access.task(ctx, task_id, write=True)
    if task.status != "done":
        raise errors.task_already_active()
    if task.parent_id is not None:
        parent = ctx.db.get(Task, task.parent_id)
        if parent is not None and parent.status == "done":
            raise errors.parent_task_done()
    task.status, task.date_closed = "active", None
    ctx.db.flush()
    events.record(ctx, "reopen", "task", task.id, page_of(task), task.project_id)
    return task


# -- what only the web app changes ----------------------------------------------------------------------

MAX_TODO = 100  # checklist items of one task
MAX_TODO_ITEM = 1000  # characters of one item
RELATION_TYPES = ("finish-to-start", "start-to-start")


def change_description(ctx: Ctx, *, task_id: int, text: str, todo: Sequence[str]) -> Task:
    """Replace the description (already sanitized by the caller) and the checklist of a task the caller may
    change; records update/task with the `text` (description and checklist, as task objects show it)."""
    task = access.task(ctx, task_id, write=True)
    items = [i.strip() for i in todo if i.strip()]
    if len(items) > MAX_TODO or any(len(i) > MAX_TODO_ITEM for i in items):
        raise errors.invalid_value("Checklist is too long")
    users = access.users_by_id(ctx.db, ctx.account_id, {int(i) for i in task.mentions or [] if str(i).isdigit()})
    before = task_text(task, users)
    task.text, task.todo = text, items
    ctx.db.flush()
    after = task_text(task, users)
    if after != before:
        events.record(ctx, "update", "task", task.id, page_of(task), task.project_id, new={"text": after},
                      old={"text": before})
    return task


def set_subscribers(ctx: Ctx, *, task_id: int, emails: Sequence[str]) -> list[User]:
    """Make exactly these account users (e-mails) follow a task the caller may change (no event, as the API)."""
    task = access.task(ctx, task_id, write=True)
    users = access.users_by_emails(ctx, list(emails))
    ctx.db.execute(delete(TaskSubscriber).where(TaskSubscriber.task_id == task.id))
    _link_users(ctx, task.id, TaskSubscriber, users)
    return users


def subscriber_ids(ctx: Ctx, task_id: int) -> list[int]:
    return list(ctx.db.scalars(select(TaskSubscriber.user_id).where(TaskSubscriber.task_id == task_id)
                               .order_by(TaskSubscriber.user_id)))


@dataclass(frozen=True)
class Relation:
    """A dependency of the edited task on another: `other` must finish (or start) before this one starts."""

    other_id: int
    type: str = "finish-to-start"


def predecessors(ctx: Ctx, task_id: int) -> list[tuple[str, TaskView]]:
    """The visible tasks this one depends on, with the relation type (as extra=relations `from` shows them)."""
    links = dict(ctx.db.execute(select(TaskRelation.from_task_id, TaskRelation.type)
                                .where(TaskRelation.to_task_id == task_id)).tuples().all())
    if not links:
        return []
    views = fetch_views(ctx, select_views(text=False).where(Task.id.in_(links), access.visible_task_filter(ctx))
                        .order_by(Task.id))
    return [(links[v.id], v) for v in views]


def set_predecessors(ctx: Ctx, *, task_id: int, relations: Sequence[Relation]) -> None:
    """Replace the tasks this one depends on: each visible, of the same account, not itself, not one that
    depends on this task already (no two-task cycles). Links to tasks the caller cannot see are kept."""
    task = access.task(ctx, task_id, write=True)
    wanted: dict[int, str] = {}
    for rel in relations:
        if rel.type not in RELATION_TYPES:
            raise errors.invalid_value("Relation type is invalid", rel.type)
        other = access.task(ctx, rel.other_id)
        if other.id == task.id:
            raise errors.invalid_value("A task cannot depend on itself", str(other.id))
        wanted[other.id] = rel.type
    if wanted:
        cycles = ctx.db.scalars(select(TaskRelation.to_task_id).where(TaskRelation.from_task_id == task.id,
                                                                      TaskRelation.to_task_id.in_(wanted))).first()
        if cycles is not None:
            raise errors.invalid_value("These tasks would depend on each other", str(cycles))
    visible = {v.id for _, v in predecessors(ctx, task.id)}
    ctx.db.execute(delete(TaskRelation).where(TaskRelation.to_task_id == task.id,
                                              TaskRelation.from_task_id.in_(visible | set(wanted))))
    if wanted:
        ctx.db.execute(insert(TaskRelation), [{"from_task_id": other, "to_task_id": task.id, "type": kind}
                                              for other, kind in wanted.items()])


# -- delete -------------------------------------------------------------------------------------------

def subtree_ids(ctx: Ctx, task: Task) -> list[int]:
    """The task's id and those of its subtasks and sub-subtasks, deepest first (children before parents)."""
    level = [task.id]
    levels = [level]
    for _ in range(MAX_DEPTH):
        level = list(ctx.db.scalars(select(Task.id).where(Task.account_id == ctx.account_id,
                                                          Task.parent_id.in_(level))))
        if not level:
            break
        levels.append(level)
    return [i for lvl in reversed(levels) for i in lvl]


def delete_task(ctx: Ctx, *, task_id: int) -> None:
    """Delete a task the caller may change with its subtasks and everything on them: comments, costs, timers,
    file links (their stored bytes go with the next files sweep), tags, subscribers, relations, custom field
    values. Records delete/task (the `delete_task` webhook event) for the task itself."""
    task = access.task(ctx, task_id, write=True)
    ids = subtree_ids(ctx, task)
    page, project_id = page_of(task), task.project_id
    comments = select(Comment.id).where(Comment.task_id.in_(ids))
    # Recorded first: the webhooks it goes to are chosen while the task's visibility can still be checked, so the
    # deletion of a hidden task reaches only those who could see it.
    events.record(ctx, "delete", "task", task_id, page, project_id)
    db = ctx.db
    db.execute(update(Task).where(Task.id.in_(ids)).values(parent_id=None))  # no order needed below
    db.execute(delete(StoredFile).where(or_(StoredFile.task_id.in_(ids), StoredFile.comment_id.in_(comments))))
    db.execute(delete(CommentVisibility).where(CommentVisibility.comment_id.in_(comments)))
    db.execute(delete(Comment).where(Comment.task_id.in_(ids)))
    db.execute(delete(Cost).where(Cost.task_id.in_(ids)))
    db.execute(delete(Timer).where(Timer.task_id.in_(ids)))
    task_fields = select(CustomField.id).where(CustomField.account_id == ctx.account_id,
                                               CustomField.applies_to == "task")
    db.execute(delete(CustomFieldValue).where(CustomFieldValue.field_id.in_(task_fields),
                                              CustomFieldValue.object_id.in_(ids)))
    for model in (TaskTag, TaskSubscriber, TaskVisibility):
        db.execute(delete(model).where(model.task_id.in_(ids)))
    db.execute(delete(TaskRelation).where(or_(TaskRelation.from_task_id.in_(ids), TaskRelation.to_task_id.in_(ids))))
    db.expunge(task)
    db.execute(delete(Task).where(Task.id.in_(ids), Task.account_id == ctx.account_id))
