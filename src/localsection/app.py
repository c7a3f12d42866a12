"""create_app(settings): the ASGI application."""

from __future__ import annotations

import base64
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from localsection import actions, housekeeping, tokens
from localsection.api.download import DownloadRoute
from localsection.api.endpoint import ApiEndpoint, json_response
from localsection.api.limits import BodyLimits
from localsection.api.paths import PREFIX, enter_account_path
from localsection.config import Settings
from localsection.control import control_routes
from localsection.control.snapshots import snapshot_routes
from localsection.control.tokens import token_routes
from localsection.oauth2.routes import oauth_routes
from localsection.observe.middleware import observability
from localsection.sharedstore import store_for
from localsection.state import AppState
from localsection.web.sharedthrottle import login_throttle as make_login_throttle
from localsection.webapp import handlers as webapp_pages
from localsection.webapp.routes import serves as webapp_serves
from localsection.webapp.routes import webapp_routes

# A 1x1 grey PNG: the placeholder avatar every user gets.
_AVATAR = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mO8Vw8AAkcBYnxZxTsAAAAASUVORK5CYII="
)


ADMIN_PATHS = ("/api/admin/v2", "/api/admin/v2/", "/api/admin", "/api/admin/")


class ApiPaths:
    """Sends the API paths straight to their endpoint, past Starlette's router and exception middleware
    (their Route entries in create_app stay, so the path table stays complete). The endpoint answers every
    error itself, in JSON.

    Also the outermost step of accounts by path: a request to `/a/<account>/<rest>` continues as a request to
    `/<rest>` for that account (api/paths.py). Checked only after the API lookup missed, with a slice: the API
    hot path does no extra work."""

    def __init__(self, app: ASGIApp, endpoints: dict[str, ApiEndpoint]) -> None:
        self.app = app
        self.endpoints = endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = self.endpoints.get(scope["path"])
        if endpoint is None and scope["path"][:3] == PREFIX:
            inner = enter_account_path(scope)
            if inner is None:
                await json_response({"status": "error", "message": "Not found"}, 404)(scope, receive, send)
                return
            scope = inner
            endpoint = self.endpoints.get(scope["path"])
        if endpoint is None:
            await self.app(scope, receive, send)
        else:
            await endpoint(scope, receive, send)


def create_app(settings: Settings | None = None, state: AppState | None = None, *,
               freeze_startup_objects: bool = False) -> Starlette:
    """Build the app; the caller migrates the database first (see bootstrap / cli serve)."""
    state = state or AppState(settings or Settings.from_env())
    actions.load_all()
    tokens.signing_key(state.settings)  # a missing or broken configured key fails at start, not mid-request
    admin = ApiEndpoint(state, "admin")
    user = ApiEndpoint(state, "user")

    async def livez(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        def ping() -> None:
            with state.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        try:
            await run_in_threadpool(ping)
        except Exception:
            return JSONResponse({"status": "error", "message": "database unavailable"}, 503)
        return JSONResponse({"status": "ok"})

    async def avatar(_: Request) -> Response:
        return Response(_AVATAR, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})

    async def not_found(request: Request, exc: Exception) -> Response:
        code = exc.status_code if isinstance(exc, HTTPException) else 404
        # scope["path"]: the path inside the account (after `/a/<name>`), whole even under a Mount such as
        # /_localsection (whose root_path is not an account prefix: its 404s stay JSON)
        if code == 404 and webapp_serves(request.scope["path"]):
            return await webapp_pages.not_found(request)  # an HTML page (JSON when no account is served here)
        message = "Method not allowed" if code == 405 else "Not found"
        return json_response({"status": "error", "message": message}, code)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        # Threaded actions (every action on PostgreSQL) run in AnyIO's worker threads (40 by default). More threads
        # than pooled connections only queue on the pool while fighting for the GIL; on 2 cores that contention
        # cost more than the SQL (docs/performance.md), so run at most one action per pooled connection.
        anyio.to_thread.current_default_thread_limiter().total_tokens = state.db.pool_size
        worker = housekeeping.worker(state.db, state.settings) if state.settings.run_webhook_worker else None
        if worker is not None:
            worker.start()
        if freeze_startup_objects:
            # Everything loaded so far (modules, mappers, statements) lives as long as the server process: keep it
            # out of the collector's full passes, which otherwise stalled requests for tens of ms (get_task p99
            # 65 -> 28 ms, docs/performance.md). Not for apps built and dropped by tests in one process.
            gc.collect()
            gc.freeze()
        yield
        if worker is not None:
            await run_in_threadpool(worker.stop)
        await state.db.dispose_loop()
        state.db.dispose()

    # One per app: the OAuth sign-in and the web app sign-in count together (in Redis when one is configured).
    login_throttle = make_login_throttle(store_for(state))
    routes: list[BaseRoute] = [
        Route("/api/admin/v2", admin),
        Route("/api/admin/v2/", admin),
        Route("/api/admin", admin),  # v1: old clients still call it (legacy md5 included); same API
        Route("/api/admin/", admin),
        Route("/api/oauth2", user),
        Route("/api/oauth2/", user),
        Route("/livez", livez),
        Route("/readyz", readyz),
        Route("/avatars/{user_id:int}.png", avatar),
        Route("/download/{id_file:int}/", DownloadRoute(state)),
        *oauth_routes(state, login_throttle),
        *webapp_routes(state),
    ]
    if state.settings.emulator:  # off: every /_localsection/* path is the usual 404
        routes.append(Mount("/_localsection", routes=[*control_routes(state), *token_routes(state),
                                                     *snapshot_routes(state)]))
    observed, route_noted, observe_routes = observability(state)  # access log, metrics, journal (observe/)
    routes += observe_routes
    api = {path: admin for path in ADMIN_PATHS} | {"/api/oauth2": user, "/api/oauth2/": user}
    middleware = [observed, Middleware(ApiPaths, endpoints=api), Middleware(BodyLimits, settings=state.settings),
                  route_noted]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware,
                    exception_handlers={404: not_found, 405: not_found})
    app.router.redirect_slashes = False
    app.state.ls = state
    app.state.login_throttle = login_throttle
    return app
