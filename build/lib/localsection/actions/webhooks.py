"""Webhooks: get_webhooks, add_webhook, delete_webhook (PROTOCOL.md §4.9, §7): the API adapters of
domain.webhooks."""

from __future__ import annotations

from typing import Any

from localsection import access, errors, render
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.domain import webhooks
from localsection.models import Webhook


def webhook_item(hook: Webhook) -> dict[str, str]:
    """{id (string), url, events, status[, projects]} of get_webhooks."""
    out = {"id": render.sid(hook.id), "url": hook.url, "events": hook.events, "status": hook.status}
    render.put(out, "projects", hook.projects)
    return out


@action("get_webhooks", scope="administrative")
def get_webhooks(ctx: Ctx, p: Params) -> dict[str, Any]:
    """The webhooks the caller manages (admins: all of the account), oldest first."""
    return render.ok_data([webhook_item(h) for h in webhooks.list_webhooks(ctx)])


@action("add_webhook", scope="administrative", write=False, threaded=True)
def add_webhook(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Probe the URL (before validating events, as the real service does), then register it as active."""
    access.require_write(ctx)  # a reader is refused before `url` is read (the domain checks it again)
    hook = webhooks.add_webhook(ctx, url=p.req_text("url").strip(), events=p.csv("events"),
                                projects=p.csv("projects"), http_user=p.text("http_user") or "",
                                http_pass=p.text("http_pass") or "")
    return render.ok_top(id=hook.id)


@action("delete_webhook", scope="administrative", write=True)
def delete_webhook(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Remove a webhook with its pending deliveries and log; unknown id is 10 WebHook not found."""
    access.require_write(ctx)  # a reader is refused before `id` is read (the domain checks it again)
    webhooks.delete_webhook(ctx, webhook_id=p.id("id", errors.webhook_not_found()))
    return render.ok()
