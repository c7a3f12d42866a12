"""Benchmark of get_all_tasks and search_tasks over many tasks (prints figures; not a test).

    .venv/bin/python bench/bench_tasks.py [--tasks 100000] [--search-tasks 1000000] [--repeat 3]

Fills a temporary SQLite database (and a temporary PostgreSQL database when one answers at
LOCALSECTION_TEST_POSTGRES_URL) by bulk insert, then, through the in-process ASGI app:
* get_all_tasks over --tasks top-level tasks (record cap off): p50 time beside the time of the raw SQL
  for the same rows encoded to JSON with orjson, and the ratio;
* search_tasks p50/p95 over --search-tasks tasks for `project =`, `id in`, a date range and `name has`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import insert, select, text
from starlette.testclient import TestClient

from localsection import accounts, bootstrap
from localsection.app import create_app
from localsection.config import Settings
from localsection.db import Database
from localsection.models import Project, Task
from localsection.state import AppState

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness

PG_URL = os.environ.get("LOCALSECTION_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PROJECTS = 20
BATCH = 20_000
WORDS = ("alpha", "beta", "gamma", "delta", "report", "review", "design", "release")
FIRST_DAY = dt.datetime(2024, 1, 1, 9, 0)


def fill(state: AppState, name: str, tasks: int, subtask_share: float) -> tuple[str, int, list[int]]:
    """An account with PROJECTS projects and `tasks` tasks (a share of them subtasks); returns (key, id, projects)."""
    rnd = random.Random(42)
    with state.db.session() as s:
        created = accounts.create_account(s, name, f"owner@{name}.example.com", "bench-pass-1")
        account_id, owner_id, key = created.account.id, created.owner.id, created.account.api_key
        s.execute(insert(Project), [{"account_id": account_id, "name": f"Project {i}", "status": "active",
                                     "user_from_id": owner_id, "options": {}, "date_added": FIRST_DAY}
                                    for i in range(PROJECTS)])
        projects = list(s.scalars(select(Project.id).where(Project.account_id == account_id).order_by(Project.id)))
    tops = tasks - int(tasks * subtask_share)
    _insert(state, [_task(rnd, account_id, owner_id, projects[i % PROJECTS], i) for i in range(tops)])
    if tasks > tops:
        with state.db.session(write=False) as s:
            parents = list(s.execute(select(Task.id, Task.project_id).where(Task.account_id == account_id)))
        _insert(state, [{**_task(rnd, account_id, owner_id, pid, tops + i), "parent_id": tid, "top_id": tid,
                         "depth": 1} for i, (tid, pid) in enumerate(rnd.choices(parents, k=tasks - tops))])
    with state.db.engine.connect() as conn:  # fresh planner statistics after the bulk load
        conn.execute(text("ANALYZE"))
        conn.commit()
    return key, account_id, projects


def _task(rnd: random.Random, account_id: int, owner_id: int, project_id: int, i: int) -> dict[str, Any]:
    name = f"Task {i} {WORDS[i % len(WORDS)]} {rnd.choice(WORDS)}"
    added = FIRST_DAY + dt.timedelta(minutes=rnd.randrange(365 * 24 * 60))
    start = added.date() + dt.timedelta(days=rnd.randrange(30)) if i % 2 else None
    return {"account_id": account_id, "project_id": project_id, "parent_id": None, "top_id": None, "depth": 0,
            "name": name, "name_folded": name.casefold(), "text": "", "todo": [], "mentions": [],
            "status": "done" if i % 5 == 0 else "active", "priority": rnd.randrange(11), "user_from_id": owner_id,
            "user_to_id": owner_id if i % 3 else None, "user_to_any": False, "hidden": False,
            "date_added": added, "date_start": start,
            "date_end": start + dt.timedelta(days=7) if start else None,
            "date_closed": added + dt.timedelta(days=3) if i % 5 == 0 else None,
            "max_time": Decimal(rnd.randrange(100)) if i % 4 == 0 else None}


TASK_COLUMNS = ("account_id", "project_id", "parent_id", "top_id", "depth", "name", "name_folded", "text", "todo",
                "mentions", "status", "priority", "user_from_id", "user_to_id", "user_to_any", "hidden",
                "date_added", "date_start", "date_end", "date_closed", "max_time")


def _insert(state: AppState, rows: list[dict[str, Any]]) -> None:
    """Bulk insert with the driver's fastest path: COPY on PostgreSQL, executemany on SQLite."""
    pg = state.db.engine.dialect.name == "postgresql"
    raw = state.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        if not pg:
            # The engine's SQLite connections are in autocommit mode (we emit BEGIN ourselves): one
            # transaction for the whole load instead of one per row.
            cur.execute("BEGIN")
        for start in range(0, len(rows), BATCH):
            batch = [tuple(_db_value(row.get(c), pg) for c in TASK_COLUMNS) for row in rows[start:start + BATCH]]
            if pg:
                with cur.copy(f"COPY tasks ({', '.join(TASK_COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for values in batch:
                        copy.write_row(values)
            else:
                marks = ", ".join("?" for _ in TASK_COLUMNS)
                cur.executemany(f"INSERT INTO tasks ({', '.join(TASK_COLUMNS)}) VALUES ({marks})", batch)
        raw.commit()
    finally:
        raw.close()


def _db_value(value: Any, pg: bool) -> Any:
    """Python values as each driver stores them (SQLite keeps SQLAlchemy's text formats)."""
    if isinstance(value, list):
        return orjson.dumps(value).decode()
    if pg or value is None:
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def timed(func: Callable[[], Any], repeat: int) -> list[float]:
    func()  # warm caches
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        out.append(time.perf_counter() - start)
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def raw_all_tasks(state: AppState, account_id: int) -> bytes:
    """The same top-level task rows as get_all_tasks returns, by bare SQL through the driver, as orjson JSON."""
    raw = state.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SELECT t.* FROM tasks t JOIN projects p ON p.id = t.project_id WHERE t.account_id = "
                    f"{int(account_id)} AND t.parent_id IS NULL AND p.status != 'archive' ORDER BY t.id")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        raw.close()
    return orjson.dumps(rows, default=str)


class Caller:
    """Admin-key calls (the SDK's HMAC header) through the in-process app."""

    def __init__(self, client: TestClient, account: str, key: str) -> None:
        self.client, self.account, self.key = client, account, key

    def post(self, action: str, **params: Any) -> bytes:
        t = int(time.time())
        sig = hmac.new(self.key.encode(), f"{action}:{t}".encode(), hashlib.sha256).hexdigest()
        resp = self.client.post(f"/api/admin/v2?action={action}", json=params or None,
                                headers={"Host": f"{self.account}.localhost", "Authorization": f"Admin {t}_{sig}"})
        return resp.content

    def ok(self, action: str, **params: Any) -> list[dict[str, Any]]:
        body = orjson.loads(self.post(action, **params))
        assert body["status"] == "ok", body
        data: list[dict[str, Any]] = body["data"]
        return data


def bench_all_tasks(label: str, state: AppState, client: TestClient, tasks: int, repeat: int) -> None:
    started = time.perf_counter()
    key, account_id, _ = fill(state, "alltasks", tasks, subtask_share=0.0)
    print(f"[{label}] inserted {tasks:,} tasks in {time.perf_counter() - started:.1f} s")
    caller = Caller(client, "alltasks", key)
    assert len(caller.ok("get_all_tasks")) == tasks
    api = statistics.median(timed(lambda: caller.post("get_all_tasks"), repeat))
    sql = statistics.median(timed(lambda: raw_all_tasks(state, account_id), repeat))
    print(f"[{label}] get_all_tasks ({tasks:,} tasks): p50 {api * 1000:9.1f} ms | raw SQL + orjson "
          f"{sql * 1000:9.1f} ms | ratio {api / sql:5.2f}")
    harness.record("tasks", db=label, measure="get_all_tasks", tasks=tasks, api_ms=api * 1000, raw_ms=sql * 1000,
                   ratio=api / sql)
    api_sub = statistics.median(timed(lambda: caller.post("get_all_tasks", extra="text,subtasks"), repeat))
    print(f"[{label}] get_all_tasks extra=text,subtasks:   p50 {api_sub * 1000:9.1f} ms")


def bench_search(label: str, state: AppState, client: TestClient, tasks: int, repeat: int) -> None:
    started = time.perf_counter()
    key, account_id, projects = fill(state, "search", tasks, subtask_share=0.1)
    print(f"[{label}] inserted {tasks:,} tasks for search in {time.perf_counter() - started:.1f} s")
    caller = Caller(client, "search", key)
    rnd = random.Random(7)
    with state.db.session(write=False) as s:
        # This account's tasks only: the database also holds get_all_tasks's account.
        ids = list(s.scalars(select(Task.id).where(Task.account_id == account_id, Task.name_folded.like("task 1%"))
                             .limit(2000)))
    filters = {
        "project =": lambda: f"project = {rnd.choice(projects)}",
        "id in (10 ids)": lambda: "id in (" + ", ".join(str(i) for i in rnd.sample(ids, 10)) + ")",
        "date range (7 days)": lambda: _week(rnd),
        "name has": lambda: f"name has '{rnd.choice(WORDS)} {rnd.choice(WORDS)}'",
    }
    for name, make in filters.items():
        sizes: list[int] = []

        answers: list[bytes] = []

        def run(make: Callable[[], str] = make, answers: list[bytes] = answers) -> None:
            answers.append(caller.post("search_tasks", filter=make()))

        times = timed(run, repeat)  # the server's answer only: the client parses it below, untimed
        for body in answers:
            parsed = orjson.loads(body)
            assert parsed["status"] == "ok", parsed
            sizes.append(len(parsed["data"]))
        print(f"[{label}] search_tasks {name:<20} p50 {statistics.median(times) * 1000:8.1f} ms | p95 "
              f"{p95(times) * 1000:8.1f} ms | median result {int(statistics.median(sizes)):,} tasks")
        harness.record("tasks", db=label, measure="search", filter=name, tasks=tasks,
                       p50_ms=statistics.median(times) * 1000, p95_ms=p95(times) * 1000,
                       result=int(statistics.median(sizes)))


def _week(rnd: random.Random) -> str:
    start = FIRST_DAY.date() + dt.timedelta(days=rnd.randrange(350))
    end = start + dt.timedelta(days=7)
    return f"dateadd >= '{start:%d.%m.%Y}' and dateadd < '{end:%d.%m.%Y}'"


def run(label: str, settings: Settings, args: argparse.Namespace) -> None:
    state = AppState(settings, Database(settings))
    bootstrap.upgrade(state.db)
    with TestClient(create_app(state=state), base_url="http://testserver") as client:
        bench_all_tasks(label, state, client, args.tasks, args.repeat)
        bench_search(label, state, client, args.search_tasks, args.search_repeat)
    state.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks returned by get_all_tasks")
    parser.add_argument("--search-tasks", type=int, default=1_000_000, help="tasks searched by search_tasks")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--search-repeat", type=int, default=10)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    harness.on_both_databases(lambda label, settings: run(label, settings, args), "ls_bench",
                              postgres=not args.no_postgres)


if __name__ == "__main__":
    main()
