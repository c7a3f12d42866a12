"""The source of a migration: a Worksection account's admin API v2, read with our own small httpx client.

Every request is signed the documented way (PROTOCOL.md §2.1: `hash = md5(<query string> + <admin key>)`, sent
as the last query parameter), spaced to at most `rate` requests per second, and retried: HTTP 429 waits for its
`Retry-After`, network errors and 5xx answers back off exponentially. The 10,000-record cap answers raise
`TooMany`, so the splitter can ask for less.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlencode, urlsplit

import httpx

API_PATH = "/api/admin/v2/"
MAX_JSON_BYTES = 256 * 1024 * 1024  # one list answer (10,000 tasks with their text) stays far below this
MAX_ATTEMPTS = 8  # per request, 429s and network errors together
MAX_BACKOFF = 60.0
CAP_MESSAGE = "Too many"
SLACK = 0.03  # 3 % over 1/rate between two requests
MAX_SLOWDOWN = 1.5  # each 429 widens the spacing by 5 %, up to this factor


class SourceError(Exception):
    """The source answered an error envelope, or could not be reached after every retry."""


class Unreachable(SourceError):
    """The source could not be reached (network, 5xx, rate limit) after MAX_ATTEMPTS tries."""


class TooMany(SourceError):
    """The source refused a list above its record cap (`Too many tasks (10000 max)`)."""


class FileGone(SourceError):
    """A download answered an error instead of bytes (the reason is the message)."""


def api_url(base: str) -> str:
    """`https://acme.worksection.com` (or an URL already ending in /api/admin/v2) -> the admin API endpoint."""
    parts = urlsplit(base.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"--from must be an http(s) URL such as https://acme.worksection.com, not {base!r}")
    path = parts.path.rstrip("/")
    if path.endswith(API_PATH.rstrip("/")):
        path = path[: -len(API_PATH.rstrip("/"))]
    return f"{parts.scheme}://{parts.netloc}{path}{API_PATH}"


def signed_query(params: dict[str, str], api_key: str) -> str:
    """The query string of one admin API call with its md5 `hash` appended."""
    query = urlencode(list(params.items()))
    digest = hashlib.md5((query + api_key).encode("utf-8")).hexdigest()
    return f"{query}&hash={digest}"


@dataclass
class Stats:
    """What the client did: requests sent (by action), 429s met, retries, seconds spent waiting."""

    requests: dict[str, int] = field(default_factory=dict)
    throttled: int = 0
    retries: int = 0
    waited: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.requests.values())


class Source:
    """A signed, rate-limited, retrying client of one account's admin API."""

    def __init__(self, base_url: str, api_key: str, *, rate: float = 1.0, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 on_request: Callable[[str], None] | None = None) -> None:
        if rate <= 0:
            raise ValueError("--rate must be above 0")
        self.url = api_url(base_url)
        self._key = api_key
        # A little slack over 1/rate: a request that reaches the server a few milliseconds sooner than the one
        # before it did would otherwise find the source's bucket still empty and cost a 429 and a retry.
        self._interval = self._base = (1.0 + SLACK) / rate
        self._sleep, self._clock = sleep, clock
        self._next_at = 0.0
        self._on_request = on_request
        self.stats = Stats()
        self._http = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False,
                                  headers={"Accept": "application/json", "User-Agent": "localsection-migrate"})

    def close(self) -> None:
        self._http.close()

    # -- the wire ------------------------------------------------------------------------------------

    def _wait_turn(self) -> None:
        """Wait until a turn since the last request has passed."""
        now = self._clock()
        if now < self._next_at:
            self._wait(self._next_at - now)

    def _wait(self, seconds: float) -> None:
        self.stats.waited += seconds
        self._sleep(seconds)

    def _send(self, params: dict[str, str], sink: _Bounded | None) -> tuple[str, bytes]:
        """One request with retries; the answer's content type and body (or the body streamed into `sink`)."""
        action = params["action"]
        url = f"{self.url}?{signed_query(params, self._key)}"
        backoff = 1.0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            self._wait_turn()
            self.stats.requests[action] = self.stats.requests.get(action, 0) + 1
            if self._on_request is not None:
                self._on_request(action)
            # The next turn counts from the moment this request leaves (not from when its turn came): a thread
            # that was not scheduled at once must not make the next request follow this one too closely.
            self._next_at = self._clock() + self._interval
            try:
                with self._http.stream("GET", url) as resp:
                    if resp.status_code == 429:
                        self.stats.throttled += 1
                        delay = _retry_after(resp.headers.get("Retry-After"), backoff)
                        # Our spacing was not enough for this source (its clock, its queue): leave more from now on.
                        self._interval = min(self._interval * 1.05, self._base * MAX_SLOWDOWN)
                    elif resp.status_code >= 500:
                        delay = backoff
                    elif resp.status_code != 200:
                        kind = resp.headers.get("Content-Type", "")
                        body = _read(resp, MAX_JSON_BYTES, None)
                        if action == "download":
                            raise FileGone(f"HTTP {resp.status_code}")
                        raise SourceError(f"{action}: HTTP {resp.status_code} {_message(kind, body)}")
                    else:
                        kind = resp.headers.get("Content-Type", "")
                        if sink is not None and "json" not in kind:
                            _read(resp, None, sink)
                            return kind, b""
                        return kind, _read(resp, MAX_JSON_BYTES, None)
            except httpx.TransportError as exc:
                delay = backoff
                if attempt == MAX_ATTEMPTS:
                    raise Unreachable(f"{action}: {exc.__class__.__name__} after {attempt} tries") from None
            if attempt == MAX_ATTEMPTS:
                raise Unreachable(f"{action}: the source kept refusing (429/5xx) after {attempt} tries")
            self.stats.retries += 1
            self._wait(delay)
            backoff = min(backoff * 2, MAX_BACKOFF)
        raise Unreachable(action)  # not reached

    # -- actions -------------------------------------------------------------------------------------

    def call(self, action: str, **params: str) -> Any:
        """The payload of one action: `data` when present, else the whole body; errors raise."""
        query = {"action": action, **{k: v for k, v in params.items() if v != ""}}
        kind, body = self._send(query, None)
        try:
            doc = json.loads(body)
        except ValueError:
            raise SourceError(f"{action}: the answer is not JSON ({kind or 'no content type'})") from None
        if not isinstance(doc, dict):
            raise SourceError(f"{action}: the answer is not a JSON object")
        if doc.get("status") == "error":
            message = str(doc.get("message", ""))
            if message.startswith(CAP_MESSAGE):
                raise TooMany(f"{action}: {message}")
            details = f" ({doc['message_details']})" if doc.get("message_details") else ""
            raise SourceError(f"{action}: {message}{details}")
        return doc.get("data", doc)

    def rows(self, action: str, **params: str) -> list[dict[str, Any]]:
        """A list action's rows (dicts only)."""
        data = self.call(action, **params)
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, list):
            raise SourceError(f"{action}: expected a list")
        return [r for r in data if isinstance(r, dict)]

    def download(self, file_id: str, max_bytes: int) -> Path:
        """The bytes of one file in a temporary file (the caller removes it); FileGone when refused."""
        tmp = tempfile.NamedTemporaryFile(prefix="ls-migrate-", delete=False)  # noqa: SIM115 - handed over
        path = Path(tmp.name)
        try:
            with tmp:
                sink = _Bounded(tmp, max_bytes)
                kind, body = self._send({"action": "download", "id_file": file_id}, sink)
            if "json" in kind:
                raise FileGone(_message(kind, body) or "the source answered JSON instead of the file")
            return path
        except BaseException:
            path.unlink(missing_ok=True)
            raise


class _Bounded:
    """A write-only sink that refuses more than `limit` bytes."""

    def __init__(self, out: IO[bytes], limit: int) -> None:
        self.out, self.limit, self.size = out, limit, 0

    def reset(self) -> None:
        self.out.seek(0)
        self.out.truncate()
        self.size = 0

    def write(self, chunk: bytes) -> int:
        self.size += len(chunk)
        if self.size > self.limit:
            raise FileGone(f"larger than {self.limit} bytes (LOCALSECTION_MAX_FILE_BYTES)")
        return self.out.write(chunk)


def _read(resp: httpx.Response, limit: int | None, sink: _Bounded | None) -> bytes:
    """The body, at most `limit` bytes (a larger one is an error), or streamed into `sink`."""
    if sink is not None:
        sink.reset()  # a retried download starts again from its first byte
        for chunk in resp.iter_bytes():
            sink.write(chunk)
        return b""
    parts: list[bytes] = []
    size = 0
    for chunk in resp.iter_bytes():
        size += len(chunk)
        if limit is not None and size > limit:
            raise SourceError(f"an answer larger than {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


def _message(kind: str, body: bytes) -> str:
    """The `message` of a JSON error body, else ''."""
    if "json" not in kind:
        return ""
    try:
        doc = json.loads(body)
    except ValueError:
        return ""
    return str(doc.get("message", "")) if isinstance(doc, dict) else ""


def _retry_after(value: str | None, default: float) -> float:
    try:
        return max(0.0, min(float(value), MAX_BACKOFF)) if value is not None else default
    except ValueError:
        return default
