"""The task read model (PROTOCOL.md §3.3): TaskView rows and everything a list of tasks refers to.

The number of statements does not depend on the number of tasks: each kind of related row
(children, users, projects, parents, tags, subscribers, files, comments, relations, custom
fields) is one query over the whole id set (very large sets travel as one array parameter).
A single task without list extras takes one prebuilt statement instead (`_ONE_TASK`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    BigInteger,
    Select,
    String,
    and_,
    any_,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import aliased

from localsection import access, errors
from localsection.ctx import Ctx
from localsection.db import (
    Prepared,
    Snapshot,
    core,
    driver_rows,
    ids_in,
    iso_date_text,
    iso_text,
    pg_array,
    plain,
)
from localsection.models import (
    Comment,
    Project,
    StoredFile,
    Tag,
    TagGroup,
    Task,
    TaskRelation,
    TaskSubscriber,
    TaskTag,
    User,
)
from localsection.read.custom_fields import FieldValue, field_values
from localsection.read.tags import object_tags

COMMENTS_SHOWN = 5  # the newest comments a task object carries with extra=comments
TEXT_EXTRAS = frozenset({"text", "html"})
LIST_EXTRAS = frozenset({"subscribers", "files", "comments", "relations", "custom_fields"})
_NEEDS_BULK = LIST_EXTRAS | {"subtasks"}  # extras the single-task statement does not cover


class TaskView(NamedTuple):
    """The columns a task object is made of: a plain tuple, much cheaper to build and read than an ORM row."""

    id: int
    project_id: int
    parent_id: int | None
    top_id: int | None
    depth: int
    name: str
    text: str
    todo: list[Any]
    mentions: list[Any]
    status: str
    priority: int
    user_from_id: int
    user_to_id: int | None
    user_to_any: bool
    date_added: dt.datetime
    date_start: dt.date | None
    date_end: dt.date | None
    time_start: str | None
    time_end: str | None
    date_closed: dt.datetime | None
    max_time: Decimal | None
    max_money: Decimal | None


class TaskRefRow(NamedTuple):
    """The columns of a task reference ({id, name, page, status, priority}): a parent, in the single-task path."""

    id: int
    name: str
    project_id: int
    top_id: int | None
    status: str
    priority: int


VIEW_COLUMNS = tuple(getattr(Task, name) for name in TaskView._fields)
# Without the text/html extras a task object shows neither the description nor its checklist and mentions, so
# those columns are not read at all: the largest ones, and JSON to decode for every row.
_TEXT_FIELDS = frozenset({"text", "todo", "mentions"})
_VIEW_COLUMNS_NO_TEXT = tuple(null().label(name) if name in _TEXT_FIELDS else getattr(Task, name)
                              for name in TaskView._fields)
TaskLike = Task | TaskView


def select_views(text: bool = True) -> Select[Any]:
    """SELECT of the TaskView columns (`text`=False: text, todo and mentions are None); add where/order_by and
    run it with fetch_views."""
    return select(*(VIEW_COLUMNS if text else _VIEW_COLUMNS_NO_TEXT))


def fetch_views(ctx: Ctx, query: Select[Any]) -> list[TaskView]:
    return [TaskView._make(row) for row in core(ctx.db).execute(query).all()]


def as_view(t: TaskLike) -> TaskView:
    if isinstance(t, TaskView):
        return t
    # Loaded values straight from the instance dict (attribute access through the ORM's descriptors cost
    # ~1 us a field); anything not loaded goes through the descriptor and loads.
    loaded = t.__dict__
    return TaskView._make([loaded[name] if name in loaded else getattr(t, name) for name in TaskView._fields])


# -- task lists without extras, as driver rows (render.tasks.plain_task_objects) -------------------------------

# The columns a task object without extras is made of, in this order (render.tasks unpacks them by position).
LIST_FIELDS = ("id", "project_id", "top_id", "name", "status", "priority", "user_from_id", "user_to_id",
               "user_to_any", "date_added", "date_start", "date_end", "time_start", "time_end", "date_closed",
               "max_time", "max_money")
# Timestamps and dates as ISO text on both databases (db.iso_text): the renderer slices them, no date objects.
_LIST_COLUMNS = tuple(iso_text(getattr(Task, name)).label(name) if name in ("date_added", "date_closed") else
                      iso_date_text(getattr(Task, name)).label(name) if name in ("date_start", "date_end") else
                      getattr(Task, name) for name in LIST_FIELDS)


def select_list_rows(with_parent: bool = False) -> Select[Any]:
    """SELECT of the LIST_FIELDS columns (`with_parent`: then parent_id); add where/order_by and run it with
    fetch_list_rows."""
    return select(*_LIST_COLUMNS, Task.parent_id) if with_parent else select(*_LIST_COLUMNS)


def fetch_list_rows(ctx: Ctx, query: Select[Any]) -> Sequence[tuple[Any, ...]]:
    """The rows of a select_list_rows() query as the driver gives them (db.driver_rows): no per-row objects."""
    return driver_rows(ctx.db, query)


def _project_list(active_only: bool) -> Prepared:
    where = [Task.project_id == bindparam("project"), Task.parent_id.is_(None), *access.admin_tasks_where()]
    if active_only:
        where.append(Task.status == "active")
    return Prepared(select_list_rows().where(*where).order_by(Task.id).limit(bindparam("limit")))


# A project's top-level tasks as the admin sees them, prebuilt (get_tasks without extras, the API key's common
# case): building the select and its cache key cost a sixth of a 500-task list (docs/performance.md).
_PROJECT_LIST = {active_only: _project_list(active_only) for active_only in (False, True)}


def admin_project_rows(ctx: Ctx, project_id: int, *, active_only: bool, limit: int) -> Sequence[tuple[Any, ...]]:
    """Up to `limit` LIST_FIELDS rows of the project's top-level tasks in id order, as the driver gives them (as
    fetch_list_rows): for a caller who sees the whole account (access.is_admin)."""
    return _PROJECT_LIST[active_only].driver_rows(ctx.db, {"project": project_id, "account": ctx.account_id,
                                                           "now": ctx.now(), "limit": limit})


class ListRefs(NamedTuple):
    """What the task objects of a list without extras refer to: user and project references, tags, parents."""

    users: dict[int, dict[str, str]]
    projects: dict[int, dict[str, str]]
    tags: dict[int, dict[str, str]]
    parents: dict[int, TaskRefRow]


def _text(col: Any = None) -> Any:
    return cast(null(), String) if col is None else col


def _num(col: Any = None) -> Any:
    return cast(null(), BigInteger) if col is None else col


def _ref_row(kind: str, id_: Any, owner: Any = None, s1: Any = None, s2: Any = None, s3: Any = None,
             n1: Any = None, n2: Any = None, n3: Any = None) -> Select[Any]:
    """One branch of list_refs' UNION ALL: (kind, id, owner, s1, s2, s3, n1, n2, n3), unused columns NULL."""
    return select(literal_column(f"'{kind}'").label("kind"), id_.label("id"), _num(owner).label("owner"),
                  _text(s1).label("s1"), _text(s2).label("s2"), _text(s3).label("s3"), _num(n1).label("n1"),
                  _num(n2).label("n2"), _num(n3).label("n3"))


def _id_set(name: str, dialect: str) -> Any:
    """A set of ids as ONE bound parameter: a JSON list read with json_each (SQLite), an array literal cast by
    the server (PostgreSQL: psycopg's list dumper cost ~1 us an id, 14 ms for a 15,000-task list's tags)."""
    if dialect == "postgresql":
        return any_(cast(bindparam(name, type_=String), ARRAY(BigInteger)))
    return select(func.json_each(bindparam(name, type_=String)).table_valued("value").c.value).scalar_subquery()


def _in_ids(column: Any, name: str, dialect: str) -> Any:
    ids = _id_set(name, dialect)
    return column == ids if dialect == "postgresql" else column.in_(ids)


def _refs_statement(dialect: str, public_only: bool) -> Prepared:
    """list_refs' UNION ALL, built once per dialect (building it per list cost ~1 ms, more than running it)."""
    acc = bindparam("acc", type_=BigInteger)
    tags = (_ref_row("t", Tag.id, owner=TaskTag.task_id, s1=Tag.title).join(TaskTag, TaskTag.tag_id == Tag.id)
            .join(TagGroup, TagGroup.id == Tag.group_id)
            .where(_in_ids(TaskTag.task_id, "tasks", dialect), Tag.account_id == acc))
    if public_only:
        tags = tags.where(TagGroup.access == "public")
    return Prepared(union_all(
        _ref_row("u", User.id, s1=User.email, s2=User.first_name, s3=User.last_name).where(
            _in_ids(User.id, "users", dialect), User.account_id == acc),
        _ref_row("p", Project.id, s1=Project.name).where(_in_ids(Project.id, "projects", dialect),
                                                         Project.account_id == acc),
        tags,
        _ref_row("r", Task.id, s1=Task.name, s2=Task.status, n1=Task.project_id, n2=Task.top_id,
                 n3=Task.priority).where(_in_ids(Task.id, "parents", dialect), Task.account_id == acc)))


_REFS: dict[tuple[str, bool], Prepared] = {}


def list_refs(ctx: Ctx, rows: Sequence[tuple[Any, ...]], *, with_parent: bool = False) -> ListRefs:
    """The references of LIST_FIELDS rows in one prebuilt statement however many rows (a UNION ALL of the users,
    projects, tags and, `with_parent`, the parents of subtasks: rows then end with parent_id). Every user and
    project id of the rows has a reference (render.tasks reads them without a check)."""
    if not rows:
        return ListRefs({}, {}, {}, {})
    user_ids = {r[6] for r in rows} | {r[7] for r in rows if r[7] is not None}
    project_ids = {r[1] for r in rows}
    wanted = {r[-1] for r in rows if r[-1] is not None} if with_parent else set()
    db = ctx.db
    dialect = db.get_bind().dialect.name
    key = (dialect, access.in_client_team(ctx))
    statement = _REFS.get(key)
    if statement is None:
        statement = _REFS[key] = _refs_statement(*key)
    ids: dict[str, list[int]] = {"users": sorted(user_ids), "projects": sorted(project_ids),
                                 "tasks": [r[0] for r in rows], "parents": sorted(wanted)}
    params: dict[str, Any] = {"acc": ctx.account_id}
    if dialect == "postgresql":
        params.update({name: pg_array(values) for name, values in ids.items()})
    else:
        params.update({name: orjson.dumps(values).decode() for name, values in ids.items()})
    found = statement.all(db, params)
    # Every id gets a reference (an unknown one an empty reference, as render_comments.unknown_user gives).
    users = {uid: {"id": str(uid), "email": "", "name": ""} for uid in user_ids}
    projects = {pid: {"id": str(pid), "name": "", "page": f"/project/{pid}/"} for pid in project_ids}
    parents: dict[int, TaskRefRow] = {}
    tagged: list[tuple[int, int, str]] = []
    for kind, row_id, owner, s1, s2, s3, n1, n2, n3 in found:
        if kind == "u":
            users[row_id] = {"id": str(row_id), "email": s1, "name": f"{s2} {s3}".strip() or s1}
        elif kind == "p":
            projects[row_id]["name"] = s1
        elif kind == "t":
            tagged.append((owner, row_id, s1))
        else:
            parents[row_id] = TaskRefRow(row_id, s1, n1, n2, s2, n3)
    by_task: dict[int, dict[str, str]] = {}
    for task_id, tag_id, title in sorted(tagged):
        by_task.setdefault(task_id, {})[str(tag_id)] = title
    return ListRefs(users, projects, by_task, parents)


@dataclass
class Related:
    """Everything the task objects of one response refer to, keyed by id."""

    users: dict[int, User] = field(default_factory=dict)
    projects: dict[int, Project] = field(default_factory=dict)
    parents: dict[int, TaskView | TaskRefRow] = field(default_factory=dict)
    children: dict[int, list[TaskView]] = field(default_factory=dict)
    tags: dict[int, dict[str, str]] = field(default_factory=dict)
    subscribers: dict[int, list[int]] = field(default_factory=dict)
    files: dict[int, list[StoredFile]] = field(default_factory=dict)
    comments: dict[int, list[Comment]] = field(default_factory=dict)
    rel_from: dict[int, list[tuple[str, TaskView]]] = field(default_factory=dict)
    rel_to: dict[int, list[tuple[str, TaskView]]] = field(default_factory=dict)
    custom: dict[int, list[FieldValue]] = field(default_factory=dict)



def load_children(ctx: Ctx, rows: Iterable[TaskView], *, active_only: bool,
                  text: bool = True) -> dict[int, list[TaskView]]:
    """Visible subtasks and sub-subtasks of `rows` by parent id (two queries: one per level)."""
    out: dict[int, list[TaskView]] = defaultdict(list)
    parent_ids = [t.id for t in rows if t.depth < 2]
    for _level in range(2):
        if not parent_ids:
            break
        q = select_views(text).where(ids_in(ctx.db, Task.parent_id, parent_ids), access.task_filter(ctx))
        if active_only:
            q = q.where(Task.status == "active")
        found = fetch_views(ctx, q.order_by(Task.id))
        for t in found:
            assert t.parent_id is not None
            out[t.parent_id].append(t)
        parent_ids = [t.id for t in found if t.depth < 2]
    return out


def _load_bulk(ctx: Ctx, tasks: list[TaskView], extra: Collection[str], rel: Related, *, with_parent: bool) -> None:
    """Fill `rel` for `tasks` (already including any children)."""
    ids = [t.id for t in tasks]
    wants_text = bool(TEXT_EXTRAS & set(extra))
    user_ids: set[int] = set()
    for t in tasks:
        user_ids.add(t.user_from_id)
        if t.user_to_id is not None:
            user_ids.add(t.user_to_id)
        if wants_text:
            user_ids.update(int(i) for i in (t.mentions or []) if str(i).isdigit())
    if with_parent:
        wanted = {t.parent_id for t in tasks if t.parent_id is not None}
        if wanted:
            rel.parents = {p.id: p for p in fetch_views(ctx, select_views(text=False).where(
                ids_in(ctx.db, Task.id, wanted), Task.account_id == ctx.account_id))}
    if ids:
        rel.tags = object_tags(ctx, "task", ids)
        if "subscribers" in extra:
            rel.subscribers = _subscribers(ctx, ids)
            user_ids.update(u for us in rel.subscribers.values() for u in us)
        if "files" in extra:
            rel.files = _files(ctx, ids)
        if "comments" in extra:
            rel.comments = _comments(ctx, ids)
            for cs in rel.comments.values():
                for c in cs:
                    user_ids.add(c.user_from_id)
                    user_ids.update(int(i) for i in (c.mentions or []) if str(i).isdigit())
        if "relations" in extra:
            _relations(ctx, ids, rel)
        if "custom_fields" in extra:
            rel.custom = field_values(ctx, "task", ids)
    if user_ids:
        rel.users = {u.id: u for u in ctx.db.scalars(
            select(User).where(ids_in(ctx.db, User.id, user_ids), User.account_id == ctx.account_id))}
    project_ids = {t.project_id for t in tasks}
    if project_ids:
        rel.projects = {p.id: p for p in ctx.db.scalars(
            select(Project).where(ids_in(ctx.db, Project.id, project_ids), Project.account_id == ctx.account_id))}


# -- one task: everything it refers to in one prebuilt statement -------------------------------------------


def _one_task_statement() -> Any:
    """UNION ALL of the users, project, tags and parent one task object refers to, as uniform rows
    (kind, id, name, email, first_name, last_name, group_access, status, priority, project_id, top_id; each kind
    fills its own columns, the others are NULL). Built once: a cached Core statement with bound parameters costs
    a fraction of building and loading the four ORM queries of the bulk path (docs/performance.md)."""
    u, pr, tg, tt, gr, tk = (User.__table__, Project.__table__, Tag.__table__, TaskTag.__table__,
                             TagGroup.__table__, Task.__table__)
    acc = bindparam("acc", type_=BigInteger)

    def row(kind: str, id_: Any, *, name: Any = None, email: Any = None, first_name: Any = None,
            last_name: Any = None, group_access: Any = None, status: Any = None, priority: Any = None,
            project_id: Any = None, top_id: Any = None) -> Select[Any]:
        def text(col: Any) -> Any:
            return cast(null(), String) if col is None else col

        def num(col: Any) -> Any:
            return cast(null(), BigInteger) if col is None else col

        return select(literal_column(f"'{kind}'").label("kind"), id_.label("id"), text(name).label("name"),
                      text(email).label("email"), text(first_name).label("first_name"),
                      text(last_name).label("last_name"), text(group_access).label("group_access"),
                      text(status).label("status"), num(priority).label("priority"),
                      num(project_id).label("project_id"), num(top_id).label("top_id"))

    users = (row("u", u.c.id, email=u.c.email, first_name=u.c.first_name, last_name=u.c.last_name)
             .where(u.c.account_id == acc, u.c.id.in_([bindparam("user_from", type_=BigInteger),
                                                       bindparam("user_to", type_=BigInteger)])))
    project = (row("p", pr.c.id, name=pr.c.name)
               .where(pr.c.id == bindparam("project", type_=BigInteger), pr.c.account_id == acc))
    tags = (row("t", tg.c.id, name=tg.c.title, group_access=gr.c.access)
            .join(tt, tt.c.tag_id == tg.c.id).join(gr, gr.c.id == tg.c.group_id)
            .where(tt.c.task_id == bindparam("task", type_=BigInteger), tg.c.account_id == acc))
    parent = (row("r", tk.c.id, name=tk.c.name, status=tk.c.status, priority=tk.c.priority,
                  project_id=tk.c.project_id, top_id=tk.c.top_id)
              .where(tk.c.id == bindparam("parent", type_=BigInteger), tk.c.account_id == acc))
    return union_all(users, project, tags, parent)


_ONE_TASK = Prepared(_one_task_statement())


def _load_one(ctx: Ctx, t: TaskView, rel: Related, *, with_parent: bool) -> None:
    """Fill `rel` for a single task without subtasks, list extras or mentions: one round trip instead of four."""
    parent = t.parent_id if with_parent else None
    params = {"acc": ctx.account_id, "user_from": t.user_from_id, "user_to": t.user_to_id, "project": t.project_id,
              "task": t.id, "parent": parent}
    public_only = access.in_client_team(ctx)
    tags: list[tuple[int, str]] = []
    for (kind, row_id, name, email, first_name, last_name, group_access, status, priority, project_id,
         top_id) in _ONE_TASK.all(ctx.db, params):
        if kind == "u":
            # Transient rows: only the columns a reference or a mention shows are set.
            rel.users[row_id] = plain(User, {"id": row_id, "email": email, "first_name": first_name,
                                             "last_name": last_name})
        elif kind == "p":
            rel.projects[row_id] = plain(Project, {"id": row_id, "name": name})
        elif kind == "t":
            if not public_only or group_access == "public":
                tags.append((row_id, name))
        else:
            rel.parents[row_id] = TaskRefRow(row_id, name, project_id, top_id, status, priority)
    if tags:
        rel.tags = {t.id: {str(tag_id): title for tag_id, title in sorted(tags)}}


# -- one task and everything it refers to, in one statement (get_task) ---------------------------------------

_TASK_SNAPSHOT = Snapshot(Task)
_N_TASK = len(_TASK_SNAPSHOT.columns)
# Aliases: access filters refer to Project and Task in correlated subqueries, which must not bind to these rows.
_FROM, _TO, _PROJECT, _PARENT = aliased(User), aliased(User), aliased(Project), aliased(Task)


def _with_refs() -> Select[Any]:
    """The task's columns, then its author, executive, project, parent and one tag per row (LEFT JOINs: a task
    without tags is one row, a task with n tags n rows). Every joined row is held to the task's account."""
    tt, tg, gr = TaskTag.__table__, Tag.__table__, TagGroup.__table__
    tagged = tt.join(tg, tg.c.id == tt.c.tag_id).join(gr, gr.c.id == tg.c.group_id)
    joined = (Task.__table__
              .outerjoin(_FROM, and_(_FROM.id == Task.user_from_id, _FROM.account_id == Task.account_id))
              .outerjoin(_TO, and_(_TO.id == Task.user_to_id, _TO.account_id == Task.account_id))
              .outerjoin(_PROJECT, and_(_PROJECT.id == Task.project_id, _PROJECT.account_id == Task.account_id))
              .outerjoin(_PARENT, and_(_PARENT.id == Task.parent_id, _PARENT.account_id == Task.account_id))
              .outerjoin(tagged, and_(tt.c.task_id == Task.id, tg.c.account_id == Task.account_id)))
    return select(*_TASK_SNAPSHOT.columns,
                  _FROM.id, _FROM.email, _FROM.first_name, _FROM.last_name,
                  _TO.id, _TO.email, _TO.first_name, _TO.last_name,
                  _PROJECT.id, _PROJECT.name,
                  _PARENT.id, _PARENT.name, _PARENT.project_id, _PARENT.top_id, _PARENT.status, _PARENT.priority,
                  tg.c.id, tg.c.title, gr.c.access).select_from(joined)


_ADMIN_WITH_REFS = Prepared(_with_refs().where(*access.admin_task_where()))


def task_with_refs(ctx: Ctx, task_id: int | None) -> Task:
    """access.task_snapshot(ctx, task_id) and the rows its task object refers to, in one round trip instead of
    two; the related rows wait in ctx.memo for related() (one task, no list extras). 5 Task is invalid when the
    caller may not see the task."""
    if task_id is None:
        raise errors.required("id_task")
    if access.is_admin(ctx):
        rows = _ADMIN_WITH_REFS.all(ctx.db, {"id": task_id, "account": ctx.account_id, "now": ctx.now()})
    else:
        rows = core(ctx.db).execute(_with_refs().where(Task.id == task_id, access.visible_task_filter(ctx))).all()
    if not rows:
        raise errors.task_invalid()
    first = rows[0]
    task = _TASK_SNAPSHOT.build(first[:_N_TASK])
    (from_id, from_email, from_first, from_last, to_id, to_email, to_first, to_last, project_id, project_name,
     parent_id, parent_name, parent_project, parent_top, parent_status, parent_priority) = first[_N_TASK:_N_TASK + 16]
    rel = Related()
    for uid, email, first_name, last_name in ((from_id, from_email, from_first, from_last),
                                               (to_id, to_email, to_first, to_last)):
        if uid is not None:
            rel.users[uid] = plain(User, {"id": uid, "email": email, "first_name": first_name,
                                          "last_name": last_name})
    if project_id is not None:
        rel.projects[project_id] = plain(Project, {"id": project_id, "name": project_name})
    if parent_id is not None:
        rel.parents[parent_id] = TaskRefRow(parent_id, parent_name, parent_project, parent_top, parent_status,
                                            parent_priority)
    public_only = access.in_client_team(ctx)
    tags = sorted((row[-3], row[-2]) for row in rows
                  if row[-3] is not None and (not public_only or row[-1] == "public"))
    if tags:
        rel.tags = {task.id: {str(tag_id): title for tag_id, title in tags}}
    ctx.memo.task_refs = {task.id: rel}
    return task


def _subscribers(ctx: Ctx, ids: list[int]) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    q = (select(TaskSubscriber.task_id, TaskSubscriber.user_id).where(ids_in(ctx.db, TaskSubscriber.task_id, ids))
         .order_by(TaskSubscriber.task_id, TaskSubscriber.user_id))
    for task_id, user_id in ctx.db.execute(q):
        out[task_id].append(user_id)
    return out


def _files(ctx: Ctx, ids: list[int]) -> dict[int, list[StoredFile]]:
    """Files of the descriptions (not of comments)."""
    out: dict[int, list[StoredFile]] = defaultdict(list)
    q = (select(StoredFile).where(ids_in(ctx.db, StoredFile.task_id, ids), StoredFile.comment_id.is_(None),
                                  StoredFile.account_id == ctx.account_id).order_by(StoredFile.id))
    for f in ctx.db.scalars(q):
        assert f.task_id is not None
        out[f.task_id].append(f)
    return out


def _comments(ctx: Ctx, ids: list[int]) -> dict[int, list[Comment]]:
    """The five newest visible comments of each task, newest first (one windowed query)."""
    rank = func.row_number().over(partition_by=Comment.task_id,
                                  order_by=(Comment.date_added.desc(), Comment.id.desc())).label("rn")
    ranked = (select(Comment.id, rank).where(ids_in(ctx.db, Comment.task_id, ids), access.comment_filter(ctx))
              .subquery())
    q = (select(Comment).join(ranked, ranked.c.id == Comment.id).where(ranked.c.rn <= COMMENTS_SHOWN)
         .order_by(Comment.task_id, ranked.c.rn))
    out: dict[int, list[Comment]] = defaultdict(list)
    for c in ctx.db.scalars(q):
        out[c.task_id].append(c)
    return out


def _relations(ctx: Ctx, ids: list[int], rel: Related) -> None:
    """Predecessors (`from`) and successors (`to`) of each task; related tasks the caller cannot see are left out."""
    links = list(ctx.db.execute(select(TaskRelation.from_task_id, TaskRelation.to_task_id, TaskRelation.type)
                                .where(ids_in(ctx.db, TaskRelation.from_task_id, ids))))
    links += list(ctx.db.execute(select(TaskRelation.from_task_id, TaskRelation.to_task_id, TaskRelation.type)
                                 .where(ids_in(ctx.db, TaskRelation.to_task_id, ids))))
    others = {a for a, _, _ in links} | {b for _, b, _ in links}
    if not others:
        return
    tasks = {t.id: t for t in fetch_views(ctx, select_views(text=False).where(ids_in(ctx.db, Task.id, others),
                                                                    access.visible_task_filter(ctx)))}
    wanted = set(ids)
    seen: set[tuple[int, int]] = set()
    for a, b, kind in sorted(links, key=lambda x: (x[0], x[1])):
        if (a, b) in seen:
            continue
        seen.add((a, b))
        if b in wanted and a in tasks:
            rel.rel_from.setdefault(b, []).append((kind, tasks[a]))
        if a in wanted and b in tasks:
            rel.rel_to.setdefault(a, []).append((kind, tasks[b]))


def related(ctx: Ctx, views: list[TaskView], extra: frozenset[str], *, reduced_children: bool, active_only: bool,
            with_parent: bool) -> Related:
    """Everything the task objects of `views` refer to (children with `subtasks`; `reduced_children`: children
    are shown as references only, so their own related rows are not loaded)."""
    rel = Related()
    if "subtasks" in extra:
        rel.children = load_children(ctx, views, active_only=active_only, text=bool(extra & TEXT_EXTRAS))
    if len(views) == 1 and not extra & _NEEDS_BULK and not (extra & TEXT_EXTRAS and views[0].mentions):
        read = ctx.memo.task_refs.pop(views[0].id, None) if ctx.memo.task_refs else None
        if read is None:
            _load_one(ctx, views[0], rel, with_parent=with_parent)
        else:  # read with the task (task_with_refs)
            rel.users, rel.projects, rel.tags = read.users, read.projects, read.tags
            rel.parents = read.parents if with_parent else {}
    else:
        everyone = list(views)
        if not reduced_children:
            everyone += [c for cs in rel.children.values() for c in cs]
        _load_bulk(ctx, everyone, extra, rel, with_parent=with_parent)
    return rel
