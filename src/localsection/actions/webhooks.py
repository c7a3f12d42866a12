"""Webhooks: get_webhooks, add_webhook, delete_webhook (PROTOCOL.md §4.9, §7)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from localsection import access, errors, render, webhooks
from localsection.api.params import Params
from localsection.api.registry import action
from localsection.ctx import Ctx
from localsection.errors import ApiError
from localsection.formats import is_digits
from localsection.models import Project, Webhook

# Names add_webhook accepts (§4.9) plus our extra `reopen_task` (§7.1).
EVENT_NAMES = ("post_task", "post_comment", "post_project", "update_task", "update_comment", "update_project",
               "delete_task", "delete_comment", "close_task", "reopen_task")


def webhook_item(hook: Webhook) -> dict[str, str]:
    """{id (string), url, events, status[, projects]} of get_webhooks."""
    out = {"id": render.sid(hook.id), "url": hook.url, "events": hook.events, "status": hook.status}
    render.put(out, "projects", hook.projects)
    return out


def probe_failed(url: str) -> ApiError:
    return ApiError(11, "Url should respond 200 HTTP_CODE and JSON {status:OK}", url)


@action("get_webhooks", scope="administrative")
def get_webhooks(ctx: Ctx, p: Params) -> dict[str, Any]:
    """The webhooks the caller manages (admins: all of the account), oldest first."""
    hooks = ctx.db.scalars(select(Webhook).where(access.webhook_filter(ctx)).order_by(Webhook.id))
    return render.ok_data([webhook_item(h) for h in hooks])


@action("add_webhook", scope="administrative", write=False, threaded=True)
def add_webhook(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Probe the URL (before validating events, as the real service does), then register it as active."""
    access.require_write(ctx)
    url = p.req_text("url").strip()
    user, password = p.text("http_user") or "", p.text("http_pass") or ""
    try:
        ok = webhooks.probe(ctx.settings, url, user, password)
    except webhooks.UrlRefused:
        ok = False
    if not ok:
        raise probe_failed(url)
    names = [n.lower() for n in p.csv("events")]
    if not names:
        raise errors.required("events")
    if any(n not in EVENT_NAMES for n in names):
        raise errors.invalid_value("Invalid events", ",".join(n for n in names if n not in EVENT_NAMES))
    projects = _projects(ctx, p.csv("projects"))
    hook = Webhook(account_id=ctx.account_id, url=url, events=",".join(dict.fromkeys(names)),
                   projects=",".join(projects), http_user=user, http_pass=password, status="active",
                   consecutive_failures=0, created_at=ctx.now(), user_id=access.webhook_creator(ctx))
    return render.ok_top(id=_insert(ctx, hook))


def _projects(ctx: Ctx, refs: list[str]) -> list[str]:
    """Project ids the caller can see, as given; any other is 4 Project is invalid."""
    if not refs:
        return []
    if any(not is_digits(r) or len(r) > 18 for r in refs):
        raise errors.project_invalid()
    ids = list(dict.fromkeys(int(r) for r in refs))
    found = set(ctx.db.scalars(select(Project.id).where(access.project_filter(ctx), Project.id.in_(ids))))
    if len(found) != len(ids):
        raise errors.project_invalid()
    return [str(i) for i in ids]


def _insert(ctx: Ctx, hook: Webhook) -> int:
    """Insert in a short write transaction of its own, so the slow probe never held the write lock."""
    if ctx.database is None:
        ctx.db.add(hook)
        ctx.db.flush()
        return hook.id
    with ctx.session(write=True) as s:
        s.add(hook)
        s.flush()
        return hook.id


@action("delete_webhook", scope="administrative", write=True)
def delete_webhook(ctx: Ctx, p: Params) -> dict[str, Any]:
    """Remove a webhook with its pending deliveries and log; unknown id is 10 WebHook not found."""
    access.require_write(ctx)
    not_found = ApiError(10, "WebHook not found")
    hook_id = p.id("id", not_found)
    if hook_id is None:
        raise not_found
    hook = ctx.db.scalars(select(Webhook).where(Webhook.id == hook_id, access.webhook_filter(ctx))).first()
    if hook is None:
        raise not_found
    ctx.db.delete(hook)
    return render.ok()
