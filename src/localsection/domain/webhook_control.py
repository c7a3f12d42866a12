"""Webhooks as their manager watches them (the web app's settings): one webhook, pause / enable, the delivery log
and redelivery. Registration and removal stay in domain/webhooks.py; delivery itself is localsection.webhooks'.

Who may do what is webhooks' rule (access.webhook_filter): admins manage every webhook of the account, other users
their own; guests and readers change nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update

from localsection import access, errors
from localsection.ctx import Ctx
from localsection.models import DeliveryAttempt, Event, OutboxItem, Webhook


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
