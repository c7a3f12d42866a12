"""A project's task list (`/project/<pid>/`) and the task forms: create, edit, complete, reopen, delete.

Reads go through domain/task_browse.py (one page of top-level tasks with their subtasks, a fixed number of
queries); writes through domain/tasks.py and domain/tags.py with `page.ctx`, exactly as the API's actions.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from starlette.responses import Response

from localsection import access, tagging
from localsection.domain import UNSET, Unset, task_browse, tasks
from localsection.domain import tags as domain_tags
from localsection.errors import ApiError
from localsection.formats import is_digits
from localsection.models import Tag, TagGroup, Task, User
from localsection.read.tasks import TaskView
from localsection.render import task_page
from localsection.webapp import richtext
from localsection.webapp.handlers import FormError, Page, local_next, redirect_after_post, webpage

MAX_TITLE = 500
PRIORITIES = range(0, 11)
T = TypeVar("T")
STATUS_LABELS = {"To do", "In progress", "Review", "Done", "Status"}  # the default group's names, translated


def N_(message: str) -> str:  # marks a msgid for extraction; translated when shown
    return message


# The default status group's titles (accounts.DEFAULT_STATUSES) and domain messages a form can show.
TRANSLATED_DATA = (N_("To do"), N_("In progress"), N_("Review"), N_("Done"), N_("Status"),
                   N_("Executive is invalid"), N_("Checklist is too long"), N_("Relation type is invalid"),
                   N_("A task cannot depend on itself"), N_("These tasks would depend on each other"),
                   N_("Task is invalid"), N_("Project is invalid"), N_("Access denied"), N_("Invalid email"),
                   N_("Tag is invalid"), N_("Tag group is invalid"), N_("Filter is invalid"),
                   N_("Task is already closed"), N_("Task is already active"), N_("Task has children"),
                   N_("Parent task is done"), N_("Task is closed"), N_("Costs are required"),
                   N_("Field is required"), N_("Invalid date"), N_("Invalid number"), N_("Title is too long"))


def label(page: Page, title: str) -> str:
    """A tag or group title as shown: the default status names in the page's language, others as they are."""
    return page._(title) if title in STATUS_LABELS else title


def _int_param(raw: str | None) -> int | None:
    return int(raw) if raw and is_digits(raw) and len(raw) < 19 else None


def _project_id(page: Page) -> int:
    return int(page.request.path_params["pid"])


def _task_id(page: Page) -> int:
    return int(page.request.path_params["tid"])


def url_task(page: Page, pid: int, tid: int) -> Task | None:
    """The task `tid` of the URL `/project/<pid>/<tid>/...`, or None (the 404 page) when the user may not see it or
    it belongs to another project."""
    try:
        task = access.task(page.ctx, tid)
    except ApiError:
        return None
    return task if task.project_id == pid else None


def can_write(page: Page) -> bool:
    try:
        access.require_write(page.ctx)
    except ApiError:
        return False
    return True


# -- the list ---------------------------------------------------------------------------------------------

def _date_param(raw: str, name: str) -> dt.date | None:
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        raise FormError("The date %(name)s is not a date (YYYY-MM-DD).", name=name) from None


def list_query(page: Page) -> task_browse.TaskQuery:
    """The list's query string as a TaskQuery (bad values: a FormError)."""
    q = page.request.query_params
    status = q.get("status", "open")
    sort = q.get("sort", "id")
    page_no = _int_param(q.get("page")) or 1
    return task_browse.TaskQuery(
        status=status if status in ("open", "done", "all") else "open",  # type: ignore[arg-type]
        executive=q.get("executive") or None,
        tags=tuple(t for t in [_int_param(q.get("tag"))] if t is not None),
        date_from=_date_param(q.get("from", ""), "from"), date_to=_date_param(q.get("to", ""), "to"),
        filter=(q.get("q") or "").strip() or None,
        sort=sort if sort in task_browse.SORTS else "id", descending=q.get("dir") == "desc",
        offset=(min(page_no, 100_000) - 1) * task_browse.PAGE_SIZE, limit=task_browse.PAGE_SIZE)


@dataclass
class Row:
    """What one row of the list shows."""

    task: TaskView
    page: str
    executive: str
    tags: list[str]
    level: int


def executive_name(page: Page, t: TaskView, users: dict[int, User]) -> str:
    if t.user_to_any:
        return page._("Anyone")
    user = users.get(t.user_to_id) if t.user_to_id is not None else None
    if user is None:
        return ""
    return f"{user.first_name} {user.last_name}".strip() or user.email


def _rows(page: Page, result: task_browse.TaskPage) -> list[tuple[Row, list[Row]]]:
    def row(t: TaskView, level: int) -> Row:
        return Row(t, task_page(t.project_id, t.id, t.top_id), executive_name(page, t, result.users),
                   [label(page, v) for v in result.tags.get(t.id, {}).values()], level)

    out = []
    for t in result.rows:
        kids: list[Row] = []
        for c in result.children.get(t.id, []):
            kids.append(row(c, 1))
            kids += [row(g, 2) for g in result.children.get(c.id, [])]
        out.append((row(t, 0), kids))
    return out


def _tag_choices(page: Page) -> list[tuple[Tag, TagGroup]]:
    return domain_tags.list_tags(page.ctx, applies_to="task")


@webpage()
def task_list(page: Page) -> Response:
    """The project's tasks: filters, sorting, 50 top-level tasks a page with their subtasks."""
    pid = _project_id(page)
    try:
        project = access.project(page.ctx, pid)
    except ApiError:
        return page.not_found()
    error, result = "", None
    try:
        query = list_query(page)
        result = task_browse.list_page(page.ctx, project_id=project.id, query=query)
    except FormError as exc:
        error = page._(exc.message, **exc.variables)
        query = task_browse.TaskQuery()
    except ApiError as exc:
        error = page._(exc.message) + (": " + exc.details if exc.details else "")
        query = task_browse.TaskQuery()
    params = {k: v for k, v in page.request.query_params.items() if k not in ("page", "fragment") and v}
    pages = (result.total + task_browse.PAGE_SIZE - 1) // task_browse.PAGE_SIZE if result else 0
    context: dict[str, Any] = {
        "project": project, "result": result, "rows": _rows(page, result) if result else [], "query": query,
        "params": params, "page_no": query.offset // task_browse.PAGE_SIZE + 1, "pages": pages,
        "users": task_browse.visible_users(page.ctx), "tag_choices": _tag_choices(page), "label": label,
        "can_write": can_write(page), "list_error": error, "qs": _qs,
        "here": f"/project/{project.id}/" + (_qs(params) if params else ""),
    }
    if page.request.query_params.get("fragment") == "rows":
        return page.render("tasks_rows.html", **context)
    return page.render("tasks_list.html", status=400 if error else None, **context)


def _qs(params: dict[str, str], **changes: Any) -> str:
    """The list's query string with some parameters changed (None removes one)."""
    merged = {**params, **{k: str(v) for k, v in changes.items() if v is not None}}
    for k, v in changes.items():
        if v is None:
            merged.pop(k, None)
    return "?" + urllib.parse.urlencode(merged) if merged else "?"


# -- the form ---------------------------------------------------------------------------------------------

@dataclass
class FormValues:
    title: str
    text: str
    todo: list[str]
    executive: str
    priority: int | None
    date_start: dt.date | None
    date_end: dt.date | None
    max_time: Decimal | None
    max_money: Decimal | None
    tags: list[str]
    subscribers: list[str]
    relations: list[tasks.Relation]


def _decimal(raw: str, name: str) -> Decimal | None:
    raw = raw.strip().replace(",", ".")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise FormError("%(name)s must be a number.", name=name) from None
    if not value.is_finite() or value < 0 or value >= Decimal("1e9"):
        raise FormError("%(name)s must be a number.", name=name)
    return value.quantize(Decimal("0.01"))


def _ids(raw: str) -> list[int]:
    out = []
    for part in raw.replace(";", ",").replace(" ", ",").split(","):
        part = part.strip().lstrip("#")
        if not part:
            continue
        if not is_digits(part) or len(part) > 18:
            raise FormError("Give related tasks by their numbers, separated by commas.")
        out.append(int(part))
    return out[:50]


def read_form(page: Page, users: list[User], choices: list[tuple[Tag, TagGroup]]) -> FormValues:
    f = page.form
    title = f.get("title", "").strip()
    if not title:
        raise FormError("Give the task a title.")
    if len(title) > MAX_TITLE:
        raise FormError("The title is too long.")
    priority_raw = f.get("priority", "")
    if priority_raw and (not is_digits(priority_raw) or int(priority_raw) not in PRIORITIES):
        raise FormError("Priority is a number from 0 to 10.")
    start, end = _date_param(f.get("date_start", ""), "start"), _date_param(f.get("date_end", ""), "end")
    if start and end and end < start:
        raise FormError("The end date is before the start date.")
    tag_refs = [str(t.id) for t, g in choices if g.type != "status" and f.get(f"tag_{t.id}")]
    for group in {g.id: g for _, g in choices if g.type == "status"}.values():
        chosen = _int_param(f.get(f"status_{group.id}"))
        if chosen is not None and any(t.id == chosen and g.id == group.id for t, g in choices):
            tag_refs.append(str(chosen))
    relations = [tasks.Relation(i, "finish-to-start") for i in _ids(f.get("after", ""))]
    relations += [tasks.Relation(i, "start-to-start") for i in _ids(f.get("with", ""))]
    return FormValues(
        title=title, text=richtext.sanitize(f.get("text", "")),
        todo=[line.strip() for line in f.get("todo", "").splitlines() if line.strip()],
        executive=f.get("executive", ""), priority=int(priority_raw) if priority_raw else None,
        date_start=start, date_end=end, max_time=_decimal(f.get("max_time", ""), page._("Estimate")),
        max_money=_decimal(f.get("max_money", ""), page._("Budget")), tags=tag_refs,
        subscribers=[u.email for u in users if f.get(f"sub_{u.id}")], relations=relations)


def _form_context(page: Page, project_id: int, task: Task | None, parent: Task | None) -> dict[str, Any]:
    ctx = page.ctx
    users = task_browse.visible_users(ctx)
    choices = _tag_choices(page)
    groups: dict[int, tuple[TagGroup, list[Tag]]] = {}
    for tag, group in choices:
        groups.setdefault(group.id, (group, []))[1].append(tag)
    values: dict[str, Any] = {}
    if task is not None and not page.form:
        current = {int(k) for k in tagging.as_map(tagging.current(ctx, "task", task.id))}
        values = {"title": task.name, "text": task.text, "todo": "\n".join(str(i) for i in task.todo or []),
                  "priority": str(task.priority), "date_start": task.date_start.isoformat() if task.date_start else "",
                  "date_end": task.date_end.isoformat() if task.date_end else "",
                  "max_time": str(task.max_time) if task.max_time is not None else "",
                  "max_money": str(task.max_money) if task.max_money is not None else "",
                  "executive": _executive_value(task, users)}
        for tag, group in choices:
            if tag.id in current:
                values[f"status_{group.id}" if group.type == "status" else f"tag_{tag.id}"] = str(tag.id)
        for uid in tasks.subscriber_ids(ctx, task.id):
            values[f"sub_{uid}"] = "1"
        preds = tasks.predecessors(ctx, task.id)
        values["after"] = ", ".join(str(v.id) for kind, v in preds if kind == "finish-to-start")
        values["with"] = ", ".join(str(v.id) for kind, v in preds if kind == "start-to-start")
    elif task is None and not page.form:
        values = {"priority": "1"}
    return {"project": access.project(ctx, project_id), "task": task, "parent": parent, "users": users,
            "groups": list(groups.values()), "values": values or page.form, "label": label,
            "priorities": PRIORITIES}


def _executive_value(task: Task, users: list[User]) -> str:
    if task.user_to_any:
        return "ANY"
    if task.user_to_id is None:
        return "NOONE"
    return next((u.email for u in users if u.id == task.user_to_id), "")


@webpage()
def task_new(page: Page) -> Response:
    """`/project/<pid>/tasks/new` (`?parent=<tid>`: a subtask)."""
    pid = _project_id(page)
    try:
        project = access.project(page.ctx, pid)
        parent_id = _int_param(page.request.query_params.get("parent") or page.form.get("parent"))
        parent = access.task(page.ctx, parent_id) if parent_id is not None else None
    except ApiError:
        return page.not_found()
    if parent is not None and parent.project_id != project.id:
        return page.not_found()
    if page.is_post:
        users = task_browse.visible_users(page.ctx)
        v = read_form(page, users, _tag_choices(page))
        task = tasks.create_task(page.ctx, tasks.NewTask(
            project_id=project.id, title=v.title, parent_id=parent.id if parent else None,
            executive=v.executive or None, text=v.text, todo=v.todo, priority=v.priority,
            date_start=v.date_start, date_end=v.date_end, max_time=v.max_time, max_money=v.max_money,
            subscribers=v.subscribers, tags=v.tags))
        if v.relations:
            tasks.set_predecessors(page.ctx, task_id=task.id, relations=v.relations)
        page.flash(page._("Task created."))
        return redirect_after_post(page, f"/project/{project.id}/")
    return page.render("tasks_form.html", **_form_context(page, project.id, None, parent))


@webpage()
def task_edit(page: Page) -> Response:
    """`/project/<pid>/<tid>/edit`: every field of the task, its checklist, subscribers and relations."""
    pid, tid = _project_id(page), _task_id(page)
    task = url_task(page, pid, tid)
    if task is None:
        return page.not_found()
    if page.is_post:
        users = task_browse.visible_users(page.ctx)
        v = read_form(page, users, _tag_choices(page))
        tasks.update_task(page.ctx, task_id=task.id, changes=tasks.TaskChanges(
            title=v.title, executive=v.executive or None, priority=v.priority,
            date_start=_sent(page, "date_start", v.date_start), date_end=_sent(page, "date_end", v.date_end),
            max_time=_sent(page, "max_time", v.max_time), max_money=_sent(page, "max_money", v.max_money),
            tags=v.tags))
        tasks.change_description(page.ctx, task_id=task.id, text=v.text, todo=v.todo)
        tasks.set_subscribers(page.ctx, task_id=task.id, emails=v.subscribers)
        tasks.set_predecessors(page.ctx, task_id=task.id, relations=v.relations)
        page.flash(page._("Task saved."))
        return redirect_after_post(page, _back(page, task))
    return page.render("tasks_form.html", **_form_context(page, pid, task, None))


def _sent(page: Page, name: str, value: T | None) -> T | Unset | None:
    """A field's value when the form sent the field (None when it was left blank: empty it); UNSET when the form
    did not send it at all (leave it as it is)."""
    return value if name in page.form else UNSET


def _back(page: Page, task: Task | TaskView) -> str:
    return local_next(page.form.get("next", "")) or f"/project/{task.project_id}/"


def _simple_post(page: Page, act: str) -> Response:
    pid, tid = _project_id(page), _task_id(page)
    task = url_task(page, pid, tid)
    if task is None:
        return page.not_found()
    if not page.is_post:  # the POST failed: say why, with a way back
        return page.render("error.html", 400, title=page._("Something is not right"), message=page.error,
                           link=(_back(page, task), page._("Back to the tasks")))
    if act == "complete":
        tasks.complete_task(page.ctx, task_id=task.id)
        page.flash(page._("Task completed."))
    else:
        tasks.reopen_task(page.ctx, task_id=task.id)
        page.flash(page._("Task reopened."))
    return redirect_after_post(page, _back(page, task))


@webpage()
def task_complete(page: Page) -> Response:
    return _simple_post(page, "complete")


@webpage()
def task_reopen(page: Page) -> Response:
    return _simple_post(page, "reopen")


@webpage()
def task_delete(page: Page) -> Response:
    """`/project/<pid>/<tid>/delete`: a confirmation page, then the delete (POST)."""
    pid, tid = _project_id(page), _task_id(page)
    task = url_task(page, pid, tid)
    if task is None:
        return page.not_found()
    if page.is_post:
        title = task.name
        tasks.delete_task(page.ctx, task_id=task.id)
        page.flash(page._("Task “%(title)s” deleted.", title=title))
        return redirect_after_post(page, f"/project/{pid}/")
    subtasks = len(tasks.subtree_ids(page.ctx, task)) - 1
    return page.render("tasks_delete.html", task=task, subtasks=subtasks,
                       project=access.project(page.ctx, pid))


MAX_BULK = 200  # tasks completed by one bulk action


@webpage()
def bulk_complete(page: Page) -> Response:
    """POST `sel_<task id>=1` for each chosen task: complete each one the caller may (each checked like
    complete_task; one that cannot be completed is reported and the others are still completed)."""
    pid = _project_id(page)
    try:
        project = access.project(page.ctx, pid)
    except ApiError:
        return page.not_found()
    back = local_next(page.form.get("next", "")) or f"/project/{project.id}/"
    if not page.is_post:
        return page.render("error.html", 400, title=page._("Something is not right"), message=page.error,
                           link=(back, page._("Back to the tasks")))
    chosen = [int(k[4:]) for k in page.form if k.startswith("sel_") and is_digits(k[4:]) and len(k) < 23]
    if not chosen:
        raise FormError("Choose the tasks to complete.")
    done, failed = 0, 0
    for task_id in sorted(chosen)[:MAX_BULK]:
        try:
            task = access.task(page.ctx, task_id)
            if task.project_id != project.id or task.status == "done":
                continue
            tasks.complete_task(page.ctx, task_id=task.id)
            done += 1
        except ApiError:  # refused before anything was written (open subtasks, rights, required costs)
            failed += 1
    page.flash(page.ngettext("%(num)d task completed.", "%(num)d tasks completed.", done))
    if failed:
        page.flash(page.ngettext("%(num)d task could not be completed.", "%(num)d tasks could not be completed.",
                                 failed), "error")
    return redirect_after_post(page, back)
