"""The task object (PROTOCOL.md §3.3): the JSON shape of TaskView rows and what they refer to.

The rows and their related rows come from the read model (`localsection.read.tasks`); this module only shapes them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

from localsection.ctx import Ctx
from localsection.models import Task, User
from localsection.read.tasks import LIST_EXTRAS, Related, TaskLike, TaskView, as_view, list_refs, related
from localsection.render import comments as render_comments
from localsection.render import date, datetime_min, number, project_ref, put, task_page, task_ref
from localsection.render.custom_fields import values as custom_values
from localsection.render.files import task_file
from localsection.render.members import ANY_EXECUTIVE, NOONE_EXECUTIVE, user_ref


def executive(t: TaskLike, env: _Env) -> dict[str, str]:
    """user_to: a user, or the ANY / NOONE pseudo users."""
    if t.user_to_any:
        return ANY_EXECUTIVE
    if t.user_to_id is None:
        return NOONE_EXECUTIVE
    return env.user(t.user_to_id)


def task_text(t: TaskLike, users: dict[int, User], *, as_html: bool = False) -> str:
    """The description with checklist and mentions rendered in (§3.2)."""
    mentioned = render_comments.mentioned_users(t.mentions or [], users)
    if as_html:
        return render_comments.compose_html(t.text, t.todo or [], mentioned)
    return render_comments.compose_text(t.text, t.todo or [], mentioned)


def _clock(ctx: Ctx) -> Callable[[dt.datetime], str]:
    """Formats stored naive-UTC timestamps in the account zone (zone resolved once per response)."""
    tz = ctx.tz
    if tz.key == "UTC":
        return datetime_min
    return lambda value: datetime_min(value.replace(tzinfo=dt.UTC).astimezone(tz).replace(tzinfo=None))


@dataclass
class _Env:
    """What every task object of one response is rendered with."""

    ctx: Ctx
    extra: frozenset[str]
    rel: Related
    when: Callable[[dt.datetime], str]
    text_mode: str  # "", "text" or "html"
    user_refs: dict[int, dict[str, str]] = field(default_factory=dict)
    project_refs: dict[int, dict[str, str]] = field(default_factory=dict)

    def user(self, user_id: int) -> dict[str, str]:
        """A user reference, built once per response."""
        ref = self.user_refs.get(user_id)
        if ref is None:
            u = self.rel.users.get(user_id)
            ref = user_ref(u) if u else render_comments.unknown_user(user_id)
            self.user_refs[user_id] = ref
        return ref

    def project(self, project_id: int) -> dict[str, str]:
        """A project reference, built once per response."""
        ref = self.project_refs.get(project_id)
        if ref is None:
            p = self.rel.projects.get(project_id)
            ref = project_ref(project_id, p.name if p else "")
            self.project_refs[project_id] = ref
        return ref


def _task_obj(env: _Env, t: TaskView, *, with_parent: bool, child: list[dict[str, Any]] | None) -> dict[str, Any]:
    """One full task object, keys in the order of §3.3."""
    rel = env.rel
    page = task_page(t.project_id, t.id, t.top_id)
    out: dict[str, Any] = {"id": str(t.id), "name": t.name, "page": page, "status": t.status,
                           "priority": str(t.priority), "user_from": env.user(t.user_from_id),
                           "user_to": executive(t, env), "project": env.project(t.project_id)}
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
        out["custom_fields"] = custom_values(rel.custom.get(t.id, []))
    return out


def _extras(env: _Env, t: TaskView, page: str, out: dict[str, Any]) -> None:
    """subscribers, files, has_comments + comments, relations (PM: empty lists omitted, subscribers kept)."""
    rel, extra = env.rel, env.extra
    if "subscribers" in extra:
        out["subscribers"] = [env.user(u) for u in rel.subscribers.get(t.id, [])]
    if "files" in extra:
        put(out, "files", [task_file(f) for f in rel.files.get(t.id, [])])
    if "comments" in extra:
        comments = rel.comments.get(t.id, [])
        out["has_comments"] = 1 if comments else 0
        put(out, "comments", [render_comments.comment(env.ctx, c, page, rel.users) for c in comments])
    if "relations" in extra:
        links: dict[str, Any] = {}
        put(links, "from", [{"type": k, "task": task_ref(o)} for k, o in rel.rel_from.get(t.id, [])])
        put(links, "to", [{"type": k, "task": task_ref(o)} for k, o in rel.rel_to.get(t.id, [])])
        put(out, "relations", links)


def _reduced(t: TaskView, rel: Related) -> dict[str, Any]:
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
    rel = related(ctx, views, wanted, reduced_children=reduced_children, active_only=active_only,
                  with_parent=with_parent)
    text_mode = "html" if "html" in wanted else "text" if "text" in wanted else ""
    env = _Env(ctx, wanted & LIST_EXTRAS, rel, _clock(ctx), text_mode)

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


# -- task lists without extras: one pass over driver rows -------------------------------------------------

PLAIN_LIST_EXTRAS = frozenset({"archive"})  # extras that change which tasks a list holds, not their shape


def plain_list(extra: Collection[str]) -> bool:
    """Whether a list's task objects are the plain ones plain_task_objects renders (no extras that add fields)."""
    return not set(extra) - PLAIN_LIST_EXTRAS


def plain_task_objects(ctx: Ctx, rows: Sequence[tuple[Any, ...]], *, with_parent: bool = False
                       ) -> list[dict[str, Any]]:
    """Task objects without extras (the shape _task_obj gives) of read.tasks.LIST_FIELDS rows, in one loop with no
    per-row objects but the answer's own dicts. `with_parent`: the rows end with parent_id, and subtasks get
    their `parent` reference (search_tasks).

    Rows come as the driver gives them (db.driver_rows), timestamps and dates as ISO text on both databases
    (db.iso_text): a timestamp's first 16 characters are the answer's "YYYY-MM-DD HH:MM" in UTC; dates are already
    "YYYY-MM-DD". Numerics go through SQLAlchemy's own conversion (SQLite), then render.number, as everywhere else.
    """
    refs = list_refs(ctx, rows, with_parent=with_parent)
    users, projects, tags, parents = refs.users, refs.projects, refs.tags, refs.parents
    dialect = ctx.db.get_bind().dialect
    sqlite = dialect.name == "sqlite"
    table: Any = Task.__table__
    to_time = table.c.max_time.type._cached_result_processor(dialect, None) if sqlite else None
    to_money = table.c.max_money.type._cached_result_processor(dialect, None) if sqlite else None
    tz = ctx.tz
    utc = tz.key == "UTC"

    def when(value: str) -> str:
        if utc:
            return value[:16]
        shown = dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC).astimezone(tz).replace(tzinfo=None)
        return shown.isoformat(" ", "minutes")

    # Estimates repeat (a few distinct values in a whole list): each distinct one converted once.
    times: dict[Any, int | float | None] = {}
    moneys: dict[Any, int | float | None] = {}
    out = []
    for row in rows:
        (task_id, project_id, top_id, name, status, priority, from_id, to_id, to_any, added, start, end,
         time_start, time_end, closed, max_time, max_money) = row[:17]
        sid = str(task_id)
        obj: dict[str, Any] = {
            "id": sid, "name": name,
            "page": (f"/project/{project_id}/{sid}/" if top_id is None or top_id == task_id
                     else f"/project/{project_id}/{top_id}/{sid}/"),
            "status": status, "priority": str(priority), "user_from": users[from_id],
            "user_to": ANY_EXECUTIVE if to_any else NOONE_EXECUTIVE if to_id is None else users[to_id],
            "project": projects[project_id]}
        if parents and row[17] in parents:
            obj["parent"] = task_ref(parents[row[17]])
        obj["date_added"] = added[:16] if utc else when(added)
        if start is not None:
            obj["date_start"] = start
        if end is not None:
            obj["date_end"] = end
        if time_start:
            obj["time_start"] = time_start
        if time_end:
            obj["time_end"] = time_end
        if closed is not None and status == "done":
            obj["date_closed"] = when(closed)
        if max_time is not None:
            shown = times.get(max_time)
            if shown is None:
                shown = times[max_time] = number(to_time(max_time) if to_time else max_time)
            obj["max_time"] = shown
        if max_money is not None:
            shown = moneys.get(max_money)
            if shown is None:
                shown = moneys[max_money] = number(to_money(max_money) if to_money else max_money)
            obj["max_money"] = shown
        tagged = tags.get(task_id)
        if tagged:
            obj["tags"] = tagged
        out.append(obj)
    return out
