"""`localsection webhooks list|enable|log` and `localsection worker` (the delivery worker as its own process)."""

from __future__ import annotations

import json
import logging.config
import signal
from types import FrameType
from typing import Any

import typer
from sqlalchemy import select

from localsection import housekeeping, webhooks
from localsection.cli.common import open_db
from localsection.models import Account, DeliveryAttempt, OutboxItem, Webhook
from localsection.observe.accesslog import log_config

webhooks_app = typer.Typer(help="Webhooks: list, re-enable, delivery log.", no_args_is_help=True)




@webhooks_app.command("list")
def list_webhooks(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every webhook of every account, with its failure count and pending events."""
    db = open_db()
    with db.session(write=False) as s:
        rows = s.execute(select(Webhook, Account.name).join(Account, Account.id == Webhook.account_id)
                         .order_by(Webhook.id)).all()
        pending: dict[int, int] = {}
        for (hook_id,) in s.execute(select(OutboxItem.webhook_id).where(OutboxItem.state == "pending")):
            pending[hook_id] = pending.get(hook_id, 0) + 1
        items = [{"id": h.id, "account": name, "url": h.url, "events": h.events, "status": h.status,
                  "consecutive_failures": h.consecutive_failures, "pending": pending.get(h.id, 0)}
                 for h, name in rows]
    if json_out:
        typer.echo(json.dumps(items))
        return
    for i in items:
        typer.echo(f"{i['id']}\t{i['account']}\t{i['status']}\tfailures={i['consecutive_failures']}\t"
                   f"pending={i['pending']}\t{i['url']}\t{i['events']}")


@webhooks_app.command("enable")
def enable(webhook_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Switch a (paused) webhook on again; its kept events are delivered in order."""
    if not webhooks.enable(open_db(), webhook_id):
        typer.echo(f"error: webhook {webhook_id} not found", err=True)
        raise typer.Exit(2)
    typer.echo(f"webhook {webhook_id} enabled")


@webhooks_app.command("log")
def delivery_log(webhook_id: int = typer.Argument(..., metavar="ID"),
                 limit: int = typer.Option(100, "--limit", help="Newest attempts to show."),
                 json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Delivery attempts of a webhook, oldest of the newest LIMIT first: time, result, HTTP code, latency."""
    db = open_db()
    with db.session(write=False) as s:
        if s.get(Webhook, webhook_id) is None:
            typer.echo(f"error: webhook {webhook_id} not found", err=True)
            raise typer.Exit(2)
        rows = list(s.scalars(select(DeliveryAttempt).where(DeliveryAttempt.webhook_id == webhook_id)
                              .order_by(DeliveryAttempt.id.desc()).limit(limit)))
    items: list[dict[str, Any]] = [
        {"attempted_at": r.attempted_at.isoformat(sep=" ", timespec="seconds"), "outbox_id": r.outbox_id,
         "status": "ok" if r.ok else "failed", "response_code": r.response_code, "latency_ms": r.latency_ms,
         "error": r.error} for r in reversed(rows)]
    if json_out:
        typer.echo(json.dumps(items))
        return
    for i in items:
        code = i["response_code"] if i["response_code"] is not None else "-"
        typer.echo(f"{i['attempted_at']}\t{i['status']}\t{code}\t{i['latency_ms']}ms\toutbox={i['outbox_id']}"
                   + (f"\t{i['error']}" if i["error"] else ""))


def worker() -> None:
    """Run the webhook delivery worker in the foreground (several may run against one PostgreSQL)."""
    db = open_db(wait=True)
    logging.config.dictConfig(log_config(db.settings))  # the same log format as serve (observe/accesslog.py)
    w = housekeeping.worker(db, db.settings)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        w.stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    typer.echo("localsection webhook worker running")
    w.run_forever()
    w.stop()
    db.dispose()
