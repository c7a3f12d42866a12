"""Costs: time and money entries and their totals (PROTOCOL.md §4.6).

Time is stored as whole minutes and money as integer cents, so every sum is exact; totals are SQL aggregates.
Adding and changing a row is split Zulip-style: `check_*` resolves and checks access (no writes), then the
front end parses the amounts and `do_*` validates and writes them (so access errors come before value errors).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from sqlalchemy import ColumnElement, bindparam, func, select

from localsection import access, errors
from localsection.ctx import Ctx
from localsection.db import Prepared, Snapshot, core, ids_in, prepared_insert
from localsection.filters import Field, compile_filter
from localsection.formats import truthy
from localsection.models import Cost, Project, Task, User
from localsection.read.costs import ProjectCosts, Sums

COSTS_FIELDS = {
    "id": Field("int", Cost.task_id),
    "project": Field("int", Cost.project_id),
    "comment": Field("str", Cost.comment_folded),
    "dateadd": Field("date", Cost.date),
}
TOTAL_FIELDS = {"project": Field("int", Cost.project_id)}

MAX_HOURS = 999_999
_HOURS_MINUTES = re.compile(r"^(\d{1,6}):(\d{1,2})$")
_DECIMAL = re.compile(r"^\d{0,9}(?:\.\d*)?$")
PerTask = Literal["tasks", "tasks_top_level"]


# -- value formats of costs -----------------------------------------------------------------------


def parse_time(value: str, name: str = "time") -> int:
    """`H:MM`, or decimal hours with `.` or `,` (`0.15` = `0,15` = `0:09`) -> whole minutes, rounded half up."""
    text = value.strip().replace(",", ".")
    m = _HOURS_MINUTES.match(text)
    if m:
        hours, mins = int(m.group(1)), int(m.group(2))
        if mins < 60 and hours <= MAX_HOURS:
            return hours * 60 + mins
        raise errors.invalid_time(name)
    if not _DECIMAL.match(text) or text in ("", "."):
        raise errors.invalid_time(name)
    hours_d = Decimal(text)
    if hours_d > MAX_HOURS:
        raise errors.invalid_time(name)
    return int((hours_d * 60).to_integral_value(ROUND_HALF_UP))


def parse_money(value: str, name: str = "money") -> int:
    """A decimal amount with `.` or `,` -> integer cents, rounded half up."""
    text = value.strip().replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise errors.invalid_number(name) from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise errors.invalid_number(name)
    return int((amount * 100).to_integral_value(ROUND_HALF_UP))


def rate_cents(user: User, minutes: int) -> int:
    """The author's hourly rate x time, in cents rounded half up."""
    return int((Decimal(user.rate or 0) * 100 * minutes / 60).to_integral_value(ROUND_HALF_UP))


# -- reads ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CostQuery:
    """Which rows get_costs / get_costs_total cover; None = no condition. `filter` is a §5 filter text."""

    project_id: int | None = None
    task_id: int | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    is_timer: bool | None = None
    user_id: int | None = None
    filter: str | None = None


def _conditions(ctx: Ctx, query: CostQuery, fields: dict[str, Field]) -> list[ColumnElement[bool]]:
    """The WHERE of a cost query: visibility plus every given condition (4 / 5 for a project or task not seen)."""
    conds = [access.cost_filter(ctx)]
    if query.project_id is not None:
        access.project(ctx, query.project_id)
        conds.append(Cost.project_id == query.project_id)
    if query.task_id is not None:
        access.task_snapshot(ctx, query.task_id)
        conds.append(Cost.task_id == query.task_id)
    if query.start is not None:
        conds.append(Cost.date >= query.start)
    if query.end is not None:
        conds.append(Cost.date <= query.end)
    if query.is_timer is not None:
        conds.append(Cost.is_timer.is_(query.is_timer))
    if query.user_id is not None:
        conds.append(Cost.user_id == query.user_id)
    if query.filter is not None:
        conds.append(compile_filter(query.filter, fields, ctx.tz))
    return conds


def _sums(row: Any) -> Sums:
    """(minutes, cents) of an aggregate row; SUM of nothing is NULL and PostgreSQL sums to NUMERIC."""
    return int(row[0] or 0), int(row[1] or 0)


# Built once (the hot path of add_costs): statement construction cost more than running these.
# list_costs reads rows as read-only snapshots: thousands of ORM objects cost more than the query.
_COSTS = Snapshot(Cost)
_PROJECT_OPTIONS = Prepared(select(Project.options).where(Project.id == bindparam("project")))
_INSERT_COST = prepared_insert(Cost, ["account_id", "project_id", "task_id", "top_task_id", "user_id", "minutes",
                                      "money_cents", "comment", "comment_folded", "date", "is_timer", "created_at"])


def list_costs(ctx: Ctx, *, query: CostQuery) -> list[Cost]:
    """The visible rows (read-only snapshots), oldest date first; more than the record cap is an error."""
    q = select(*_COSTS.columns).where(*_conditions(ctx, query, COSTS_FIELDS)).order_by(Cost.date, Cost.id)
    cap = ctx.settings.record_cap
    rows = [_COSTS.build(r) for r in core(ctx.db).execute(q.limit(cap + 1) if cap > 0 else q).all()]
    if cap > 0 and len(rows) > cap:
        raise errors.too_many(cap)
    return rows


def cost_total(ctx: Ctx, *, query: CostQuery) -> Sums:
    """(minutes, cents) of the visible rows the query covers (only `project` in a filter)."""
    conds = _conditions(ctx, query, TOTAL_FIELDS)
    return _sums(ctx.db.execute(select(func.sum(Cost.minutes), func.sum(Cost.money_cents)).where(*conds)).one())


def project_costs(ctx: Ctx, *, query: CostQuery, per_task: PerTask | None = None) -> tuple[list[ProjectCosts], Sums]:
    """Sums per project (ascending id) with months, optionally per task or per top task; plus the grand total."""
    conds = _conditions(ctx, query, TOTAL_FIELDS)
    monthly, names = _monthly(ctx, conds)
    tasks = _task_totals(ctx, conds, top_level=per_task == "tasks_top_level") if per_task is not None else None
    out = []
    total_minutes = total_cents = 0
    for project_id in sorted(monthly):
        months = monthly[project_id]
        sums = (sum(v[0] for v in months.values()), sum(v[1] for v in months.values()))
        total_minutes, total_cents = total_minutes + sums[0], total_cents + sums[1]
        out.append(ProjectCosts(project_id, names.get(project_id, ""), sums, months,
                                None if tasks is None else tasks.get(project_id, [])))
    return out, (total_minutes, total_cents)


def month_of(ctx: Ctx, column: Any) -> ColumnElement[str]:
    """`YYYY-MM` of a DATE column, in the cheapest form each database has (SQLite keeps dates as ISO text)."""
    if ctx.db.get_bind().dialect.name == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.substr(column, 1, 7)


def _monthly(ctx: Ctx, conds: list[ColumnElement[bool]]) -> tuple[dict[int, dict[str, Sums]], dict[int, str]]:
    """Sums per project and month in one GROUP BY, and the names of those projects."""
    month = month_of(ctx, Cost.date)
    q = (select(Cost.project_id, month, func.sum(Cost.minutes), func.sum(Cost.money_cents))
         .where(*conds).group_by(Cost.project_id, month))
    monthly: dict[int, dict[str, Sums]] = {}
    for project_id, key, mins, cents in ctx.db.execute(q):
        monthly.setdefault(project_id, {})[str(key)] = _sums((mins, cents))
    names = dict(ctx.db.execute(select(Project.id, Project.name).where(
        ids_in(ctx.db, Project.id, set(monthly)), Project.account_id == ctx.account_id)).tuples().all())
    return monthly, names


def _task_totals(ctx: Ctx, conds: list[ColumnElement[bool]], *,
                 top_level: bool) -> dict[int, list[tuple[Any, Sums]]]:
    """Per project: (task row, sums) per task and subtask, or per top task with subtask costs rolled in."""
    key = Cost.top_task_id if top_level else Cost.task_id
    q = (select(Cost.project_id, key, func.sum(Cost.minutes), func.sum(Cost.money_cents))
         .where(*conds).group_by(Cost.project_id, key))
    grouped: dict[int, dict[int, Sums]] = {}
    for project_id, task_id, mins, cents in ctx.db.execute(q):
        grouped.setdefault(project_id, {})[task_id] = _sums((mins, cents))
    wanted = {t for per in grouped.values() for t in per}
    # Only the columns of a task reference: loading full ORM rows would dominate large reports.
    q_tasks = (select(Task.id, Task.name, Task.project_id, Task.top_id, Task.status, Task.priority)
               .where(ids_in(ctx.db, Task.id, wanted), Task.account_id == ctx.account_id))
    tasks = {t.id: t for t in ctx.db.execute(q_tasks)}
    return {project_id: [(tasks[t], per[t]) for t in sorted(per) if t in tasks]
            for project_id, per in grouped.items()}


# -- writes -----------------------------------------------------------------------------------------


def _options(ctx: Ctx, project_id: int) -> dict[str, Any]:
    row = _PROJECT_OPTIONS.first(ctx.db, {"project": project_id})
    options = row[0] if row else None
    return dict(options or {})


def _on(options: dict[str, Any], name: str) -> bool:
    return truthy(options.get(name, 0))


def _check_options(ctx: Ctx, project_id: int, *, day: dt.date | None, amounts: bool) -> None:
    """Project options: timer_only refuses manual amounts, time_today refuses other days."""
    options = _options(ctx, project_id)
    if amounts and _on(options, "timer_only"):
        raise errors.costs_timer_only()
    if day is not None and _on(options, "time_today") and day != ctx.today():
        raise errors.costs_today_only()


@dataclass(frozen=True)
class CostTarget:
    """A checked add_cost target: the task (a read-only snapshot) the caller may change, and the author."""

    task: Task
    author: User


def check_add_cost(ctx: Ctx, *, task_id: int, author_email: str | None) -> CostTarget:
    """The task (5 unless the caller may change it) and the author: the admin key acts for nobody in
    particular, so it must name one (10 email_user_from); a user is the author themselves."""
    task = access.task_snapshot(ctx, task_id, write=True)
    if not ctx.via_admin_key:
        return CostTarget(task, ctx.user)
    if not author_email:
        raise errors.required("email_user_from")
    return CostTarget(task, access.user_by_email(ctx, author_email))


def do_add_cost(ctx: Ctx, target: CostTarget, *, minutes: int | None, cents: int | None, is_rate: bool = False,
                day: dt.date | None = None, comment: str = "") -> int:
    """Add a manual row (time and/or money; is_rate prices the time at the author's rate); returns its id."""
    if is_rate:
        cents = rate_cents(target.author, minutes) if minutes is not None else None
    if minutes is None and cents is None:
        raise errors.required("time or money")
    task = target.task
    day = day or ctx.today()
    _check_options(ctx, task.project_id, day=day, amounts=True)
    # A Core insert: the ORM unit of work cost more than the INSERT itself, inside the write lock.
    inserted = _INSERT_COST.all(ctx.db, {
        "account_id": ctx.account_id, "project_id": task.project_id, "task_id": task.id,
        "top_task_id": task.top_id or task.id, "user_id": target.author.id, "minutes": minutes or 0,
        "money_cents": cents or 0, "comment": comment, "comment_folded": comment.casefold(), "date": day,
        "is_timer": False, "created_at": ctx.now()})
    return int(inserted[0][0])


def add_cost(ctx: Ctx, *, task_id: int, author_email: str | None = None, minutes: int | None = None,
             cents: int | None = None, is_rate: bool = False, day: dt.date | None = None, comment: str = "") -> int:
    """check_add_cost + do_add_cost for callers that have every value already."""
    return do_add_cost(ctx, check_add_cost(ctx, task_id=task_id, author_email=author_email), minutes=minutes,
                       cents=cents, is_rate=is_rate, day=day, comment=comment)


def check_update_cost(ctx: Ctx, *, cost_id: int) -> Cost:
    """The row, locked, if the caller may change it (4 Costs not found; 20 unless an admin or its author)."""
    return access.cost(ctx, cost_id, write=True)


def do_update_cost(ctx: Ctx, row: Cost, *, minutes: int | None = None, cents: int | None = None,
                   is_rate: bool = False, day: dt.date | None = None, comment: str | None = None) -> Cost:
    """Change a checked row; None leaves a value; is_rate recomputes money from the author's rate and the time."""
    author = ctx.db.get(User, row.user_id)
    amounts = minutes is not None or cents is not None
    if is_rate and author is not None:
        cents = rate_cents(author, row.minutes if minutes is None else minutes)
    _check_options(ctx, row.project_id, day=day, amounts=amounts)
    if minutes is not None:
        row.minutes = minutes
    if cents is not None:
        row.money_cents = cents
    if comment is not None:
        row.comment, row.comment_folded = comment, comment.casefold()
    if day is not None:
        row.date = day
    return row


def update_cost(ctx: Ctx, *, cost_id: int, minutes: int | None = None, cents: int | None = None,
                is_rate: bool = False, day: dt.date | None = None, comment: str | None = None) -> Cost:
    """check_update_cost + do_update_cost."""
    return do_update_cost(ctx, check_update_cost(ctx, cost_id=cost_id), minutes=minutes, cents=cents,
                          is_rate=is_rate, day=day, comment=comment)


def delete_cost(ctx: Ctx, *, cost_id: int) -> None:
    """Delete a row the caller may change."""
    ctx.db.delete(access.cost(ctx, cost_id, write=True))


# -- reports (the web app's /reports) ----------------------------------------------------------------


@dataclass(frozen=True)
class ReportRow:
    """The sums of one project, user and month (`YYYY-MM`)."""

    project_id: int
    user_id: int
    month: str
    minutes: int
    cents: int


@dataclass(frozen=True)
class CostReport:
    """Sums per project, user and month of the rows get_costs would show the caller, with the names."""

    rows: list[ReportRow]
    projects: dict[int, str]
    users: dict[int, User]


def cost_report(ctx: Ctx, *, query: CostQuery) -> CostReport:
    """One GROUP BY over the visible rows the query covers (the visibility of get_costs), then the names of the
    projects and users it found (two small queries)."""
    conds = _conditions(ctx, query, TOTAL_FIELDS)
    month = month_of(ctx, Cost.date)
    q = (select(Cost.project_id, Cost.user_id, month, func.sum(Cost.minutes), func.sum(Cost.money_cents))
         .where(*conds).group_by(Cost.project_id, Cost.user_id, month).order_by(Cost.project_id, Cost.user_id, month))
    rows = [ReportRow(int(p), int(u), str(m), *_sums((mins, cents)))
            for p, u, m, mins, cents in ctx.db.execute(q)]
    project_ids = {r.project_id for r in rows}
    user_ids = {r.user_id for r in rows}
    projects = dict(ctx.db.execute(select(Project.id, Project.name).where(
        ids_in(ctx.db, Project.id, project_ids), Project.account_id == ctx.account_id)).tuples().all()) if rows else {}
    users = {u.id: u for u in ctx.db.scalars(select(User).where(
        ids_in(ctx.db, User.id, user_ids), User.account_id == ctx.account_id))} if rows else {}
    return CostReport(rows, projects, users)
