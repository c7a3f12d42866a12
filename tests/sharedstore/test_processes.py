"""Across real processes: 60 concurrent wrong passwords from 2 processes reserve exactly the limit of password
checks, and one rate-limit bucket is shared, when the counters are in Redis."""

from __future__ import annotations

import multiprocessing
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from localsection.api.ratelimit import SharedRateLimiter
from localsection.sharedstore import SharedStore
from localsection.web import throttle
from localsection.web.sharedthrottle import SharedLoginThrottle

PROCESSES = 2
THREADS = 30


def attack(url: str, prefix: str, secret: bytes, barrier: Any, results: Any) -> None:
    """One server process: THREADS concurrent sign-ins with a wrong password, and THREADS API requests."""
    store = SharedStore(url, prefix, secret)
    guard = SharedLoginThrottle(store)
    limiter = SharedRateLimiter(0.01, 5, store, "admin")

    def sign_in(i: int) -> tuple[int, int]:
        attempt = guard.attempt_keys(42, "Kate@Example.com", f"198.51.100.{i}")
        barrier.wait()
        checked = 0
        if guard.reserve(attempt) == 0:
            checked = 1
            time.sleep(0.2)  # the slow password check
            guard.failed(attempt)
        allowed = 1 if limiter.retry_after("42:admin") == 0 else 0
        return checked, allowed

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = list(pool.map(sign_in, range(THREADS)))
    results.put((sum(c for c, _ in outcomes), sum(a for _, a in outcomes)))
    store.close()


def test_the_reservation_and_the_bucket_hold_across_processes(redis_url: str, prefix: str) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES * THREADS)
    results = context.Queue()
    secret = secrets.token_bytes(32)
    workers = [context.Process(target=attack, args=(redis_url, prefix, secret, barrier, results))
               for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
        assert worker.exitcode == 0
    assert sum(o[0] for o in outcomes) == throttle.PER_ACCOUNT_EMAIL  # not PROCESSES x the limit
    assert sum(o[1] for o in outcomes) == 5  # the burst, once for both processes
    guard = SharedLoginThrottle(SharedStore(redis_url, prefix, secret))
    assert guard.in_flight() == 0  # every slot given back, in both processes
    assert guard.reserve(guard.attempt_keys(42, "kate@example.com", "203.0.113.9")) >= 60 * 14  # locked ~15 min
