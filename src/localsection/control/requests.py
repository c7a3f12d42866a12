"""`GET /_localsection/requests` (the request journal, newest last) and `DELETE /_localsection/requests` (clear).

Filters: `account` (name), `action`, `limit` (the newest N, 1-10000), `since` (ISO 8601 time, inclusive; a time
without a zone is UTC). Bad input is a 400 naming the parameter.
"""

from __future__ import annotations

import datetime as dt

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from localsection.observe.journal import journal_of
from localsection.state import AppState

_MAX_LIMIT = 10000


def _bad(message: str) -> Response:
    return JSONResponse({"status": "error", "message": message}, 400)


def _since(value: str) -> dt.datetime | None:
    try:
        at = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def request_routes(state: AppState) -> list[BaseRoute]:
    journal = journal_of(state)

    async def read(request: Request) -> Response:
        query = request.query_params
        unknown = sorted(set(query) - {"account", "action", "limit", "since"})
        if unknown:
            return _bad(f"unknown parameter: {unknown[0]} (filters: account, action, limit, since)")
        limit = None
        if "limit" in query:
            raw = query["limit"].strip()
            if not raw.isdigit() or not 1 <= int(raw) <= _MAX_LIMIT:
                return _bad(f"parameter limit must be a whole number from 1 to {_MAX_LIMIT}")
            limit = int(raw)
        since = None
        if "since" in query:
            since = _since(query["since"])
            if since is None:
                return _bad(f"parameter since is not an ISO 8601 time, e.g. 2030-01-31T09:00:00Z: {query['since']}")
        account = query["account"].strip().lower() if "account" in query else None
        action = query["action"].strip() if "action" in query else None
        entries = journal.entries(account=account, action=action, since=since, limit=limit)
        return JSONResponse({"status": "ok", "requests": entries})

    async def clear(_: Request) -> Response:
        return JSONResponse({"status": "ok", "cleared": journal.clear()})

    return [Route("/requests", read, methods=["GET"]), Route("/requests", clear, methods=["DELETE"])]
