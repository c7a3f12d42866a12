"""The HTTP protocol uvicorn serves with: httptools with limits on what a client may send before its headers end.

uvicorn bounds neither the size nor the number of header lines under httptools, nor how long a client may take
to send them, so a client could hold memory (a 256 MB header) or a connection (one byte every few seconds) as
long as it liked. Here a request whose head passes `max_header_bytes` or `max_headers` is answered 431 and the
connection closed; a connection that has not finished a request head `header_timeout` seconds after it opened
(or after its previous response) is closed. Idle keep-alive connections are closed by uvicorn after
`keep_alive_timeout` (cli.uvicorn_options).

The limits are read from LOCALSECTION_* settings once per process: uvicorn builds the protocol from an import
string, which also works with several worker processes.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from localsection.config import Settings


@functools.cache
def _limits() -> tuple[int, int, float]:
    settings = Settings.from_env()
    return settings.max_header_bytes, settings.max_headers, settings.header_timeout


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol that refuses oversized request heads and closes connections that send them too slowly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._max_head, self._max_headers, self._head_timeout = _limits()
        self._head_bytes = 0
        self._header_count = 0
        self._in_head = True
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False
        self._too_many_headers = False

    # -- the head deadline ------------------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        if self._head_timer is None and self._head_timeout > 0:
            self._head_timer = self.loop.call_later(self._head_timeout, self._head_too_slow)

    def _disarm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Between requests the keep-alive timeout applies; the next request's head gets its own deadline.
        self._disarm_head_timer()

    # -- the head's size --------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self._in_head:
            self._head_bytes += len(data)
            self._arm_head_timer()
        super().data_received(data)
        if self._in_head and not self._refused and self._head_bytes > self._max_head:
            self._refuse()

    def on_message_begin(self) -> None:
        self._in_head = True
        self._header_count = 0
        super().on_message_begin()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_count += 1
        if self._header_count > self._max_headers:
            self._too_many_headers = True
            raise _TooManyHeaders()  # httptools stops parsing and uvicorn answers through send_400_response
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        self._disarm_head_timer()
        super().on_headers_complete()
        # The emulator's `drop` fault closes the connection without an answer (api/endpoint.drop_connection).
        self.scope["localsection.transport"] = self.transport  # type: ignore[typeddict-unknown-key]

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True

    def send_400_response(self, msg: str) -> None:
        if self._too_many_headers:
            self._refuse()
        else:
            super().send_400_response(msg)

    def _refuse(self) -> None:
        """431 and close: the rest of what the client sends is never parsed."""
        self._refused = True
        self._disarm_head_timer()
        if self.transport.is_closing():
            return
        body = b'{"status":"error","message":"Request header fields too large"}'
        self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                             b"content-type: application/json; charset=utf-8\r\n"
                             b"content-length: " + str(len(body)).encode() + b"\r\n"
                             b"connection: close\r\n\r\n" + body)
        self.transport.close()


class _TooManyHeaders(Exception):
    """Raised from a parser callback to stop parsing at once."""
