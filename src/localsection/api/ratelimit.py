"""Per-credential token bucket (PROTOCOL.md §9.1): off unless a rate is configured."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from localsection.errors import HttpRefusal

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
