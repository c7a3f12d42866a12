"""The events log, the webhook outbox rows and the notification e-mails, written in the same transaction as the
change (§7, §8; localsection.notify)."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import bindparam, insert, select

from localsection import access, notify
from localsection.ctx import Ctx
from localsection.db import Prepared, core, plain, prepared_insert
from localsection.models import Event, OutboxItem, Webhook

# Which webhook event names an (action, object type) pair triggers.
WEBHOOK_EVENT_NAMES: dict[tuple[str, str], tuple[str, ...]] = {
    ("post", "task"): ("post_task",),
    ("update", "task"): ("update_task",),
    ("close", "task"): ("close_task",),
    ("reopen", "task"): ("update_task", "reopen_task"),
    ("delete", "task"): ("delete_task",),
    ("post", "comment"): ("post_comment",),
    ("update", "comment"): ("update_comment",),
    ("delete", "comment"): ("delete_comment",),
    ("post", "project"): ("post_project",),
    ("update", "project"): ("update_project",),
}

# Built once: every write that records an event runs it (statement construction cost more than the query).
_ACCOUNT_HOOKS = Prepared(select(Webhook.id, Webhook.user_id, Webhook.events, Webhook.projects).where(
    Webhook.account_id == bindparam("account")))
# Run on the connection as plain Core: the ORM unit of work cost more than the INSERT, inside the write lock.
_INSERT_EVENT = prepared_insert(Event, ["account_id", "project_id", "action", "object_type", "object_id", "page",
                                        "user_id", "new", "old", "date_added"])
_INSERT_OUTBOX = insert(OutboxItem)


def record(ctx: Ctx, action: str, object_type: str, object_id: int, page: str, project_id: int | None,
           new: dict[str, Any] | None = None, old: dict[str, Any] | None = None,
           actor_id: int | None = None) -> Event:
    """Write one event row (an outbox row per matching webhook, the notification e-mails) in the caller's
    transaction.

    `page` is the object's page without any `#com` anchor. Empty `new`/`old` are stored as (JSON) null.
    `actor_id` overrides the acting user (the admin key's `email_user_from` author).
    """
    values = {"account_id": ctx.account_id, "project_id": project_id, "action": action,
              "object_type": object_type, "object_id": object_id, "page": page,
              "user_id": actor_id or ctx.user.id, "new": new or None, "old": old or None, "date_added": ctx.now()}
    event = plain(Event, {"id": _INSERT_EVENT.all(ctx.db, values)[0][0], **values})
    _enqueue(ctx, event)
    notify.on_event(ctx, event)
    return event


def _enqueue(ctx: Ctx, event: Event) -> None:
    names = set(WEBHOOK_EVENT_NAMES.get((event.action, event.object_type), ()))
    if not names:
        return
    hooks = ctx.memo.account_webhooks
    if hooks is None:
        hooks = [_Hook(*row) for row in _ACCOUNT_HOOKS.all(ctx.db, {"account": ctx.account_id})]
        ctx.memo.account_webhooks = hooks
    matching = [h for h in hooks if _wants(h, names, event)]
    # A webhook added with a token only carries what its creator may see (one query for all creators).
    creators = {h.user_id for h in matching if h.user_id is not None}
    viewers = access.event_viewers(ctx, event, creators) if creators else set()
    rows = [{"webhook_id": hook.id, "event_id": event.id, "state": "pending", "attempts": 0,
             "next_attempt_at": event.date_added}
            for hook in matching if hook.user_id is None or hook.user_id in viewers]
    if rows:
        core(ctx.db).execute(_INSERT_OUTBOX, rows)


class _Hook(NamedTuple):
    id: int
    user_id: int | None
    events: str
    projects: str


def _wants(hook: _Hook, names: set[str], event: Event) -> bool:
    """The webhook subscribes to one of the event names and (if it lists projects) to the event's project."""
    wanted = {e.strip() for e in hook.events.split(",") if e.strip()}
    if not wanted & names:
        return False
    projects = {p.strip() for p in hook.projects.split(",") if p.strip()}
    return not projects or str(event.project_id) in projects
