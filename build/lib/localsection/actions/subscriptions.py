"""subscribe / unsubscribe (PROTOCOL.md §4.1): the API adapters of domain.subscriptions."""

from __future__ import annotations

from typing import Any

from localsection import errors, render
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.domain import subscriptions


@action("subscribe", scope="tasks_write")
def subscribe(ctx: Ctx, p: Params) -> dict[str, Any]:
    subscriptions.subscribe(ctx, task_id=p.req_id("id_task", invalid=errors.task_invalid()),
                            email=p.req_text("email_user"))
    return render.ok()


@action("unsubscribe", scope="tasks_write")
def unsubscribe(ctx: Ctx, p: Params) -> dict[str, Any]:
    subscriptions.unsubscribe(ctx, task_id=p.req_id("id_task", invalid=errors.task_invalid()),
                              email=p.req_text("email_user"))
    return render.ok()
