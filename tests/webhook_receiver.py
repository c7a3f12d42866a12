"""A real HTTP receiver on loopback for webhook tests: records every request, answers from a script."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

OK_BODY = b'{"status":"OK"}'


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = 0.0  # time.monotonic() when it was answered

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers 200 {"status":"OK"} unless `fail_next` > 0 (then 500), `always_fail`, or it is every
    `fail_every`-th POST (of those carrying events); `delay` seconds first."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    fail_next: int = 0
    always_fail: bool = False
    delay: float = 0.0
    reply: bytes = OK_BODY
    fail_every: int = 0
    posts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, body: bytes = b"") -> tuple[int, bytes]:
        with self.lock:
            if self.always_fail:
                return 500, b'{"status":"error"}'
            if self.fail_next > 0:
                self.fail_next -= 1
                return 500, b'{"status":"error"}'
            if self.fail_every and body not in (b"[]", b""):
                self.posts += 1
                if self.posts % self.fail_every == 0:
                    return 500, b'{"status":"error"}'
        return 200, self.reply

    def accepted(self) -> list[Received]:
        """Deliveries answered 200 (the ones the sender counts as delivered)."""
        with self.lock:
            return [r for r in self.requests if r.body not in (b"[]", b"") and r.headers.get("x-answered") == "200"]

    def deliveries(self) -> list[Received]:
        """Requests whose body is a non-empty array (the probe sends `[]`)."""
        with self.lock:
            return [r for r in self.requests if r.body not in (b"[]", b"")]

    def events(self) -> list[dict[str, Any]]:
        return [e for r in self.deliveries() for e in r.json()]

    def wait_for(self, predicate: Any, timeout: float = 30.0) -> bool:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return bool(predicate())


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            if receiver.delay:
                time.sleep(receiver.delay)
            status, reply = receiver.answer(body)
            headers = {k.lower(): v for k, v in self.headers.items()} | {"x-answered": str(status)}
            with receiver.lock:
                receiver.requests.append(Received("POST", self.path, headers, body, time.monotonic()))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


# -- a tarpit: accepts, then answers one byte at a time --------------------------------------------

TARPIT_REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n" + OK_BODY


@dataclass
class Tarpit:
    """A loopback server that reads each request and drips a valid 200 {"status":"OK"} answer one byte every
    `interval` seconds; with `body_only` the headers come at once and only the body drips."""

    interval: float = 0.25
    body_only: bool = False
    url: str = ""
    connections: int = 0
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, conn: socket.socket) -> None:
        with self.lock:
            self.connections += 1
        try:
            conn.settimeout(1.0)
            with suppress(OSError):
                conn.recv(65536)
            split = TARPIT_REPLY.index(b"\r\n\r\n") + 4 if self.body_only else 0
            if split:
                conn.sendall(TARPIT_REPLY[:split])
            for i in range(split, len(TARPIT_REPLY)):
                if self.stopping.wait(self.interval):
                    return
                conn.sendall(TARPIT_REPLY[i:i + 1])
        except OSError:
            return  # the client gave up (what the deadline is for)
        finally:
            conn.close()


@contextmanager
def running_tarpit(interval: float = 0.25, body_only: bool = False) -> Iterator[Tarpit]:
    tarpit = Tarpit(interval, body_only)
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    listener.settimeout(0.1)
    tarpit.url = f"http://127.0.0.1:{listener.getsockname()[1]}/hook"

    def accept() -> None:
        while not tarpit.stopping.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=tarpit.serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield tarpit
    finally:
        tarpit.stopping.set()
        thread.join(2)
        listener.close()
