"""The optional shared store (LOCALSECTION_REDIS_URL): rate-limit and sign-in throttle counters in Redis.

Without it every server process keeps those counters in its own memory (api/ratelimit.py, web/throttle.py), so N
processes enforce N times the limits. With it, one `SharedStore` per app holds a redis-py client (a connection
pool, short socket timeouts) and runs each counter update as one Lua script, atomic across processes.

Keys: `<LOCALSECTION_REDIS_PREFIX><what>:...`, every one with a TTL. Nothing secret or personal is written into
a key: e-mails, client addresses and token fragments are HMAC-SHA-256 digests keyed with a secret derived from
the OAuth2 signing key (a file every process of a deployment shares and Redis never sees).

When Redis does not answer (down, timeout, an error), the caller falls back to its in-process counters (per
process limits: looser, never none); one WARNING line a minute says so, Redis is tried again every few seconds,
and one line says when it is back. Never a 500.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import redis
from cryptography.hazmat.primitives import serialization
from redis.backoff import NoBackoff
from redis.commands.core import Script
from redis.retry import Retry

from localsection import tokens
from localsection.config import Settings
from localsection.state import AppState

log = logging.getLogger("localsection.sharedstore")

SOCKET_TIMEOUT = 0.5  # seconds per connect and per command: a slow Redis must not stall requests
RETRY_DOWN_AFTER = 2.0  # seconds a store that failed is left alone (callers use their fallback) before a retry
WARN_EVERY = 60.0  # seconds between two WARNING lines while the store is down
MAX_CONNECTIONS = 64  # per process; a request holds one for one command


class StoreUnavailable(Exception):
    """Redis did not answer (or is being left alone after a failure): use the in-process fallback."""


class SharedStore:
    """One Redis connection pool, its key namespace and key digests, and the down/up bookkeeping."""

    def __init__(self, url: str, prefix: str, secret: bytes, clock: Callable[[], float] = time.monotonic) -> None:
        self.prefix = prefix
        self._secret = secret
        self._clock = clock
        pool = redis.ConnectionPool.from_url(url, socket_timeout=SOCKET_TIMEOUT,
                                             socket_connect_timeout=SOCKET_TIMEOUT, max_connections=MAX_CONNECTIONS,
                                             retry=Retry(NoBackoff(), 0), health_check_interval=30)
        self.client = redis.Redis(connection_pool=pool)
        self._down_until = 0.0
        self._warned_at: float | None = None
        self._lock = threading.Lock()

    def key(self, *parts: str) -> str:
        """A namespaced key of plain (non-secret) parts, e.g. key("rate", "admin", "12")."""
        return self.prefix + ":".join(parts)

    def digest(self, text: str) -> str:
        """A keyed digest of a value that must not appear in Redis (an e-mail, an address, a token)."""
        return hmac.new(self._secret, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:32]

    def script(self, source: str) -> Script:
        return self.client.register_script(source)

    def run(self, script: Script, keys: Sequence[str], args: Sequence[Any]) -> Any:
        """Run a Lua script; raises StoreUnavailable when Redis fails (or failed moments ago)."""
        if self._down_until and self._clock() < self._down_until:
            raise StoreUnavailable
        try:
            result = script(keys=list(keys), args=list(args), client=self.client)
        except redis.RedisError as exc:
            self._went_down(exc)
            raise StoreUnavailable from None
        if self._down_until:
            self._came_back()
        return result

    def scan_delete(self, pattern: str) -> int:
        """Delete the keys matching a glob under the prefix (rare: the emulator's reset); 0 when Redis is down."""
        try:
            found = list(self.client.scan_iter(match=self.prefix + pattern, count=500))
            return int(self.client.unlink(*found)) if found else 0
        except redis.RedisError as exc:
            self._went_down(exc)
            return 0

    def scan_keys(self, pattern: str) -> list[str]:
        """The keys matching a glob under the prefix (diagnostics); raises StoreUnavailable."""
        try:
            return [k.decode() for k in self.client.scan_iter(match=self.prefix + pattern, count=500)]
        except redis.RedisError as exc:
            self._went_down(exc)
            raise StoreUnavailable from None

    def ping(self) -> bool:
        """Whether Redis answers now (start-up check; a failure is logged like one mid-run)."""
        try:
            self.client.ping()
        except redis.RedisError as exc:
            self._went_down(exc)
            return False
        if self._down_until:
            self._came_back()
        return True

    @property
    def down(self) -> bool:
        return bool(self._down_until)

    def _went_down(self, exc: Exception) -> None:
        now = self._clock()
        with self._lock:
            self._down_until = now + RETRY_DOWN_AFTER
            if self._warned_at is not None and now - self._warned_at < WARN_EVERY:
                return
            self._warned_at = now
        # The exception's class only: its text may carry the URL (and a password).
        log.warning("shared store (Redis) unavailable (%s): rate limits and sign-in throttle use this process's "
                    "own counters until it answers again", type(exc).__name__)

    def _came_back(self) -> None:
        with self._lock:
            if not self._down_until:
                return
            self._down_until = 0.0
            self._warned_at = None
        log.warning("shared store (Redis) answers again: rate limits and sign-in throttle are shared again")

    def close(self) -> None:
        self.client.close()
        self.client.connection_pool.disconnect()


def key_secret(settings: Settings) -> bytes:
    """The key of the digests: derived from the OAuth2 signing key, which every process of a deployment shares."""
    der = tokens.signing_key(settings).private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption())
    return hashlib.sha256(b"localsection shared-store key digests\0" + der).digest()


_BY_STATE: weakref.WeakKeyDictionary[AppState, SharedStore | None] = weakref.WeakKeyDictionary()
_BY_STATE_LOCK = threading.Lock()


def store_for(state: AppState) -> SharedStore | None:
    """The app's shared store, made (and pinged once) on first use; None when LOCALSECTION_REDIS_URL is empty."""
    with _BY_STATE_LOCK:
        if state in _BY_STATE:
            return _BY_STATE[state]
        store = None
        if state.settings.redis_url:
            store = SharedStore(state.settings.redis_url, state.settings.redis_prefix, key_secret(state.settings))
            if store.ping():
                log.info("rate limits and sign-in throttle are shared through Redis (prefix %s)", store.prefix)
        _BY_STATE[state] = store
        return store
