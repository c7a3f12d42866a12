"""The sign-in throttle in the shared store (Redis): every server process counts the same failures and slots.

Same keys, limits, window, delays and answers as the in-process `LoginThrottle` (web/throttle.py, whose module
limits are read at call time here too). Per key, in Redis:

* `<prefix>signin:fail:<digest>`: a sorted set of failure times (score = the app clock); trimmed to the window on
  every use and expiring one window after the last failure.
* `<prefix>signin:pend:<digest>`: a sorted set of reservations still being checked (member = the attempt's slot,
  score = when the reservation lapses, HOLD seconds on, so a process that dies mid-check frees it by itself).

`reserve` is one Lua script over both keys of an attempt: it counts and takes the slots in one atomic step, so
concurrent attempts from any number of processes get exactly the limit of password checks. The digests are
HMACs (sharedstore.py): no e-mail or address appears in Redis.

While Redis does not answer, the in-process counters of the base class take over (a reservation made there is
released there), so the throttle is per process for that time, never off.
"""

from __future__ import annotations

import contextlib
import secrets
import threading

from localsection import clock
from localsection.sharedstore import SharedStore, StoreUnavailable
from localsection.web import throttle
from localsection.web.throttle import Attempt, LoginThrottle

HOLD = 60.0  # seconds a reservation lasts at most (a password check takes well under one)

_RESERVE = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local hold = tonumber(ARGV[3])
local slot = ARGV[4]
local refused = false
local wait = 0
for i = 0, 1 do
  local fails = KEYS[1 + 2 * i]
  local pend = KEYS[2 + 2 * i]
  local limit = tonumber(ARGV[5 + i])
  redis.call('ZREMRANGEBYSCORE', fails, '-inf', now - window)
  redis.call('ZREMRANGEBYSCORE', pend, '-inf', now)
  local failed = redis.call('ZCARD', fails)
  if failed >= limit then
    local nth = redis.call('ZRANGE', fails, -limit, -limit, 'WITHSCORES')
    refused = true
    wait = math.max(wait, tonumber(nth[2]) + window - now)
  elseif failed + redis.call('ZCARD', pend) >= limit then
    refused = true
    wait = math.max(wait, 1.0)
  end
end
if refused then
  return string.format('%.17g', wait)
end
for i = 0, 1 do
  redis.call('ZADD', KEYS[2 + 2 * i], now + hold, slot)
  redis.call('PEXPIRE', KEYS[2 + 2 * i], math.ceil(hold * 1000) + 1000)
end
return '0'
"""

_FAILED = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local count = 0
for i = 0, 1 do
  local fails = KEYS[1 + 2 * i]
  redis.call('ZREM', KEYS[2 + 2 * i], ARGV[3])
  redis.call('ZREMRANGEBYSCORE', fails, '-inf', now - window)
  redis.call('ZADD', fails, now, ARGV[3] .. ':' .. ARGV[1])
  redis.call('PEXPIRE', fails, math.ceil(window * 1000) + 1000)
  count = math.max(count, redis.call('ZCARD', fails))
end
return count
"""

_RELEASE = """
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[1])
end
return 0
"""

_IN_FLIGHT = """
local n = 0
for _, key in ipairs(KEYS) do
  n = n + redis.call('ZCOUNT', key, '(' .. ARGV[1], '+inf')
end
return n
"""


class SharedLoginThrottle(LoginThrottle):
    """`LoginThrottle` with its counters in Redis; the inherited in-process counters are the fallback."""

    def __init__(self, store: SharedStore) -> None:
        super().__init__()
        self.store = store
        self._reserve = store.script(_RESERVE)
        self._failed = store.script(_FAILED)
        self._release_script = store.script(_RELEASE)
        self._in_flight = store.script(_IN_FLIGHT)
        self._local_slots: set[str] = set()  # reservations taken in the fallback while Redis was down
        self._slots_lock = threading.Lock()

    def attempt_keys(self, account_id: int, email: str, address: str) -> Attempt:  # type: ignore[override]
        keys = LoginThrottle.attempt_keys(account_id, email, address)
        return Attempt(keys.account_key, keys.address_key, secrets.token_hex(12))

    def _redis_keys(self, attempt: Attempt) -> list[str]:
        out: list[str] = []
        for key in (attempt.account_key, attempt.address_key):
            digest = self.store.digest(key)
            out += [self.store.key("signin", "fail", digest), self.store.key("signin", "pend", digest)]
        return out

    def _is_local(self, attempt: Attempt) -> bool:
        with self._slots_lock:
            if attempt.slot in self._local_slots:
                self._local_slots.discard(attempt.slot)
                return True
            return False

    def reserve(self, attempt: Attempt) -> int:
        now = clock.unix()
        try:
            wait = float(self.store.run(self._reserve, self._redis_keys(attempt),
                                        [repr(now), throttle.WINDOW, HOLD, attempt.slot,
                                         throttle.PER_ACCOUNT_EMAIL, throttle.PER_IP]))
        except StoreUnavailable:
            taken = super().reserve(attempt)
            if taken == 0:
                with self._slots_lock:
                    self._local_slots.add(attempt.slot)
            return taken
        return 0 if wait == 0 else max(1, int(wait + 0.999))  # as LoginThrottle.reserve rounds

    def failed(self, attempt: Attempt) -> float:
        if self._is_local(attempt):
            return super().failed(attempt)
        now = clock.unix()
        try:
            count = int(self.store.run(self._failed, self._redis_keys(attempt),
                                       [repr(now), throttle.WINDOW, attempt.slot]))
        except StoreUnavailable:
            with self._lock:  # the slot in Redis lapses by itself; the failure is counted here meanwhile
                return self._count_failure(attempt, now)
        return throttle.delay_after(count)

    def succeeded(self, attempt: Attempt) -> None:
        if self._is_local(attempt):
            super().succeeded(attempt)
            return
        try:
            self.store.run(self._release_script, self._redis_keys(attempt), [attempt.slot, "1"])
        except StoreUnavailable:
            with self._lock:
                self._fails.pop(attempt.account_key, None)

    def abandoned(self, attempt: Attempt) -> None:
        if self._is_local(attempt):
            super().abandoned(attempt)
            return
        with contextlib.suppress(StoreUnavailable):  # if so, the slot in Redis lapses by itself after HOLD seconds
            self.store.run(self._release_script, self._redis_keys(attempt), [attempt.slot, "0"])

    def in_flight(self) -> int:
        """Reservations not yet released: those in Redis (every process's) plus this process's fallback ones."""
        local = super().in_flight()
        try:
            keys = self.store.scan_keys("signin:pend:*")
            return local + (int(self.store.run(self._in_flight, keys, [repr(clock.unix())])) if keys else 0)
        except StoreUnavailable:
            return local


def login_throttle(store: SharedStore | None) -> LoginThrottle:
    """The app's sign-in throttle: in Redis when a shared store is configured, else in this process."""
    return LoginThrottle() if store is None else SharedLoginThrottle(store)
