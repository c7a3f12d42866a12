"""A real HTTP receiver on loopback for webhook tests: records every request, answers from a script."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Answers 200 {"status":"OK"} unless `fail_next` > 0 (then 500) or `always_fail`; `delay` seconds first."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    fail_next: int = 0
    always_fail: bool = False
    delay: float = 0.0
    reply: bytes = OK_BODY
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self) -> tuple[int, bytes]:
        with self.lock:
            if self.always_fail:
                return 500, b'{"status":"error"}'
            if self.fail_next > 0:
                self.fail_next -= 1
                return 500, b'{"status":"error"}'
        return 200, self.reply

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
            status, reply = receiver.answer()
            with receiver.lock:
                receiver.requests.append(Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                                                  body))
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
