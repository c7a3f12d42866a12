"""The task page `/project/<pid>/<tid>/` (and `/project/<pid>/<top>/<sid>/` for a subtask): description, subtasks,
checklist, tags, subscribers, relations, comments with files, costs and the timer, files with downloads and the
task's activity. Its forms post to `/project/<pid>/<task id>/comments...`, `/costs...`, `/timer/...`, `/tags`;
every write goes through the domain (comments, costs, timers, tags), as the API's do.

Sections carry `data-live-topic="task:<id>"` and `data-live-src` (`?fragment=<name>`): live.js refreshes them
when the task changes. Ids the user may not see are 404, never a hint that they exist.
"""

from __future__ import annotations

import datetime as dt
import functools
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from starlette.responses import FileResponse, Response

from localsection import access, errors
from localsection import files as store
from localsection.domain import comments, costs, events, files, tags, timers
from localsection.errors import ApiError
from localsection.formats import truthy
from localsection.models import Cost, Event, Project, Task, Timer, User
from localsection.read.costs import elapsed_seconds
from localsection.read.tasks import Related, TaskView, as_view, related
from localsection.render import hms, money, task_page
from localsection.render.comments import mentioned_users
from localsection.render.members import display_name
from localsection.webapp import templating
from localsection.webapp.handlers import Endpoint, FormError, Page, redirect_after_post, webpage
from localsection.webapp.richtext import as_markup

FRAGMENTS = ("comments", "costs", "files", "activity", "tags", "timer")
MAX_COMMENT = 100_000  # characters of a comment typed on the page
MAX_COST_COMMENT = 1_000
ACTIVITY_SHOWN = 100
_EXTRA = frozenset({"text", "subtasks", "subscribers", "relations"})


# -- finding the task of a URL ------------------------------------------------------------------------------


def _int_param(page: Page, name: str) -> int:
    return int(page.request.path_params[name])


def _task_of_page(page: Page) -> Task:
    """The task the URL names, if the user sees it (5 otherwise, shown as the 404 page by the callers)."""
    pid, tid = _int_param(page, "pid"), _int_param(page, "tid")
    sid = page.request.path_params.get("sid")
    task = access.task_snapshot(page.ctx, int(sid) if sid is not None else tid)
    if task.project_id != pid:
        raise errors.task_invalid()
    if sid is not None and (task.top_id or task.id) != tid:
        raise errors.task_invalid()
    if sid is not None and task.top_id is None:  # /P/T/T/: a top task named twice
        raise errors.task_invalid()
    return task


def _task_for_post(page: Page) -> Task | None:
    """The task of a form's URL (`/project/<pid>/<task id>/...`): any task or subtask of that project."""
    try:
        task = access.task_snapshot(page.ctx, _int_param(page, "tid"))
    except ApiError:
        return None
    return task if task.project_id == _int_param(page, "pid") else None


def page_url(task: Task | TaskView) -> str:
    return task_page(task.project_id, task.id, task.top_id)


def action_url(task: Task | TaskView, what: str) -> str:
    """Where the task page's forms post: `/project/<pid>/<task id>/<what>` (the task's own id, subtasks too)."""
    return f"/project/{task.project_id}/{task.id}/{what}"


# -- what the page shows ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActivityItem:
    when: dt.datetime
    who: str
    action: str  # post | update | close | reopen | delete
    object_type: str  # task | comment
    changes: list[tuple[str, str, str]]  # (field, old, new) as text


def _value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        if "name" in value or "email" in value:
            return str(value.get("name") or value.get("email") or "")
        return ", ".join(str(v) for v in value.values())
    if isinstance(value, list):
        return ", ".join(_value_text(v) for v in value)
    return str(value)


def _activity(page: Page, rows: list[Event]) -> list[ActivityItem]:
    users = access.users_by_id(page.db, page.account.id, {r.user_id for r in rows})
    hidden = access.hidden_tag_ids(page.ctx)
    items = []
    for r in rows:
        new, old = dict(r.new or {}), dict(r.old or {})
        if hidden:
            for values in (new, old):
                if isinstance(values.get("tags"), dict):
                    values["tags"] = {k: v for k, v in values["tags"].items() if k not in hidden}
        changes = [(key, _value_text(old.get(key)), _value_text(new.get(key))) for key in dict.fromkeys([*new, *old])]
        user = users.get(r.user_id)
        items.append(ActivityItem(page.ctx.local(r.date_added), display_name(user) if user else "?", r.action,
                                  r.object_type, changes))
    return items


def _user_name(users: dict[int, User], user_id: int | None) -> str:
    user = users.get(user_id) if user_id is not None else None
    return display_name(user) if user else ""


def _timer_view(page: Page, task: Task) -> dict[str, Any]:
    timer: Timer | None = timers.my_timer(page.ctx)
    if timer is None:
        return {"running": False}
    seconds = elapsed_seconds(page.ctx, timer)
    here = timer.task_id == task.id
    other = None
    if not here:
        try:
            other = access.task_snapshot(page.ctx, timer.task_id)
        except ApiError:
            other = None
    started = page.ctx.now() - dt.timedelta(seconds=seconds)
    return {"running": True, "here": here, "elapsed": hms(seconds), "seconds": seconds,
            "started": started.replace(tzinfo=dt.UTC).isoformat(), "other": other,
            "other_url": page_url(other) if other is not None else ""}


def _can_write(page: Page) -> bool:
    return page.user is not None and page.user.role not in access.READ_ONLY_ROLES


def _costs_view(page: Page, task: Task) -> dict[str, Any]:
    rows: list[Cost] = costs.list_costs(page.ctx, query=costs.CostQuery(task_id=task.id))
    users = access.users_by_id(page.db, page.account.id, {r.user_id for r in rows})
    minutes, cents = costs.cost_total(page.ctx, query=costs.CostQuery(task_id=task.id))
    admin = access.is_admin(page.ctx)
    mine = page.user.id if page.user else None
    return {"cost_rows": [(r, _user_name(users, r.user_id), _can_write(page) and (admin or r.user_id == mine))
                          for r in rows],
            "cost_total": (minutes, cents)}


def _comments_view(page: Page, task: Task) -> dict[str, Any]:
    found = comments.list_comments(page.ctx, task_id=task.id, with_files=True)
    admin = access.is_admin(page.ctx)
    denied = truthy(_project_options(page, task.project_id).get("deny_comments_edit", 0))
    shown = []
    for c in found.comments:
        if not _can_write(page):
            may = False
        elif admin:
            may = True
        else:
            may = c.user_from_id == page.ctx.user.id and not denied
        mentioned = mentioned_users(c.mentions or [], found.users)
        shown.append({"c": c, "author": _user_name(found.users, c.user_from_id), "text": as_markup(c.text),
                      "todo": list(c.todo or []), "mentions": [display_name(u) for u in mentioned],
                      "files": found.files.get(c.id, []), "may_change": may,
                      "when": page.ctx.local(c.date_added)})
    return {"comments": shown, "may_comment": _can_write(page), "may_internal": not access.in_client_team(page.ctx)}


def _project_options(page: Page, project_id: int) -> dict[str, Any]:
    project = page.db.get(Project, project_id)
    return dict(project.options or {}) if project is not None else {}


def _tags_view(page: Page, task: Task, current: dict[str, str]) -> dict[str, Any]:
    available = [(t, g) for t, g in tags.list_tags(page.ctx, applies_to="task") if str(t.id) not in current]
    return {"task_tags": sorted(current.items(), key=lambda kv: int(kv[0])), "available_tags": available}


def _section(page: Page, task: Task, name: str) -> dict[str, Any]:
    """The variables of one live section (the fragments)."""
    if name == "comments":
        return _comments_view(page, task)
    if name == "costs":
        return _costs_view(page, task)
    if name == "timer":
        return {"timer": _timer_view(page, task)}
    if name == "files":
        return {"files": files.list_files(page.ctx, task_id=task.id)}
    if name == "activity":
        return {"activity": _activity(page, events.task_events(page.ctx, task_id=task.id, limit=ACTIVITY_SHOWN))}
    if name == "tags":
        from localsection.read.tags import object_tags

        return _tags_view(page, task, object_tags(page.ctx, "task", [task.id]).get(task.id, {}))
    raise errors.invalid_value("Unknown section", name)


def _common(page: Page, task: Task) -> dict[str, Any]:
    return {"task": task, "task_url": page_url(task), "post": lambda what: action_url(task, what),
            "may_write": _can_write(page), "money": money, "hm": costs_hm, "failed": _failed(page),
            "today": page.ctx.today().isoformat(), "live_topic": f"task:{task.id}",
            "live_js": "live.js" in templating.STATIC_FILES}  # web-tasks' live updates, once merged


def costs_hm(total: int) -> str:
    return f"{total // 60}:{total % 60:02d}"


def _failed(page: Page) -> str:
    """Which form of the page a failed POST came from (its section shows the error and the typed values)."""
    if not page.error:
        return ""
    path = page.request.url.path
    for name in ("comments", "costs", "timer", "tags"):
        if f"/{name}" in path:
            return name
    return "page"


def render_task(page: Page, task: Task) -> Response:
    """The whole page, or one section with `?fragment=<name>` (live updates)."""
    fragment = page.request.query_params.get("fragment", "")
    if fragment:
        if fragment not in FRAGMENTS:
            return page.not_found()
        return page.render(f"taskpage_{fragment}.html", **_common(page, task), **_section(page, task, fragment))
    view = as_view(task)
    rel: Related = related(page.ctx, [view], _EXTRA, reduced_children=False, active_only=False, with_parent=True)
    project = rel.projects.get(task.project_id)
    children = rel.children.get(task.id, [])
    grandchildren = {c.id: rel.children.get(c.id, []) for c in children}
    parent = rel.parents.get(task.parent_id) if task.parent_id is not None else None
    mentioned = mentioned_users(task.mentions or [], rel.users)
    timer = _timer_view(page, task)
    if task.user_to_any:
        executive = page._("Anyone")
    elif task.user_to_id is None:
        executive = page._("Not assigned")
    else:
        executive = _user_name(rel.users, task.user_to_id)
    context: dict[str, Any] = {
        **_common(page, task),
        "project": project, "parent": parent, "executive": executive,
        "author": _user_name(rel.users, task.user_from_id),
        "description": as_markup(task.text or ""), "checklist": list(task.todo or []),
        "mentions": [display_name(u) for u in mentioned],
        "children": [(c, _user_name(rel.users, c.user_to_id), grandchildren.get(c.id, [])) for c in children],
        "subscribers": [_user_name(rel.users, u) for u in rel.subscribers.get(task.id, [])],
        "rel_from": rel.rel_from.get(task.id, []), "rel_to": rel.rel_to.get(task.id, []),
        "page_url": page_url, "users": rel.users,
        "date_added": page.ctx.local(task.date_added),
        **_tags_view(page, task, rel.tags.get(task.id, {})),
        **_comments_view(page, task), **_costs_view(page, task), "timer": timer,
        "files": files.list_files(page.ctx, task_id=task.id),
        "activity": _activity(page, events.task_events(page.ctx, task_id=task.id, limit=ACTIVITY_SHOWN)),
    }
    return page.render("taskpage.html", **context)


@webpage()
def task_page_view(page: Page) -> Response:
    try:
        task = _task_of_page(page)
    except ApiError:
        return page.not_found()
    canonical = page_url(task)
    path = page.request.url.path
    if page.root and path.startswith(page.root + "/"):
        path = path[len(page.root):]
    if path != canonical:  # a subtask by its own id: its real address
        query = page.request.url.query
        return page.redirect(canonical + ("?" + query if query else ""), 308)
    return render_task(page, task)


TaskForm = Callable[[Page, Task], Response]


def task_form(**options: Any) -> Callable[[TaskForm], Endpoint]:
    """`@webpage(**options)` for a form posted to a task's page: `handler(page, task)` runs on POST with the task
    of the URL; a task the user may not see is the 404 page, and a GET (a failed POST shown again) is the task's
    page with the form's error."""

    def decorate(handler: TaskForm) -> Endpoint:
        @webpage(**options)
        @functools.wraps(handler)
        def endpoint(page: Page) -> Response:
            task = _task_for_post(page)
            if task is None:
                return page.not_found()
            if not page.is_post:
                return render_task(page, task)
            return handler(page, task)

        return endpoint

    return decorate


def _back(page: Page, task: Task, anchor: str) -> Response:
    return redirect_after_post(page, page_url(task) + anchor)


# -- comments ---------------------------------------------------------------------------------------------


def _comment_text(page: Page) -> str:
    text = page.form.get("text", "").strip()
    if len(text) > MAX_COMMENT:
        raise FormError("The comment is too long (at most %(max)s characters).", max=MAX_COMMENT)
    return text


@task_form(uploads=True)
def comment_new(page: Page, task: Task) -> Response:
    """POST: a new comment with any attached files (streamed into the file store by the domain)."""
    text = _comment_text(page)
    if not text and not page.files:
        raise FormError("Write a comment or attach a file.")
    if not text:
        text = ", ".join(p.filename or "file" for p in page.files)
    internal = page.form.get("internal") == "1" and not access.in_client_team(page.ctx)
    posted = comments.post_comment(page.ctx, comments.NewComment(
        task_id=task.id, text=text, internal=internal, attachments=files_of(page)))
    page.flash(page._("Comment added."))
    return _back(page, task, f"#com{posted.comment.id}")


@dataclass(frozen=True)
class _Part:
    """An uploaded file as the file store takes it (files.FilePart); the bytes stay in starlette's spool file."""

    filename: str | None
    file: BinaryIO
    size: int


def files_of(page: Page) -> store.Attachments:
    return store.Attachments(parts=[_Part(p.filename, p.file, p.size or 0) for p in page.files])


@task_form()
def comment_edit(page: Page, task: Task) -> Response:
    cid = _int_param(page, "cid")
    _comment_of_task(page, task, cid)
    text = _comment_text(page)
    if not text:
        raise FormError("A comment cannot be empty: delete it instead.")
    comments.update_comment(page.ctx, comment_id=cid, text=text)
    page.flash(page._("Comment saved."))
    return _back(page, task, f"#com{cid}")


@task_form()
def comment_delete(page: Page, task: Task) -> Response:
    cid = _int_param(page, "cid")
    _comment_of_task(page, task, cid)
    comments.delete_comment(page.ctx, comment_id=cid)
    page.flash(page._("Comment deleted."))
    return _back(page, task, "#comments")


def _comment_of_task(page: Page, task: Task, cid: int) -> None:
    """The comment must belong to the task of the URL (else: not found)."""
    from sqlalchemy import select

    from localsection.models import Comment

    owner = page.db.scalars(select(Comment.task_id).where(Comment.id == cid,
                                                          Comment.account_id == page.account.id)).first()
    if owner != task.id:
        raise errors.comment_not_found()


# -- costs and the timer ------------------------------------------------------------------------------------


def _cost_values(page: Page) -> tuple[int | None, int | None, dt.date | None, str]:
    time_text = page.form.get("time", "").strip()
    money_text = page.form.get("money", "").strip()
    day_text = page.form.get("date", "").strip()
    comment = page.form.get("comment", "").strip()
    if len(comment) > MAX_COST_COMMENT:
        raise FormError("The comment is too long (at most %(max)s characters).", max=MAX_COST_COMMENT)
    if not time_text and not money_text:
        raise FormError("Enter the time spent (like 1:30) or an amount of money.")
    minutes = costs.parse_time(time_text) if time_text else None
    cents = costs.parse_money(money_text) if money_text else None
    try:
        day = dt.date.fromisoformat(day_text) if day_text else None
    except ValueError:
        raise FormError("Enter the date as YYYY-MM-DD.") from None
    return minutes, cents, day, comment


@task_form()
def cost_add(page: Page, task: Task) -> Response:
    target = costs.check_add_cost(page.ctx, task_id=task.id, author_email=None)
    minutes, cents, day, comment = _cost_values(page)
    costs.do_add_cost(page.ctx, target, minutes=minutes, cents=cents, day=day, comment=comment)
    page.flash(page._("Time and money saved."))
    return _back(page, task, "#costs")


def _cost_of_task(page: Page, task: Task) -> Cost:
    row = costs.check_update_cost(page.ctx, cost_id=_int_param(page, "cost_id"))
    if row.task_id != task.id:
        raise errors.costs_not_found()
    return row


@task_form()
def cost_edit(page: Page, task: Task) -> Response:
    row = _cost_of_task(page, task)
    minutes, cents, day, comment = _cost_values(page)
    costs.do_update_cost(page.ctx, row, minutes=minutes if minutes is not None else 0,
                         cents=cents if cents is not None else 0, day=day, comment=comment)
    page.flash(page._("Time and money saved."))
    return _back(page, task, "#costs")


@task_form()
def cost_delete(page: Page, task: Task) -> Response:
    row = _cost_of_task(page, task)
    costs.delete_cost(page.ctx, cost_id=row.id)
    page.flash(page._("Entry deleted."))
    return _back(page, task, "#costs")


@task_form()
def timer_start(page: Page, task: Task) -> Response:
    timers.start_my_timer(page.ctx, task_id=task.id)
    page.flash(page._("Timer started."))
    return _back(page, task, "#timer")


@task_form()
def timer_stop(page: Page, task: Task) -> Response:
    comment = page.form.get("comment", "").strip()[:MAX_COST_COMMENT]
    saved = timers.stop_my_timer(page.ctx, comment=comment)
    page.flash(page._("Timer stopped: %(time)s saved.", time=costs_hm(saved.minutes)))
    return _back(page, task, "#timer")


# -- tags -----------------------------------------------------------------------------------------------------


@task_form()
def task_tags(page: Page, task: Task) -> Response:
    plus = [v for v in [page.form.get("plus", "").strip()] if v]
    minus = [v for v in [page.form.get("minus", "").strip()] if v]
    if not plus and not minus:
        raise FormError("Choose a tag.")
    for value in plus + minus:
        if not value.isdigit():
            raise FormError("Choose a tag.")
    tags.update_task_tags(page.ctx, task_id=task.id, plus=plus, minus=minus)
    page.flash(page._("Tags saved."))
    return _back(page, task, "#tags")


# -- downloads --------------------------------------------------------------------------------------------


def content_disposition(name: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name in RFC 5987 form."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in name) or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(name, safe='')}"


@webpage()
def file_download(page: Page) -> Response:
    """The bytes of a file of this task (description or a visible comment), streamed, always as a download."""
    task = _task_for_post(page)
    if task is None:
        return page.not_found()
    try:
        found = files.download(page.ctx, file_id=_int_param(page, "fid"))
    except ApiError:
        return page.not_found()
    row = access.visible_file(page.ctx, _int_param(page, "fid"))
    if row.task_id != task.id:
        return page.not_found()
    headers = {"Content-Disposition": content_disposition(found.name), "X-Content-Type-Options": "nosniff",
               "Content-Security-Policy": "default-src 'none'; sandbox", "Cache-Control": "private, no-store",
               "Referrer-Policy": "same-origin"}
    return FileResponse(found.path, media_type="application/octet-stream", headers=headers, stat_result=found.stat)
