"""Login throttle: failed sign-ins are slowed down and then refused for a while, per account+e-mail and per IP.

The counters live in the process; with several server processes each one enforces its own limits, which
still bounds guessing to a small multiple of the limits below.
"""

from __future__ import annotations

import threading
from collections import deque

from localsection import clock

WINDOW = 15 * 60  # failures older than this are forgotten
PER_ACCOUNT_EMAIL = 5  # failed attempts for one e-mail in one account before it is locked
PER_IP = 20  # failed attempts from one address (any e-mail) before it is locked
BASE_DELAY = 0.25  # seconds the first failure is held back; doubles per failure up to MAX_DELAY
MAX_DELAY = 4.0
_MAX_KEYS = 100_000  # memory bound: the oldest keys are dropped first


class LoginThrottle:
    def __init__(self) -> None:
        self._fails: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(account_id: int, email: str, ip: str) -> tuple[str, str]:
        return f"acc:{account_id}:{email.strip().lower()}", f"ip:{ip}"

    def _recent(self, key: str, now: float) -> deque[float]:
        fails = self._fails.get(key, deque())
        while fails and fails[0] <= now - WINDOW:
            fails.popleft()
        return fails

    def retry_after(self, account_key: str, ip_key: str) -> int:
        """Seconds until another attempt is allowed (0 = allowed now)."""
        now = clock.unix()
        with self._lock:
            waits = [0.0]
            for key, limit in ((account_key, PER_ACCOUNT_EMAIL), (ip_key, PER_IP)):
                fails = self._recent(key, now)
                if len(fails) >= limit:
                    waits.append(fails[-limit] + WINDOW - now)
            return int(max(waits) + 0.999)

    def failed(self, account_key: str, ip_key: str) -> float:
        """Record a failure; returns how long to hold the answer back (grows with each failure)."""
        now = clock.unix()
        with self._lock:
            if len(self._fails) >= _MAX_KEYS:
                for key in list(self._fails)[: _MAX_KEYS // 10]:
                    del self._fails[key]
            count = 0
            for key in (account_key, ip_key):
                fails = self._recent(key, now)
                fails.append(now)
                self._fails[key] = fails
                count = max(count, len(fails))
            return float(min(BASE_DELAY * 2 ** (count - 1), MAX_DELAY))

    def succeeded(self, account_key: str) -> None:
        with self._lock:
            self._fails.pop(account_key, None)
