"""Webhooks a user registers (PROTOCOL.md §4.9, §7); their delivery is localsection.webhooks' work."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update

from localsection import access, errors, webhooks
from localsection.ctx import Ctx
from localsection.formats import is_digits
from localsection.models import DeliveryAttempt, Event, OutboxItem, Project, Webhook

# Names add_webhook accepts (§4.9) plus our extra `reopen_task` (§7.1).
EVENT_NAMES = ("post_task", "post_comment", "post_project", "update_task", "update_comment", "update_project",
               "delete_task", "delete_comment", "close_task", "reopen_task")


def list_webhooks(ctx: Ctx) -> list[Webhook]:
    """The webhooks the caller manages (admins: all of the account), oldest first."""
    return list(ctx.db.scalars(select(Webhook).where(access.webhook_filter(ctx)).order_by(Webhook.id)))


def add_webhook(ctx: Ctx, *, url: str, events: Sequence[str], projects: Sequence[str] = (), http_user: str = "",
                http_pass: str = "") -> Webhook:
    """Probe the URL, then register it as active for those events (and, when given, those projects).

    The probe comes first, before the events are validated, as the real service does; it runs outside any write
    transaction and the insert commits in a short one of its own (ctx.session), so the slow probe never holds the
    write lock. `projects` are ids as given (any the caller cannot see, or not an id, is 4 Project is invalid).
    """
    access.require_write(ctx)
    try:
        ok = webhooks.probe(ctx.settings, url, http_user, http_pass)
    except webhooks.UrlRefused:
        ok = False
    if not ok:
        raise errors.webhook_probe_failed(url)
    names = [n.lower() for n in events]
    if not names:
        raise errors.required("events")
    if any(n not in EVENT_NAMES for n in names):
        raise errors.webhook_events_invalid(",".join(n for n in names if n not in EVENT_NAMES))
    project_ids = _projects(ctx, projects)
    hook = Webhook(account_id=ctx.account_id, url=url, events=",".join(dict.fromkeys(names)),
                   projects=",".join(project_ids), http_user=http_user, http_pass=http_pass, status="active",
                   consecutive_failures=0, created_at=ctx.now(), user_id=access.webhook_creator(ctx))
    _insert(ctx, hook)
    return hook


def _projects(ctx: Ctx, refs: Sequence[str]) -> list[str]:
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


def _insert(ctx: Ctx, hook: Webhook) -> None:
    """Insert in a short write transaction of its own (the caller's one when the context has no database)."""
    if ctx.database is None:
        ctx.db.add(hook)
        ctx.db.flush()
        return
    with ctx.session(write=True) as s:
        s.add(hook)
        s.flush()


def delete_webhook(ctx: Ctx, *, webhook_id: int | None) -> None:
    """Remove a webhook the caller manages, with its pending deliveries and log; else 10 WebHook not found."""
    access.require_write(ctx)
    if webhook_id is None:
        raise errors.webhook_not_found()
    hook = ctx.db.scalars(select(Webhook).where(Webhook.id == webhook_id, access.webhook_filter(ctx))).first()
    if hook is None:
        raise errors.webhook_not_found()
    ctx.db.delete(hook)


# -- the web app's settings page: one webhook, pause / enable, its delivery log, redelivery ---------------

@dataclass(frozen=True)
class Delivery:
    """One delivery attempt as the log shows it; `event` is the webhook event name while its outbox row is
    kept ("" once purged), `state` the outbox row's state then (pending | delivered | expired | "")."""

    attempt: DeliveryAttempt
    event: str
    state: str


def get_webhook(ctx: Ctx, *, webhook_id: int) -> Webhook:
    """A webhook the caller manages; else 10 WebHook not found (another account's or user's ids included)."""
    hook = ctx.db.scalars(select(Webhook).where(Webhook.id == webhook_id, access.webhook_filter(ctx))).first()
    if hook is None:
        raise errors.webhook_not_found()
    return hook


def pause_webhook(ctx: Ctx, *, webhook_id: int) -> Webhook:
    """Stop delivering to a webhook; its events keep queueing (delivered in order when it is enabled again)."""
    access.require_write(ctx)
    hook = get_webhook(ctx, webhook_id=webhook_id)
    hook.status = "paused"
    ctx.db.flush()
    return hook


def enable_webhook(ctx: Ctx, *, webhook_id: int) -> Webhook:
    """Switch a webhook on again (failure count reset); its queued events become due at once, oldest first."""
    access.require_write(ctx)
    hook = get_webhook(ctx, webhook_id=webhook_id)
    hook.status, hook.consecutive_failures = "active", 0
    ctx.db.execute(update(OutboxItem).where(OutboxItem.webhook_id == hook.id, OutboxItem.state == "pending")
                   .values(next_attempt_at=ctx.now(), locked_until=None))
    ctx.db.flush()
    return hook


def pending_counts(ctx: Ctx, webhook_ids: Sequence[int]) -> dict[int, int]:
    """Events waiting for delivery, per webhook (one grouped query)."""
    if not webhook_ids:
        return {}
    rows = ctx.db.execute(select(OutboxItem.webhook_id, func.count()).where(
        OutboxItem.webhook_id.in_(list(webhook_ids)), OutboxItem.state == "pending")
        .group_by(OutboxItem.webhook_id)).all()
    return {hook_id: int(n) for hook_id, n in rows}


def last_attempts(ctx: Ctx, webhook_ids: Sequence[int]) -> dict[int, DeliveryAttempt]:
    """The newest delivery attempt of each webhook (one query)."""
    if not webhook_ids:
        return {}
    newest = (select(func.max(DeliveryAttempt.id)).where(DeliveryAttempt.webhook_id.in_(list(webhook_ids)))
              .group_by(DeliveryAttempt.webhook_id))
    return {a.webhook_id: a for a in ctx.db.scalars(select(DeliveryAttempt).where(DeliveryAttempt.id.in_(newest)))}


def list_deliveries(ctx: Ctx, *, webhook_id: int, limit: int = 100) -> list[Delivery]:
    """The newest `limit` attempts of a webhook the caller manages, newest first, with their event names."""
    hook = get_webhook(ctx, webhook_id=webhook_id)
    rows = ctx.db.execute(
        select(DeliveryAttempt, Event.action, Event.object_type, OutboxItem.state)
        .outerjoin(OutboxItem, OutboxItem.id == DeliveryAttempt.outbox_id)
        .outerjoin(Event, Event.id == OutboxItem.event_id)
        .where(DeliveryAttempt.webhook_id == hook.id)
        .order_by(DeliveryAttempt.id.desc()).limit(max(1, min(limit, 1000)))).all()
    return [Delivery(attempt, f"{action}_{kind}" if action and kind else "", state or "")
            for attempt, action, kind, state in rows]


def redeliver(ctx: Ctx, *, webhook_id: int, attempt_id: int) -> OutboxItem:
    """Queue the event of a failed attempt again: still waiting -> due now; expired -> a new outbox row at the
    end of the webhook's queue. 10 when the attempt is not this webhook's, succeeded or its event was purged."""
    access.require_write(ctx)
    hook = get_webhook(ctx, webhook_id=webhook_id)
    attempt = ctx.db.scalars(select(DeliveryAttempt).where(DeliveryAttempt.id == attempt_id,
                                                           DeliveryAttempt.webhook_id == hook.id)).first()
    if attempt is None or attempt.ok:
        raise errors.delivery_not_found()
    row = ctx.db.scalars(select(OutboxItem).where(OutboxItem.id == attempt.outbox_id,
                                                  OutboxItem.webhook_id == hook.id)).first()
    if row is None:
        raise errors.delivery_not_found()
    if row.state == "pending":
        row.next_attempt_at, row.locked_until = ctx.now(), None
        ctx.db.flush()
        return row
    again = OutboxItem(webhook_id=hook.id, event_id=row.event_id, state="pending", attempts=0,
                       next_attempt_at=ctx.now())
    ctx.db.add(again)
    ctx.db.flush()
    return again
