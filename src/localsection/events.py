"""The events log, the webhook outbox rows and the notification e-mails, written in the same transaction as the
change (§7, §8; localsection.notify)."""

from __future__ import annotations

import time
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, cast, exists, insert, literal_column, select

from localsection import access, notify
from localsection.ctx import Ctx
from localsection.db import Prepared, core, plain
from localsection.models import Base, Event, OutboxItem, TaskSubscriber, Webhook

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


def _alone_statement(table: Table, keys: tuple[str, ...], action: str, object_type: str) -> Prepared:
    events: Any = Event.__table__
    no_one_listens = (~exists().where(Webhook.account_id == bindparam("account_id"))
                      & ~exists().where(TaskSubscriber.task_id == bindparam("task")))

    def value(name: str, column: Any) -> Any:  # typed (its bind conversion, JSON say) and cast (for the SELECT)
        return cast(bindparam(name, type_=column.type), column.type)

    row = (insert(table).from_select(list(keys), select(*(value(k, table.c[k]) for k in keys))
                                     .where(no_one_listens)).returning(table.c.id).cte("obj"))
    # The event's own values, its object the row just inserted (the bind names are the event's columns).
    fixed = {"action": action, "object_type": object_type, "old": None}
    columns = [k for k in _EVENT_KEYS if k not in fixed]
    event = (insert(events).from_select(
        [*columns, "action", "object_type"],
        select(*(row.c.id if k == "object_id" else value("ev_" + k, events.c[k]) for k in columns),
               literal_column(f"'{action}'"), literal_column(f"'{object_type}'")))
        .returning(events.c.id).cte("event"))
    return Prepared(select(row.c.id, event.c.id).select_from(row).join(event, literal_column("true")),
                    standalone=True)


_ALONE: dict[tuple[str, tuple[str, ...], str, str], Prepared] = {}
# Accounts where someone listened a moment ago (a webhook, a subscriber): their next writes go the usual way at
# once instead of trying the single statement first (a round trip that writes nothing). Only a hint: the single
# statement reads the listeners itself, whatever this says.
_LISTENED: dict[int, float] = {}
_LISTENED_FOR = 30.0


def insert_alone(ctx: Ctx, model: type[Base], values: dict[str, Any], *, action: str, object_type: str,
                 page: str, project_id: int, task_id: int, new: dict[str, Any] | None,
                 actor_id: int) -> tuple[int, Event] | None:
    """PostgreSQL: INSERT the row of `model` and its event in ONE statement, written only while the account has no
    webhook and the task no subscriber, so the event needs nothing more (no outbox row, no e-mail: the caller
    checks the rest, e.g. that a comment mentions nobody). (new row id, event), or None when nothing was written:
    on SQLite (no INSERT inside WITH there) or when someone listens — then write them the usual way (`record`).

    One statement is atomic on its own: on the event loop it needs no BEGIN and COMMIT (db.Prepared standalone),
    three round trips of post_comment's six. The listeners are read in the statement itself, as `record` reads
    them in its INSERT: a webhook added a moment ago by another process is seen exactly as there."""
    if ctx.db.get_bind().dialect.name != "postgresql":
        return None
    heard = _LISTENED.get(ctx.account_id)
    if heard is not None and time.monotonic() - heard < _LISTENED_FOR:
        return None
    table: Any = model.__table__
    keys = tuple(values)
    slot = (table.name, keys, action, object_type)
    statement = _ALONE.get(slot)
    if statement is None:
        statement = _ALONE[slot] = _alone_statement(table, keys, action, object_type)
    now = ctx.now()
    event_values = {"account_id": ctx.account_id, "project_id": project_id, "page": page, "user_id": actor_id,
                    "new": new or None, "date_added": now}
    found = statement.first(ctx.db, {**values, "task": task_id,
                                     **{"ev_" + k: v for k, v in event_values.items()}})
    if found is None:
        if len(_LISTENED) >= 4096:
            _LISTENED.clear()
        _LISTENED[ctx.account_id] = time.monotonic()
        return None
    ctx.memo.account_webhooks = []
    return found[0], plain(Event, {"id": found[1], "action": action, "object_type": object_type,
                                   "object_id": found[0], "old": None, **event_values})


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
