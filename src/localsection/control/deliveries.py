"""`/_localsection/deliveries`: the log of webhook delivery attempts, newest first (docs/control-api.md)."""

from __future__ import annotations

import re
from typing import Any

import orjson
from sqlalchemy import delete, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from localsection.control.common import ControlError, handler
from localsection.models import Account, DeliveryAttempt, Webhook
from localsection.state import AppState

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@/\s]*@")
_SECRET_QUERY = re.compile(r"([?&](?:[^=&#]*(?:token|secret|pass|key|hash)[^=&#]*)=)[^&#]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """A URL without the password of its user part or the values of secret-looking query parameters."""
    return _SECRET_QUERY.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", url))


def _filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    out: dict[str, Any] = {"account": (q.get("account") or "").strip().lower() or None}
    for name in ("webhook", "limit"):
        raw = (q.get(name) or "").strip()
        if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
            raise ControlError(f"query parameter {name} must be a whole number")
        out[name] = int(raw) if raw else None
    status = (q.get("status") or "").strip().lower() or None
    if status not in (None, "ok", "failed"):
        raise ControlError("query parameter status must be ok or failed")
    out["status"] = status
    event = (q.get("event") or "").strip().lower() or None
    if event is not None and not re.fullmatch(r"[a-z_]{1,40}", event):
        raise ControlError("query parameter event must be an event name such as post_task")
    out["event"] = event
    limit = out["limit"]
    out["limit"] = DEFAULT_LIMIT if limit is None else limit
    if not 1 <= out["limit"] <= MAX_LIMIT:
        raise ControlError(f"query parameter limit must be from 1 to {MAX_LIMIT}")
    return out


def _row(attempt: DeliveryAttempt, hook: Webhook, account: str) -> dict[str, Any]:
    payload: Any = None
    if attempt.payload is not None:
        try:
            payload = orjson.loads(attempt.payload)
        except orjson.JSONDecodeError:  # pragma: no cover - we wrote it
            payload = attempt.payload
    return {"id": attempt.id, "account": account, "webhook": hook.id, "url": redact_url(hook.url),
            "http_user": hook.http_user, "http_pass": "***" if hook.http_pass else "",
            "time": attempt.attempted_at.isoformat() + "Z",
            "events": [e for e in attempt.events.split(",") if e], "ok": attempt.ok,
            "http_status": attempt.response_code, "latency_ms": attempt.latency_ms, "error": attempt.error or None,
            "payload": payload}


def delivery_routes(state: AppState) -> list[BaseRoute]:

    async def listing(request: Request) -> Response:
        f = _filters(request)

        def run() -> list[dict[str, Any]]:
            q = (select(DeliveryAttempt, Webhook, Account.name)
                 .join(Webhook, Webhook.id == DeliveryAttempt.webhook_id)
                 .join(Account, Account.id == Webhook.account_id)
                 .order_by(DeliveryAttempt.id.desc()).limit(f["limit"]))
            if f["account"]:
                q = q.where(Account.name == f["account"])
            if f["webhook"] is not None:
                q = q.where(DeliveryAttempt.webhook_id == f["webhook"])
            if f["status"] is not None:
                q = q.where(DeliveryAttempt.ok.is_(f["status"] == "ok"))
            if f["event"] is not None:
                q = q.where(("," + DeliveryAttempt.events + ",").contains("," + f["event"] + ","))
            with state.db.session() as s:
                return [_row(a, h, name) for a, h, name in s.execute(q).tuples()]

        rows = await run_in_threadpool(run)
        return JSONResponse({"status": "ok", "deliveries": rows})

    async def clear(request: Request) -> Response:
        account = (request.query_params.get("account") or "").strip().lower() or None

        def run() -> int:
            with state.db.session(write=True) as s:
                q = delete(DeliveryAttempt)
                if account is not None:
                    found = s.scalars(select(Account.id).where(Account.name == account)).first()
                    if found is None:
                        raise ControlError(f"no account named {account}", 404)
                    q = q.where(DeliveryAttempt.webhook_id.in_(select(Webhook.id).where(Webhook.account_id == found)))
                return int(getattr(s.execute(q), "rowcount", 0) or 0)

        return JSONResponse({"status": "ok", "removed": await run_in_threadpool(run)})

    return [
        Route("/deliveries", handler(listing), methods=["GET"]),
        Route("/deliveries", handler(clear), methods=["DELETE"]),
    ]
