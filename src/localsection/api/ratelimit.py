"""Per-credential token bucket (PROTOCOL.md §9.1): off unless a rate is configured.

`RateLimiter` is the interface and its in-process implementation (each server process counts on its own);
`SharedRateLimiter` keeps the buckets in the shared store (sharedstore.py, LOCALSECTION_REDIS_URL) so that all
processes count together, and falls back to the in-process buckets while Redis does not answer. `rate_limiter()`
picks one when the app is built: without a shared store the hot path is exactly the in-process one.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from localsection.errors import HttpRefusal
from localsection.sharedstore import SharedStore, StoreUnavailable

# Buckets idle long enough to be full again are forgotten once this many keys are tracked.
_PRUNE_AT = 10_000


class RateLimiter:
    """`rate` requests per second on average, bursts of up to `burst`; rate <= 0 disables it."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = max(1.0, float(burst))
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens left, time of last update)

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def retry_after(self, key: str) -> int:
        """Take one token for `key`: 0 when allowed, else the whole seconds to wait."""
        if not self.enabled:
            return 0
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > _PRUNE_AT:
                self._prune(now)
        return 0 if allowed else max(1, math.ceil((1.0 - tokens) / self.rate))

    def check(self, key: str) -> None:
        """Raise HTTP 429 `Too many requests` with `Retry-After` when `key` is over its rate."""
        wait = self.retry_after(key)
        if wait:
            raise HttpRefusal(429, "Too many requests", {"Retry-After": str(wait)})

    def forget(self, prefix: str) -> None:
        """Drop the buckets whose key starts with `prefix` (they start full again)."""
        with self._lock:
            self._buckets = {k: v for k, v in self._buckets.items() if not k.startswith(prefix)}

    def _prune(self, now: float) -> None:
        full_after = self.burst / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}


# One bucket: a hash {t: tokens left, ts: time of the last update}, Redis's own clock (one clock for every process),
# the same arithmetic as RateLimiter.retry_after. Expires once it would be full again (idle keys cost nothing).
_TAKE = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local saved = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(saved[1])
local last = tonumber(saved[2])
if tokens == nil or last == nil then
  tokens = burst
  last = now
end
tokens = math.min(burst, tokens + math.max(0, now - last) * rate)
local allowed = tokens >= 1.0
if allowed then
  tokens = tokens - 1.0
end
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'ts', string.format('%.17g', now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
if allowed then
  return 0
end
return math.max(1, math.ceil((1.0 - tokens) / rate))
"""


class SharedRateLimiter(RateLimiter):
    """The same buckets in Redis (`<prefix>rate:<name>:<account id>:<digest of the credential part>`); the
    in-process buckets of the base class serve while Redis does not answer."""

    def __init__(self, rate: float, burst: int, store: SharedStore, name: str) -> None:
        super().__init__(rate, burst)
        self.store = store
        self.name = name
        self._take = store.script(_TAKE)

    def redis_key(self, key: str) -> str:
        # Keys are "<account id>:<credential>"; the credential part may hold a token's tail: only its digest.
        head, _, rest = key.partition(":")
        return self.store.key("rate", self.name, head, self.store.digest(rest))

    def retry_after(self, key: str) -> int:
        if not self.enabled:
            return 0
        try:
            return int(self.store.run(self._take, [self.redis_key(key)], [repr(self.rate), repr(self.burst)]))
        except StoreUnavailable:
            return super().retry_after(key)

    def forget(self, prefix: str) -> None:
        """`prefix` is "<account id>:" (every caller's): that account's buckets, here and in Redis."""
        super().forget(prefix)
        head = prefix.split(":", 1)[0]
        if head.isdigit():
            self.store.scan_delete(f"rate:{self.name}:{head}:*")


def rate_limiter(rate: float, burst: int, store: SharedStore | None, name: str) -> RateLimiter:
    """The in-process limiter, or the shared one when a store is configured and the limiter is on."""
    if store is None or rate <= 0:
        return RateLimiter(rate, burst)
    return SharedRateLimiter(rate, burst, store, name)
