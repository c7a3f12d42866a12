"""Scale-out on PostgreSQL: throughput of one server process against two sharing one database.

Both runs use 16 keep-alive connections in all: one load generator on one process, or two generators of 8
connections, one per process (clients alternating between the two servers). Skipped without PostgreSQL.

Run: .venv/bin/python bench/bench_scaleout.py
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from harness import Request, Server


def requests(server: Server, task: str) -> list[tuple[str, Request]]:
    return [("get_task (md5 GET)", Request(harness.md5_url(server, {"action": "get_task", "id_task": task}))),
            ("post_comment (SDK POST)", harness.sdk_post(server, "post_comment", {"id_task": task, "text": "x"}))]


def main() -> None:
    print(f"bench_scaleout · {harness.machine()}")
    if not harness.postgres_available():
        print("-- skipped: no PostgreSQL answers at LOCALSECTION_TEST_POSTGRES_URL")
        return
    print(harness.tool_line())
    with harness.database("postgres") as env:
        env = {**env, "LOCALSECTION_WEBHOOK_WORKER": "0"}
        first = harness.start_server(env)
        second = harness.start_server(env)
        try:
            seed = json.loads(harness.cli(env, "dev", "seed-bulk", "--account", first.account, "--tasks", "500",
                                          "--projects", "1"))
            task = str(seed["sample_task_ids"][0])
            for (name, one), (_, other) in zip(requests(first, task), requests(second, task), strict=True):
                single = harness.load(name, one)
                with ThreadPoolExecutor(2) as pool:
                    halves = list(pool.map(lambda r, n=name: harness.load(n, r, concurrency=8), (one, other)))
                both = sum(h.rps for h in halves)
                print(f"  {name:<26} 1 process {single.rps:8,.0f} req/s (p99 {single.p99_ms:6.1f} ms)   "
                      f"2 processes {both:8,.0f} req/s (p99 {max(h.p99_ms for h in halves):6.1f} ms)   "
                      f"x{both / single.rps:4.2f}   errors {single.errors + sum(h.errors for h in halves)}",
                      flush=True)
                harness.record("scaleout", scenario=name, one=single.rps, two=both, p99_one=single.p99_ms,
                               p99_two=max(h.p99_ms for h in halves),
                               errors=single.errors + sum(h.errors for h in halves))
        finally:
            first.stop()
            second.stop()


if __name__ == "__main__":
    main()
