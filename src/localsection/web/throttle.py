"""Sign-in throttle: failed sign-ins are held back and then refused for a while, per key.

Two independent keys per attempt: the (account, e-mail) signed in to, and the client address (web/clientaddr.py;
an IPv6 client counts as its /64). Either key over its limit refuses the attempt; a locked e-mail never locks
another e-mail, and a locked address never locks another address.

Check and count are one step: `reserve` takes a slot on both keys *before* the slow password check, and the
slot is released on success or turned into a failure. Without that, 60 concurrent guesses all passed the check
while the first ones were still hashing (12 checks went through against a limit of 5).

`LoginThrottle` is the interface and its in-process implementation: with several server processes each one
enforces its own limits. `web/sharedthrottle.py` keeps the same counters in the shared store (Redis, when
LOCALSECTION_REDIS_URL is set) so all processes count together; `login_throttle()` there picks one at start.
"""

from __future__ import annotations

import ipaddress
import threading
from collections import deque
from dataclasses import dataclass, field

from localsection import clock
from localsection.web.clientaddr import parse_address

WINDOW = 15 * 60  # failures older than this are forgotten
PER_ACCOUNT_EMAIL = 5  # failed attempts for one e-mail in one account before it is locked
PER_IP = 20  # failed attempts from one client address (any e-mail) before it is locked
BASE_DELAY = 0.25  # seconds the first failure is held back; doubles per failure up to MAX_DELAY
MAX_DELAY = 4.0
_MAX_KEYS = 100_000  # memory bound: the oldest keys are dropped first


@dataclass(frozen=True)
class Attempt:
    """A reserved sign-in attempt: it counts against both keys until it is released or recorded as failed."""

    account_key: str
    address_key: str
    slot: str = field(default="", compare=False)  # the shared throttle's id of this reservation


def address_key(address: str) -> str:
    """The throttle key of a client address: the address itself, or its /64 network for IPv6 (one host usually
    holds a whole /64, so single IPv6 addresses would cost an attacker nothing)."""
    addr = parse_address(address)
    if isinstance(addr, ipaddress.IPv6Address):
        return f"ip:{ipaddress.ip_network(f'{addr}/64', strict=False)}"
    return f"ip:{addr if addr is not None else address[:64]}"


def delay_after(failures: int) -> float:
    """How long the answer to a failed attempt is held back, after `failures` failures on its busiest key."""
    return float(min(BASE_DELAY * 2 ** (failures - 1), MAX_DELAY))


class LoginThrottle:
    """Failure counters and in-flight attempts per key; thread-safe."""

    def __init__(self) -> None:
        self._fails: dict[str, deque[float]] = {}
        self._pending: dict[str, int] = {}
        self._lock = threading.Lock()

    @staticmethod
    def attempt_keys(account_id: int, email: str, address: str) -> Attempt:
        return Attempt(f"acc:{account_id}:{email.strip().lower()}", address_key(address))

    @staticmethod
    def _limits(attempt: Attempt) -> tuple[tuple[str, int], tuple[str, int]]:
        # Read at call time, so an operator (or a test) can change the module's limits.
        return (attempt.account_key, PER_ACCOUNT_EMAIL), (attempt.address_key, PER_IP)

    def _recent(self, key: str, now: float) -> deque[float]:
        fails = self._fails.get(key, deque())
        while fails and fails[0] <= now - WINDOW:
            fails.popleft()
        return fails

    def reserve(self, attempt: Attempt) -> int:
        """Take a slot on both keys; returns 0 when taken, else the seconds to wait before trying again.

        Failures in the window plus attempts still being checked count against each limit.
        """
        now = clock.unix()
        with self._lock:
            waits: list[float] = []
            for key, limit in self._limits(attempt):
                fails = self._recent(key, now)
                if len(fails) >= limit:
                    waits.append(fails[-limit] + WINDOW - now)
                elif len(fails) + self._pending.get(key, 0) >= limit:
                    waits.append(1.0)  # the slots are held by attempts still being checked
            if waits:
                return max(1, int(max(waits) + 0.999))
            for key, _ in self._limits(attempt):
                self._pending[key] = self._pending.get(key, 0) + 1
            return 0

    def _release(self, attempt: Attempt) -> None:
        for key, _ in self._limits(attempt):
            left = self._pending.get(key, 0) - 1
            if left > 0:
                self._pending[key] = left
            else:
                self._pending.pop(key, None)

    def failed(self, attempt: Attempt) -> float:
        """Turn a reserved attempt into a failure; returns how long to hold the answer back."""
        now = clock.unix()
        with self._lock:
            self._release(attempt)
            return self._count_failure(attempt, now)

    def _count_failure(self, attempt: Attempt, now: float) -> float:
        """Add a failure on both keys (the lock held); returns how long to hold the answer back."""
        if len(self._fails) >= _MAX_KEYS:
            for key in list(self._fails)[: _MAX_KEYS // 10]:
                del self._fails[key]
        count = 0
        for key, _ in self._limits(attempt):
            fails = self._recent(key, now)
            fails.append(now)
            self._fails[key] = fails
            count = max(count, len(fails))
        return delay_after(count)

    def succeeded(self, attempt: Attempt) -> None:
        """Release a reserved attempt that signed in; the e-mail's failures are forgotten (not the address's)."""
        with self._lock:
            self._release(attempt)
            self._fails.pop(attempt.account_key, None)

    def abandoned(self, attempt: Attempt) -> None:
        """Release a reserved attempt that was never checked (an error): it counts as nothing."""
        with self._lock:
            self._release(attempt)

    def in_flight(self) -> int:
        """Attempts reserved and not yet released, over all keys (tests and diagnostics)."""
        with self._lock:
            return sum(self._pending.values())
