"""The task object (PROTOCOL.md §3.3): one bulk renderer that loads every related row with IN queries.

The number of statements does not depend on the number of tasks: each kind of related row
(children, users, projects, parents, tags, subscribers, files, comments, relations, custom
fields) is one query over the whole id set (very large sets travel as one array parameter).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Select, String, bindparam, cast, func, literal_column, null, select, union_all

from localsection import access
from localsection.ctx import Ctx
from localsection.db import Prepared, core, ids_in, plain
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
from localsection.render import comments as rc
from localsection.render import date, datetime_min, number, project_ref, put, task_page, task_ref
from localsection.render.custom_fields import custom_field_values
from localsection.render.files import task_file
from localsection.render.members import ANY_EXECUTIVE, NOONE_EXECUTIVE, user_ref
from localsection.render.tags import object_tags

# Above this many ids a list travels as one array/JSON parameter instead of one bind per id
# (PostgreSQL and SQLite both cap the number of bind parameters of a statement).
COMMENTS_SHOWN = 5
TEXT_EXTRAS = frozenset({"text", "html"})
RENDERED_EXTRAS = frozenset({"subscribers", "files", "comments", "relations", "custom_fields"})
_NEEDS_BULK = RENDERED_EXTRAS | {"subtasks"}  # extras the single-task statement does not cover


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
    return TaskView._make(loaded[name] if name in loaded else getattr(t, name) for name in TaskView._fields)


@dataclass
class _Related:
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
    custom: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    user_refs: dict[int, dict[str, str]] = field(default_factory=dict)
    project_refs: dict[int, dict[str, str]] = field(default_factory=dict)

    def user(self, user_id: int) -> dict[str, str]:
        ref = self.user_refs.get(user_id)
        if ref is None:
            u = self.users.get(user_id)
            ref = user_ref(u) if u else rc.unknown_user(user_id)
            self.user_refs[user_id] = ref
        return ref

    def project(self, project_id: int) -> dict[str, str]:
        ref = self.project_refs.get(project_id)
        if ref is None:
            p = self.projects.get(project_id)
            ref = project_ref(project_id, p.name if p else "")
            self.project_refs[project_id] = ref
        return ref


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


def _load(ctx: Ctx, tasks: list[TaskView], extra: Collection[str], rel: _Related, *, with_parent: bool) -> None:
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
            rel.custom = custom_field_values(ctx, "task", ids)
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
    (kind, id, s1, s2, s3, n1, n2, n3). Built once: a cached Core statement with bound parameters costs a
    fraction of building and loading the four ORM queries of the bulk path (docs/performance.md)."""
    u, pr, tg, tt, gr, tk = (User.__table__, Project.__table__, Tag.__table__, TaskTag.__table__,
                             TagGroup.__table__, Task.__table__)
    acc = bindparam("acc", type_=BigInteger)
    text_null, int_null = cast(null(), String), cast(null(), BigInteger)
    users = (select(literal_column("'u'"), u.c.id, u.c.email, u.c.first_name, u.c.last_name, int_null, int_null,
                    int_null)
             .where(u.c.account_id == acc, u.c.id.in_([bindparam("user_from", type_=BigInteger),
                                                       bindparam("user_to", type_=BigInteger)])))
    project = (select(literal_column("'p'"), pr.c.id, pr.c.name, text_null, text_null, int_null, int_null, int_null)
               .where(pr.c.id == bindparam("project", type_=BigInteger), pr.c.account_id == acc))
    tags = (select(literal_column("'t'"), tg.c.id, tg.c.title, gr.c.access, text_null, int_null, int_null, int_null)
            .join(tt, tt.c.tag_id == tg.c.id).join(gr, gr.c.id == tg.c.group_id)
            .where(tt.c.task_id == bindparam("task", type_=BigInteger), tg.c.account_id == acc))
    parent = (select(literal_column("'r'"), tk.c.id, tk.c.name, tk.c.status, text_null, tk.c.priority,
                     tk.c.project_id, tk.c.top_id)
              .where(tk.c.id == bindparam("parent", type_=BigInteger), tk.c.account_id == acc))
    return union_all(users, project, tags, parent)


_ONE_TASK = Prepared(_one_task_statement())


def _load_one(ctx: Ctx, t: TaskView, rel: _Related, *, with_parent: bool) -> None:
    """Fill `rel` for a single task without subtasks, list extras or mentions: one round trip instead of four."""
    parent = t.parent_id if with_parent else None
    params = {"acc": ctx.account_id, "user_from": t.user_from_id, "user_to": t.user_to_id, "project": t.project_id,
              "task": t.id, "parent": parent}
    public_only = access.in_client_team(ctx)
    tags: list[tuple[int, str]] = []
    for kind, row_id, s1, s2, s3, n1, n2, n3 in _ONE_TASK.all(ctx.db, params):
        if kind == "u":
            # Transient rows: only the columns a reference or a mention shows are set.
            rel.users[row_id] = plain(User, {"id": row_id, "email": s1, "first_name": s2, "last_name": s3})
        elif kind == "p":
            rel.projects[row_id] = plain(Project, {"id": row_id, "name": s1})
        elif kind == "t":
            if not public_only or s2 == "public":
                tags.append((row_id, s1))
        else:
            rel.parents[row_id] = TaskRefRow(row_id, s1, n2, n3, s2, n1)
    if tags:
        rel.tags = {t.id: {str(tag_id): title for tag_id, title in sorted(tags)}}


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


def _relations(ctx: Ctx, ids: list[int], rel: _Related) -> None:
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


def executive(t: TaskLike, rel: _Related) -> dict[str, str]:
    """user_to: a user, or the ANY / NOONE pseudo users."""
    if t.user_to_any:
        return ANY_EXECUTIVE
    if t.user_to_id is None:
        return NOONE_EXECUTIVE
    return rel.user(t.user_to_id)


def task_text(t: TaskLike, users: dict[int, User], *, as_html: bool = False) -> str:
    """The description with checklist and mentions rendered in (§3.2)."""
    mentioned = rc.mentioned_users(t.mentions or [], users)
    if as_html:
        return rc.compose_html(t.text, t.todo or [], mentioned)
    return rc.compose_text(t.text, t.todo or [], mentioned)


def _clock(ctx: Ctx) -> Callable[[dt.datetime], str]:
    """Formats stored naive-UTC timestamps in the account zone (zone resolved once per response)."""
    tz = ctx.tz
    if tz.key == "UTC":
        return datetime_min
    return lambda value: datetime_min(value.replace(tzinfo=dt.UTC).astimezone(tz))


@dataclass
class _Env:
    """What every task object of one response is rendered with."""

    ctx: Ctx
    extra: frozenset[str]
    rel: _Related
    when: Callable[[dt.datetime], str]
    text_mode: str  # "", "text" or "html"


def _task_obj(env: _Env, t: TaskView, *, with_parent: bool, child: list[dict[str, Any]] | None) -> dict[str, Any]:
    """One full task object, keys in the order of §3.3."""
    rel = env.rel
    page = task_page(t.project_id, t.id, t.top_id)
    out: dict[str, Any] = {"id": str(t.id), "name": t.name, "page": page, "status": t.status,
                           "priority": str(t.priority), "user_from": rel.user(t.user_from_id),
                           "user_to": executive(t, rel), "project": rel.project(t.project_id)}
    if with_parent and t.parent_id is not None and t.parent_id in rel.parents:
        out["parent"] = task_ref(rel.parents[t.parent_id])
    if env.text_mode:
        out["text"] = task_text(t, rel.users, as_html=env.text_mode == "html")
    out["date_added"] = env.when(t.date_added)
    if t.date_start is not None:
        out["date_start"] = date(t.date_start)
    if t.date_end is not None:
        out["date_end"] = date(t.date_end)
    if t.time_start:
        out["time_start"] = t.time_start
    if t.time_end:
        out["time_end"] = t.time_end
    if t.date_closed is not None and t.status == "done":
        out["date_closed"] = env.when(t.date_closed)
    if t.max_time is not None:
        out["max_time"] = number(t.max_time)
    if t.max_money is not None:
        out["max_money"] = number(t.max_money)
    put(out, "tags", rel.tags.get(t.id))
    if env.extra:
        _extras(env, t, page, out)
    put(out, "child", child)
    if "custom_fields" in env.extra:
        out["custom_fields"] = rel.custom.get(t.id, [])
    return out


def _extras(env: _Env, t: TaskView, page: str, out: dict[str, Any]) -> None:
    """subscribers, files, has_comments + comments, relations (PM: empty lists omitted, subscribers kept)."""
    rel, extra = env.rel, env.extra
    if "subscribers" in extra:
        out["subscribers"] = [rel.user(u) for u in rel.subscribers.get(t.id, [])]
    if "files" in extra:
        put(out, "files", [task_file(f) for f in rel.files.get(t.id, [])])
    if "comments" in extra:
        comments = rel.comments.get(t.id, [])
        out["has_comments"] = 1 if comments else 0
        put(out, "comments", [rc.comment(env.ctx, c, page, rel.users) for c in comments])
    if "relations" in extra:
        links: dict[str, Any] = {}
        put(links, "from", [{"type": k, "task": task_ref(o)} for k, o in rel.rel_from.get(t.id, [])])
        put(links, "to", [{"type": k, "task": task_ref(o)} for k, o in rel.rel_to.get(t.id, [])])
        put(out, "relations", links)


def _reduced(t: TaskView, rel: _Related) -> dict[str, Any]:
    """A get_task child: {id, name, page, status, priority[, child]}."""
    out: dict[str, Any] = task_ref(t)
    put(out, "child", [_reduced(c, rel) for c in rel.children.get(t.id, [])])
    return out


def render_tasks(ctx: Ctx, rows: Sequence[TaskLike], extra: Collection[str], *, reduced_children: bool = False,
                 active_only: bool = False, with_parent: bool = False) -> list[dict[str, Any]]:
    """Task objects for `rows` (ORM rows or TaskViews) in order.

    `extra` may hold text/html, files, comments, relations, subtasks, subscribers, custom_fields.
    With `subtasks`, visible children (two levels) nest under `child` - full objects with the same
    extras, or reduced ones for get_task; `active_only` drops done children. `with_parent` adds the
    `parent` reference of subtasks (get_task, post_task, search_tasks); costs call it without.
    """
    views = [as_view(t) for t in rows]
    wanted = frozenset(extra)
    rel = _Related()
    if "subtasks" in wanted:
        rel.children = load_children(ctx, views, active_only=active_only, text=bool(wanted & TEXT_EXTRAS))
    if len(views) == 1 and not wanted & _NEEDS_BULK and not (wanted & TEXT_EXTRAS and views[0].mentions):
        _load_one(ctx, views[0], rel, with_parent=with_parent)
    else:
        everyone = list(views)
        if not reduced_children:
            everyone += [c for cs in rel.children.values() for c in cs]
        _load(ctx, everyone, wanted, rel, with_parent=with_parent)
    text_mode = "html" if "html" in wanted else "text" if "text" in wanted else ""
    env = _Env(ctx, wanted & RENDERED_EXTRAS, rel, _clock(ctx), text_mode)

    def full(t: TaskView, top: bool) -> dict[str, Any]:
        kids = rel.children.get(t.id)
        child = None
        if kids:
            child = [_reduced(c, rel) for c in kids] if reduced_children else [full(c, False) for c in kids]
        return _task_obj(env, t, with_parent=with_parent and top, child=child)

    return [full(t, True) for t in views]


def render_task(ctx: Ctx, row: TaskLike, extra: Collection[str], *, reduced_children: bool = True,
                active_only: bool = False) -> dict[str, Any]:
    """One task object as get_task / post_task / update_task return it (with `parent`, reduced children)."""
    return render_tasks(ctx, [row], extra, reduced_children=reduced_children, active_only=active_only,
                        with_parent=True)[0]
