"""Costs (PROTOCOL.md §4.6): the API adapters of domain.costs."""

from __future__ import annotations

from typing import Any

from localsection import errors, render
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.domain import costs
from localsection.domain.costs import CostQuery, parse_money, parse_time
from localsection.render import costs as render_costs


def _query(p: Params) -> CostQuery:
    """The filter parameters of get_costs / get_costs_total."""
    return CostQuery(project_id=p.id("id_project", invalid=errors.project_invalid()),
                     task_id=p.id("id_task", invalid=errors.task_invalid()),
                     start=p.date("datestart"), end=p.date("dateend"), is_timer=p.flag("is_timer"),
                     user_id=p.id("id_user", invalid=errors.invalid_id("id_user")), filter=p.text("filter"))


@action("get_costs", scope="costs_read", threaded=True)
def get_costs(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Cost rows (oldest date first) and the total of exactly those rows."""
    data, total = render_costs.cost_rows(ctx, costs.list_costs(ctx, query=_query(p)))
    return render.ok_top(data=data, total=total)


@action("get_costs_total", scope="costs_read", threaded=True)
def get_costs_total(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Sums of the matching rows; extra=projects adds per-project (monthly, per-task) sums (§4.6 decision)."""
    query, extra = _query(p), p.extra()
    if "projects" not in extra or p.has("id_task"):
        return render.ok_top(total=render_costs.amount(*costs.cost_total(ctx, query=query)))
    per: costs.PerTask | None = ("tasks_top_level" if "tasks_top_level" in extra
                                 else "tasks" if "tasks" in extra else None)
    projects, total = costs.project_costs(ctx, query=query, per_task=per)
    return render.ok_top(total=render_costs.amount(*total),
                         projects=[render_costs.project_costs(item) for item in projects])


def _time(p: Params) -> int | None:
    return parse_time(p.req_text("time")) if p.has("time") else None


def _money(p: Params) -> int | None:
    return parse_money(p.req_text("money")) if p.has("money") else None


@action("add_costs", scope="costs_write")
def add_costs(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Add a manual cost row to a task; the admin key must name the author."""
    if not p.has("time") and not p.has("money"):
        raise errors.required("time or money")
    target = costs.check_add_cost(ctx, task_id=p.req_id("id_task", invalid=errors.task_invalid()),
                                  author_email=p.text("email_user_from"))
    new_id = costs.do_add_cost(ctx, target, minutes=_time(p), cents=_money(p), is_rate=bool(p.flag("is_rate")),
                               day=p.date("date"), comment=p.text("comment") or "")
    return render.ok_top(id=new_id)


@action("update_costs", scope="costs_write")
def update_costs(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Change a row; is_rate recomputes money from the author's rate and the (new) time."""
    row = costs.check_update_cost(ctx, cost_id=p.req_id("id_costs", invalid=errors.costs_not_found()))
    costs.do_update_cost(ctx, row, minutes=_time(p), cents=_money(p), is_rate=bool(p.flag("is_rate")),
                         day=p.date("date"), comment=p.text("comment"))
    return render.ok()


@action("delete_costs", scope="costs_write")
def delete_costs(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Delete a row."""
    costs.delete_cost(ctx, cost_id=p.req_id("id_costs", invalid=errors.costs_not_found()))
    return render.ok()
