"""Scale-out on PostgreSQL: throughput of one server process against two sharing one database.

Both runs use 16 keep-alive connections in all: one load generator on one process, or two generators of 8
connections, one per process (clients alternating between the two servers). Skipped without PostgreSQL.

Beside each run: how busy the whole machine was (all cores, from /proc/stat) and its CPU time per request
(servers, PostgreSQL, the load generator). A second process can only add what the first left idle: when one
process already keeps the machine busy, the ratio says more about the machine than about the servers, and an
unchanged CPU per request says the two processes did not get in each other's way. The same two runs against
the bare ASGI app of ceiling_app.py (one process, then two) measure the machine's own limit first: no server can
scale further than an app that does no work at all.

Run: .venv/bin/python bench/bench_scaleout.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from harness import Request, Server

T = TypeVar("T")


def requests(server: Server, task: str) -> list[tuple[str, Request]]:
    return [("get_task (md5 GET)", Request(harness.md5_url(server, {"action": "get_task", "id_task": task}))),
            ("post_comment (SDK POST)", harness.sdk_post(server, "post_comment", {"id_task": task, "text": "x"}))]


def machine_use(run: Callable[[], T]) -> tuple[T, float, float]:
    """`run()`'s result, the cores the whole machine kept busy meanwhile, and the CPU seconds it spent."""
    box, started = harness.box_seconds(), time.perf_counter()
    result = run()
    spent = harness.box_seconds() - box
    return result, spent / (time.perf_counter() - started), spent


def compare(name: str, one: Request, pair: tuple[Request, Request]) -> None:
    """One process under 16 connections against two under 8 each; printed and recorded as scenario `name`."""
    cores = os.cpu_count() or 1
    single, busy_one, cpu_one = machine_use(lambda: harness.load(name, one))
    with ThreadPoolExecutor(2) as pool:
        (halves, busy_two, cpu_two) = machine_use(lambda: list(
            pool.map(lambda r: harness.load(name, r, concurrency=8), pair)))
    both = sum(h.rps for h in halves)
    n_one, n_two = max(1, single.requests), max(1, sum(h.requests for h in halves))
    print(f"  {name:<26} 1 process {single.rps:8,.0f} req/s (p99 {single.p99_ms:6.1f} ms)   "
          f"2 processes {both:8,.0f} req/s (p99 {max(h.p99_ms for h in halves):6.1f} ms)   "
          f"x{both / single.rps:4.2f}   errors {single.errors + sum(h.errors for h in halves)}", flush=True)
    print(f"  {'':<26} machine busy {busy_one / cores:6.0%} of {cores} cores, "
          f"{cpu_one / n_one * 1e6:5.0f} us CPU/request    busy {busy_two / cores:6.0%}, "
          f"{cpu_two / n_two * 1e6:5.0f} us CPU/request", flush=True)
    harness.record("scaleout", scenario=name, one=single.rps, two=both, p99_one=single.p99_ms,
                   p99_two=max(h.p99_ms for h in halves),
                   errors=single.errors + sum(h.errors for h in halves), cores=cores,
                   busy_one=busy_one / cores, busy_two=busy_two / cores,
                   cpu_us_one=cpu_one / n_one * 1e6, cpu_us_two=cpu_two / n_two * 1e6)


def ceiling() -> None:
    """The bare ASGI app, one process against two: the most a second process can add on this machine."""
    started = [harness.start_ceiling() for _ in range(2)]
    try:
        first, second = (Request(url + "/") for url, _ in started)
        compare("ceiling (bare ASGI app)", first, (first, second))
    finally:
        for _, proc in started:
            proc.terminate()
            proc.wait()


def main() -> None:
    print(f"bench_scaleout · {harness.machine()}")
    print(harness.tool_line())
    ceiling()
    if not harness.postgres_available():
        print("-- skipped: no PostgreSQL answers at LOCALSECTION_TEST_POSTGRES_URL")
        return
    with harness.database("postgres") as env:
        env = {**env, "LOCALSECTION_WEBHOOK_WORKER": "0"}
        first = harness.start_server(env)
        second = harness.start_server(env)
        try:
            seed = json.loads(harness.cli(env, "dev", "seed-bulk", "--account", first.account, "--tasks", "500",
                                          "--projects", "1"))
            task = str(seed["sample_task_ids"][0])
            for (name, one), (_, other) in zip(requests(first, task), requests(second, task), strict=True):
                compare(name, one, (one, other))
        finally:
            first.stop()
            second.stop()


if __name__ == "__main__":
    main()
