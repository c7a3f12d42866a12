"""The ASGI middleware that builds the record of every HTTP request and hands it to the outputs that are on.

`Observe` is the outermost middleware: it sees every answer, the API's (which ApiPaths sends past the router) as
well as the pages', and notes the HTTP status from the first message of the answer. The endpoints fill in what
only they know (action, account, scheme, caller, parameters, error code) through `record.current()`.
`NoteRoute` sits just outside the router and keeps the matched route's path template, the metrics label of a
request outside the API.

Per request, with every output off: one small object, two clock reads, a context variable set and reset, and a
wrapped `send`. The access line, the metrics update and the journal entry each cost only when switched on.
"""

from __future__ import annotations

import time

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from localsection.observe import accesslog
from localsection.observe.journal import Journal, journal_of
from localsection.observe.metrics import Metrics
from localsection.observe.record import RequestRecord, begin, current, end
from localsection.state import AppState


class Observe:
    def __init__(self, app: ASGIApp, access_log: bool = True, metrics: Metrics | None = None,
                 journal: Journal | None = None) -> None:
        self.app = app
        self.access_log = access_log
        self.metrics = metrics
        self.journal = journal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rec = RequestRecord(scope["method"], scope["path"], scope.get("query_string", b""))

        async def noted(message: Message) -> None:
            if message["type"] == "http.response.start":
                rec.http_status = message["status"]
            await send(message)

        token = begin(rec)
        try:
            await self.app(scope, receive, noted)
        except BaseException:
            if not rec.http_status:
                rec.http_status = 500  # what the server answers for an exception that escaped
            raise
        finally:
            end(token)
            rec.duration = time.perf_counter() - rec.t0
            self.finish(rec)

    def finish(self, rec: RequestRecord) -> None:
        if self.access_log:
            accesslog.emit(rec)
        if self.metrics is not None:
            self.metrics.observe(rec)
        if self.journal is not None:
            self.journal.add(rec)


class NoteRoute:
    """Records the path template of the route that served a request (set by Starlette's router in the scope)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            rec = current()
            if rec is not None and route is not None:
                rec.route = getattr(route, "path", "") or ""


def observability(state: AppState) -> tuple[Middleware, Middleware, list[BaseRoute]]:
    """What create_app adds: the outermost middleware, the one just outside the router, and the /metrics route
    (only when LOCALSECTION_METRICS is not off). The journal is kept only when the emulator is on."""
    settings = state.settings
    metrics = Metrics(state) if settings.metrics != "off" else None
    journal = journal_of(state) if settings.emulator else None
    routes: list[BaseRoute] = [Route("/metrics", metrics.endpoint, methods=["GET"])] if metrics else []
    return (Middleware(Observe, access_log=settings.access_log, metrics=metrics, journal=journal),
            Middleware(NoteRoute), routes)
