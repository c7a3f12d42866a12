"""The record of one HTTP request: created by the middleware, filled in by the code that knows each field.

Only fields already at hand are stored (references, never copies): the account name once it is resolved, the
action's name, the parameters object the endpoint parsed anyway, the scheme and caller once authenticated. The
outputs (access log line, metrics, journal entry) read it after the answer is sent, each only when switched on;
redaction and rendering happen there, never on the way in.

The current record lives in a context variable: Starlette's worker threads run with a copy of the caller's
context, so an action running in a thread fills in the same object.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from typing import Any

# How the caller proved who it is: nothing, the md5 `hash` parameter, the `Authorization: Admin` header, an OAuth
# access token, the sign-in cookie of the web pages, OAuth client credentials (client_id + client_secret) at the
# token endpoints, or an e-mail and password (the sign-in form).
NONE, MD5, ADMIN_HEADER, BEARER, SESSION = "none", "md5", "admin_header", "bearer", "session"
CLIENT, PASSWORD = "client", "password"
ADMIN_KEY = "admin key"  # the caller shown for the account's API key (md5 or Admin header)


class RequestRecord:
    """What one request did. `params` is whatever mapping the handler parsed (redacted when it is shown)."""

    __slots__ = ("account", "action", "api_error", "caller", "code", "duration", "http_status", "method",
                 "params", "path", "query", "route", "scheme", "started", "t0")

    def __init__(self, method: str, path: str, query: bytes = b"") -> None:
        self.started = time.time()  # wall clock (real time, not the emulator's clock)
        self.t0 = time.perf_counter()
        self.method = method
        self.path = path
        self.query = query  # the raw query string: parsed (and redacted) only when the journal shows it
        self.account = ""
        self.action = ""
        self.scheme = NONE
        self.caller = ""
        self.params: Any = None  # a Params, a dict of strings, or None (then the query string is shown)
        self.http_status = 0
        self.api_error = False  # the answer is an error envelope (HTTP 200 with status "error" for the API)
        self.code: int | str | None = None  # Worksection status_code, or the OAuth error code
        self.duration = 0.0  # seconds
        self.route = ""  # the route's path template, for metrics labels of requests outside the API

    def __str__(self) -> str:
        """A short summary for log formatters other than ours (no parameters, no headers)."""
        return f"{self.method} {self.path!r} {self.http_status} {self.action or '-'} {self.duration * 1000:.1f}ms"

    def fail(self, code: int | str | None) -> None:
        """The answer is an error envelope with this code (None when the envelope carries none)."""
        self.api_error = True
        self.code = code

    def identify(self, scheme: str, caller: str = "", account: str = "") -> None:
        """Record how the caller authenticated and who it is (the account when it was resolved here)."""
        self.scheme = scheme
        if caller:
            self.caller = caller
        if account:
            self.account = account

    @property
    def outcome(self) -> str:
        """`ok`, `error_<code>` for an error envelope, `http_<status>` for any other answer that is not 2xx/3xx."""
        if self.http_status >= 400 or (self.http_status != 200 and self.api_error):
            return f"http_{self.http_status}"
        if self.api_error:
            return "error" if self.code is None else f"error_{self.code}"
        return "ok"


_CURRENT: ContextVar[RequestRecord | None] = ContextVar("localsection_request_record", default=None)


def current() -> RequestRecord | None:
    """The record of the request being handled, or None outside the middleware (tests calling a handler)."""
    return _CURRENT.get()


def begin(record: RequestRecord) -> Any:
    """Make `record` the current one; returns the token for `end`."""
    return _CURRENT.set(record)


def end(token: Any) -> None:
    _CURRENT.reset(token)
