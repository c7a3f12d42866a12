"""Server-side cost of one request, without sockets: each scenario's ASGI call in-process, one at a time.

The same six scenarios as bench_http.py, against a fresh SQLite store seeded like it (one project of 500
tasks), called straight through the ASGI app on one event loop. Baselines measured in the same run: the bare
SQL work of an answer done with the sqlite3 driver and orjson alone - for a single object, the account +
owner row, an md5 check and the task row; for a list, the project's 500 task rows. Prints microseconds per
request, the ratio to its baseline and the Python function calls per request (cProfile; deterministic, so it
shows a change even on a busy machine). No network and no load generator: the figure to watch while changing
the hot path (docs/performance.md).

Run: .venv/bin/python bench/bench_inprocess.py [--requests 2000] [--access-log /dev/null] [--metrics]
(`--access-log` writes the access lines, formatted as `serve` does, to that file; `--metrics` keeps the
Prometheus counters: the cost of the observability outputs, docs/operations.md.)
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import hashlib
import hmac
import json
import logging
import os
import pstats
import sqlite3
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
import orjson

from localsection import bootstrap, dev
from localsection.app import create_app
from localsection.config import Settings
from localsection.observe.accesslog import ACCESS_LOGGER, TextFormatter
from localsection.state import AppState

Message = dict[str, Any]


class Call:
    """One request as an ASGI scope and body, replayed against an app."""

    def __init__(self, method: str, query: str, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        raw = [(b"host", b"127.0.0.1:8000")] + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
        if body:
            raw.append((b"content-length", str(len(body)).encode()))
        self.scope = {"type": "http", "http_version": "1.1", "method": method, "scheme": "http",
                      "path": harness.ADMIN_PATH, "raw_path": harness.ADMIN_PATH.encode(),
                      "query_string": query.encode(), "root_path": "", "headers": raw,
                      "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}
        self.body = body

    async def run(self, app: Any) -> bytes:
        out: list[bytes] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": self.body, "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.body":
                out.append(message.get("body", b""))

        await app(dict(self.scope), receive, send)
        return b"".join(out)


def md5_get(key: str, params: dict[str, str]) -> Call:
    query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
    return Call("GET", f"{query}&hash={hashlib.md5((query + key).encode()).hexdigest()}")


def sdk_post(key: str, action: str, params: dict[str, Any]) -> Call:
    t = int(time.time())
    sig = hmac.new(key.encode(), f"{action}:{t}".encode(), hashlib.sha256).hexdigest()
    return Call("POST", f"action={action}", json.dumps(params).encode(),
                {"Content-Type": "application/json", "Authorization": f"Admin {t}_{sig}"})


async def measure(app: Any, call: Call, n: int) -> tuple[float, float]:
    """(microseconds per request, Python calls per request)."""
    for _ in range(min(200, n)):
        await call.run(app)
    started = time.perf_counter()
    for _ in range(n):
        await call.run(app)
    per_request = (time.perf_counter() - started) / n * 1e6
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(200):
        await call.run(app)
    profile.disable()
    return per_request, pstats.Stats(profile).total_calls / 200  # type: ignore[attr-defined]


def floors(database: str, key: str, task: str, project: str) -> dict[str, Any]:
    """The bare SQL + JSON work of a single-object answer and of a 500-task list."""
    conn = sqlite3.connect(database, isolation_level=None)
    query = f"action=get_task&id_task={task}"
    signed = hashlib.md5((query + key).encode()).hexdigest()

    def one() -> bytes:
        conn.execute("BEGIN")
        cur = conn.execute("SELECT a.api_key, a.*, u.* FROM accounts a LEFT JOIN users u ON u.id = a.owner_id "
                           "ORDER BY a.is_default DESC, a.id LIMIT 1")
        account = cur.fetchone()
        if not hmac.compare_digest(hashlib.md5((query + account[0]).encode()).hexdigest(), signed):
            raise RuntimeError("floor: signature check failed")
        cur = conn.execute("SELECT * FROM tasks WHERE id = ?", (int(task),))
        names = [d[0] for d in cur.description]
        row = dict(zip(names, cur.fetchone(), strict=True))
        conn.execute("COMMIT")
        return orjson.dumps({"status": "ok", "data": row}, default=str)

    def many() -> bytes:
        cur = conn.execute("SELECT * FROM tasks WHERE project_id = ? AND parent_id IS NULL ORDER BY id",
                           (int(project),))
        names = [d[0] for d in cur.description]
        return orjson.dumps({"status": "ok", "data": [dict(zip(names, r, strict=True)) for r in cur.fetchall()]},
                            default=str)

    return {"one": one, "many": many}


def time_floor(fn: Any, n: int) -> float:
    for _ in range(min(200, n)):
        fn()
    started = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - started) / n * 1e6


async def run(args: argparse.Namespace) -> None:
    data_dir = tempfile.mkdtemp(prefix="ls-inprocess-")
    settings = Settings(data_dir=Path(data_dir), durability="normal").with_(
        run_webhook_worker=False, access_log=bool(args.access_log), metrics="on" if args.metrics else "off")
    if args.access_log:
        handler = logging.FileHandler(args.access_log)
        handler.setFormatter(TextFormatter())
        logging.getLogger(ACCESS_LOGGER).addHandler(handler)
        logging.getLogger(ACCESS_LOGGER).setLevel(logging.INFO)
        logging.getLogger(ACCESS_LOGGER).propagate = False
    state = AppState(settings)
    bootstrap.upgrade(state.db)
    creds = bootstrap.init_default(state.db, "http://127.0.0.1:8000")
    seeded = dev.seed_bulk(state.db, creds.account, 500, 500, projects=1)
    key, project, task = creds.api_key, str(seeded.projects[0]), str(seeded.sample_task_ids[0])
    app = create_app(state=state)
    scenarios = [
        ("auth only (get_task_custom_fields)", md5_get(key, {"action": "get_task_custom_fields"})),
        ("get_task (md5 GET)", md5_get(key, {"action": "get_task", "id_task": task})),
        ("get_tasks (500 tasks)", md5_get(key, {"action": "get_tasks", "id_project": project})),
        # Runs in a worker thread (threaded=True): its calls/request count only the event loop's side.
        ("search_tasks (filter)", md5_get(key, {"action": "search_tasks", "id_project": project,
                                                "filter": "name has 'alpha'"})),
        ("post_comment (SDK POST)", sdk_post(key, "post_comment", {"id_task": task, "text": "A benchmark comment"})),
        ("add_costs (SDK POST)", sdk_post(key, "add_costs", {"id_task": task, "time": "0:10", "comment": "bench",
                                                             "email_user_from": creds.owner_email})),
    ]
    floor = floors(settings.effective_database_url.split(":///", 1)[1], key, task, project)
    base = {"one": time_floor(floor["one"], args.requests), "many": time_floor(floor["many"], 50)}
    print(f"  {'baseline: one object, bare SQL + JSON':<36} {base['one']:9.1f} us/request")
    print(f"  {'baseline: 500 rows, bare SQL + JSON':<36} {base['many']:9.1f} us/request")
    async with app.router.lifespan_context(app):
        for name, call in scenarios:
            answer = await call.run(app)
            if not answer.startswith(b'{"status":"ok"'):
                print(f"  {name:<36} failed: {answer[:200]!r}")
                continue
            listing = "500" in name or "search" in name
            us, calls = await measure(app, call, max(20, args.requests // 50) if listing else args.requests)
            ratio = us / base["many" if listing else "one"]
            print(f"  {name:<36} {us:9.1f} us/request  {calls:7.0f} calls/request  x{ratio:5.1f} baseline",
                  flush=True)
            harness.record("inprocess", scenario=name, us=us, calls=calls, ratio=ratio,
                           baseline=base["many" if listing else "one"])
    state.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per scenario (lists: a 50th)")
    parser.add_argument("--access-log", default="", help="write the access log to this file (e.g. /dev/null)")
    parser.add_argument("--metrics", action="store_true", help="count every request in the Prometheus metrics")
    args = parser.parse_args()
    outputs = ", ".join(o for o in (f"access log to {args.access_log}" if args.access_log else "",
                                    "metrics" if args.metrics else "") if o) or "no access log, no metrics"
    print(f"bench_inprocess · {harness.machine()} · SQLite, durability normal, one request at a time · {outputs}")
    os.environ.setdefault("LOCALSECTION_LOG_LEVEL", "warning")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
