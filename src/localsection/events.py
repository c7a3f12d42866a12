"""The events log, the webhook outbox rows and the notification e-mails, written in the same transaction as the
change (§7, §8; localsection.notify)."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import bindparam, exists, insert, select

from localsection import access, notify
from localsection.ctx import Ctx
from localsection.db import Prepared, core, plain
from localsection.models import Event, OutboxItem, TaskSubscriber, Webhook

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
# The INSERT also says whether the account has any webhook at all, so a write in an account without webhooks (the
# common case) skips the webhook lookup: one network round trip less per write on PostgreSQL. Read in the write's
# own transaction, so a webhook added a moment ago by another process is seen exactly as the lookup would see it.
# Likewise whether the task a comment event concerns has subscribers: without them and without mentions nobody
# hears about the comment by e-mail, and the recipients' lookup is skipped (notify.on_event).
_EVENT_KEYS = ["account_id", "project_id", "action", "object_type", "object_id", "page", "user_id", "new", "old",
               "date_added"]
_INSERT_EVENT = Prepared(insert(Event).values({k: bindparam(k) for k in _EVENT_KEYS}).returning(
    Event.id, exists().where(Webhook.account_id == bindparam("hooks_of")),
    exists().where(TaskSubscriber.task_id == bindparam("subscribers_of"))))
_INSERT_OUTBOX = insert(OutboxItem)


def record(ctx: Ctx, action: str, object_type: str, object_id: int, page: str, project_id: int | None,
           new: dict[str, Any] | None = None, old: dict[str, Any] | None = None,
           actor_id: int | None = None, task: Any = None, comment_mentions: list[Any] | None = None) -> Event:
    """Write one event row (an outbox row per matching webhook, the notification e-mails) in the caller's
    transaction.

    `page` is the object's page without any `#com` anchor. Empty `new`/`old` are stored as (JSON) null.
    `actor_id` overrides the acting user (the admin key's `email_user_from` author). A comment's writer passes the
    task it read and the comment's mentions (`task`, `comment_mentions`): the notifications need not read them.
    """
    values = {"account_id": ctx.account_id, "project_id": project_id, "action": action,
              "object_type": object_type, "object_id": object_id, "page": page,
              "user_id": actor_id or ctx.user.id, "new": new or None, "old": old or None, "date_added": ctx.now()}
    event_id, any_hooks, subscribed = _INSERT_EVENT.all(
        ctx.db, {**values, "hooks_of": ctx.account_id, "subscribers_of": None if task is None else task.id})[0]
    if not any_hooks:
        ctx.memo.account_webhooks = []
    event = plain(Event, {"id": event_id, **values})
    _enqueue(ctx, event)
    notify.on_event(ctx, event, task=task, comment_mentions=comment_mentions,
                    subscribed=None if task is None else bool(subscribed))
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
