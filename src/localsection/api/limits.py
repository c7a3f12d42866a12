"""Request body limits: a body is refused with 413 before it is read past its cap (never buffered whole).

The API endpoint sets its cap per action (uploads may reach `max_body_bytes`, everything else
`max_params_bytes`); `BodyLimits` caps every other path (OAuth endpoints, downloads, pages).
"""

from __future__ import annotations

import re

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from localsection.config import Settings

TOO_LARGE = {"status": "error", "message": "Request body is too large"}


class BodyTooLarge(Exception):
    """The body went past its cap while it was being read."""


def declared_length(scope: Scope) -> int | None:
    """The Content-Length header as a number; None when absent or not plain digits."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() and len(value) <= 18 else None
    return None


class BodyGuard:
    """Wraps `receive` and raises BodyTooLarge as soon as more than `limit` body bytes have arrived."""

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self.limit = limit
        self.received = 0

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                raise BodyTooLarge()
        return message


async def send_too_large(send: Send) -> None:
    body = orjson.dumps(TOO_LARGE)
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


# Web app forms that carry files (webapp/taskpage.py: a comment with attachments): as large as an API upload.
LARGE_BODY_PATHS = re.compile(r"/project/\d+/\d+/(?:\d+/)?comments/?")


def cap_for(path: str, settings: Settings) -> int:
    """The body cap of a path that is not an API endpoint: small for OAuth, `max_body_bytes` for the web app's
    upload forms, `max_params_bytes` elsewhere."""
    if path.startswith("/oauth2/"):
        return settings.max_oauth_body_bytes
    return settings.max_body_bytes if LARGE_BODY_PATHS.fullmatch(path) else settings.max_params_bytes


class BodyLimits:
    """ASGI middleware: 413 on a declared or streamed body over the path's cap, before the handler reads it."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = cap_for(scope["path"], self.settings)
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            await send_too_large(send)
            return
        guard = BodyGuard(receive, limit)
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, guard.receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await send_too_large(send)
