"""Oversized bodies on every endpoint of a real server: each is refused (413, or the path's own refusal) without
being buffered, and the server's memory stays flat.

Figure: requests sent, answers other than a refusal, and the server's RSS growth — the first must be 0 and the
growth well under one body. Quick: every path once with a declared 300 MB body and once chunked past the cap;
full (LOCALSECTION_SOAK=1): each five times, and 300 MB actually streamed to every path.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from tests.reliability.conftest import live_server

PATHS = ["/api/admin/v2", "/api/admin/v2/?action=get_users", "/api/admin/?action=post_task", "/api/oauth2",
         "/api/oauth2/?action=me", "/oauth2/token", "/oauth2/refresh", "/oauth2/resource", "/oauth2/login",
         "/oauth2/authorize", "/download/1/", "/livez", "/readyz", "/avatars/1.png", "/no/such/path"]
REFUSALS = {413, 405, 404, 431}


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def declared(url: str, path: str, stream_bytes: int) -> int:
    """POST a head declaring 300 MB, stream up to `stream_bytes`, return the status code the server answers."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     "Content-Length: 300000000\r\n\r\n".encode())
        sent = 0
        try:
            while sent < stream_bytes:
                sock.sendall(b"a" * 65536)
                sent += 65536
        except (BrokenPipeError, ConnectionResetError):
            pass
        sock.settimeout(30)
        head = sock.recv(64)
    return int(head.split(b" ")[1]) if head.startswith(b"HTTP/1.1 ") else 0


def chunked(url: str, path: str) -> int:
    def chunks() -> Iterator[bytes]:
        for _ in range(200):  # 12.8 MB: past every cap but the upload one, which the declared test covers
            yield b"a" * 65536

    try:
        return httpx.post(url + path, content=chunks(), timeout=30,
                          headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code
    except httpx.HTTPError:
        return 0  # the server closed the connection while the client was still sending: also a refusal


def test_every_endpoint_refuses_oversized_bodies_without_reading_them(
        server_kind: str, tmp_path: Path, size: Callable[[int, int], int], figure: Callable[[str], None]) -> None:
    rounds, stream = size(1, 5), size(4 * 1024 * 1024, 300 * 1024 * 1024)
    with live_server(server_kind, tmp_path) as (proc, server):
        base = rss_kb(proc.pid)
        sent, wrong = 0, []
        for _ in range(rounds):
            for path in PATHS:
                code = declared(server.url, path, stream)
                sent += 1
                if code not in REFUSALS:
                    wrong.append((path, "declared", code))
                if "?action=post_task" not in path:
                    code = chunked(server.url, path)
                    sent += 1
                    if code not in REFUSALS | {0}:
                        wrong.append((path, "chunked", code))
        assert httpx.get(server.url + "/livez").status_code == 200
        growth_mb = (rss_kb(proc.pid) - base) / 1024
    figure(f"oversized bodies ({server_kind}): {sent} requests, {len(wrong)} not refused, "
           f"server RSS +{growth_mb:.0f} MB")
    assert wrong == []
    assert growth_mb < 60
