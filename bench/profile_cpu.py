"""Where the CPU of one request goes under load: the server process, PostgreSQL's backends, the rest of the box.

    .venv/bin/python bench/profile_cpu.py [--duration 6]

For get_task and post_comment on PostgreSQL (and get_task on SQLite), one `localsection serve` process is loaded
by wrk at 16 connections while the CPU time (user + system, /proc/<pid>/stat) of the server and of every
`postgres` process is read before and after. Divided by the requests answered, that gives microseconds of CPU per
request for each side: on 2 cores a request cannot be cheaper than their sum, whatever the concurrency. Not part
of `make bench` (it names no target); docs/performance.md quotes it for the targets that are missed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from harness import Request


def measure(kind: str, duration: float) -> None:
    with harness.database(kind) as env:
        env = {**env, "LOCALSECTION_WEBHOOK_WORKER": "0"}
        database = env.get("LOCALSECTION_DATABASE_URL", "").rsplit("/", 1)[-1] if kind == "postgres" else ""
        server = harness.start_server(env)
        try:
            seed = json.loads(harness.cli(env, "dev", "seed-bulk", "--account", server.account, "--tasks", "500",
                                          "--projects", "1"))
            task = str(seed["sample_task_ids"][0])
            cases = [("get_task (md5 GET)", Request(harness.md5_url(server, {"action": "get_task", "id_task": task})))]
            if kind == "postgres":
                cases.append(("post_comment (SDK POST)", harness.sdk_post(server, "post_comment",
                                                                          {"id_task": task, "text": "x"})))
            for name, req in cases:
                harness.load(name, req, duration=1)  # warm: prepared statements, pools
                pg = harness.postgres_pids(database)
                server_before = harness.cpu_seconds(server.proc.pid)
                pg_before, box_before = sum(map(harness.cpu_seconds, pg)), harness.box_seconds()
                started = time.perf_counter()
                result = harness.load(name, req, duration=duration)
                wall = time.perf_counter() - started
                pg_now = set(pg) | set(harness.postgres_pids(database))
                server_cpu = harness.cpu_seconds(server.proc.pid) - server_before
                pg_cpu = sum(map(harness.cpu_seconds, pg_now)) - pg_before
                box_cpu = harness.box_seconds() - box_before
                n = max(1, result.requests)
                print(f"  {kind:<8} {name:<26} {result.rps:7,.0f} req/s | CPU per request: server "
                      f"{server_cpu / n * 1e6:6.0f} us, postgres {pg_cpu / n * 1e6:6.0f} us, everything else "
                      f"{(box_cpu - server_cpu - pg_cpu) / n * 1e6:6.0f} us | machine busy "
                      f"{box_cpu / wall / (os.cpu_count() or 1):.0%} (warm-up included)", flush=True)
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--duration", type=float, default=6)
    args = parser.parse_args()
    print(f"profile_cpu · {harness.machine()}")
    print(harness.tool_line())
    for kind in ["sqlite"] + (["postgres"] if harness.postgres_available() else []):
        measure(kind, args.duration)


if __name__ == "__main__":
    main()
