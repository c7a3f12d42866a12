"""Benchmark of get_costs_total and get_costs over a large costs table (prints figures; not a test).

    .venv/bin/python bench/bench_costs.py [--rows 1000000] [--repeat 3]

Fills a temporary SQLite database (and a temporary PostgreSQL database when one answers at
LOCALSECTION_TEST_POSTGRES_URL) with cost rows by bulk insert, then prints, through the in-process app:
p50 of get_costs_total with extra=projects,tasks beside the p50 of the raw SQL aggregates it needs and
their ratio, and p50 of get_costs over a date range beside its raw SQL row fetch.
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
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import on_both_databases

from localsection import accounts, bootstrap
from localsection.app import create_app
from localsection.config import Settings
from localsection.db import Database
from localsection.models import Cost, Project, Task
from localsection.state import AppState

PG_URL = os.environ.get("LOCALSECTION_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
PROJECTS = 50
TASKS = 5000
DAYS = 365
FIRST_DAY = dt.date(2024, 1, 1)
BATCH = 50_000


def fill(state: AppState, rows: int) -> tuple[str, str, int]:
    """Create an account, projects, tasks (a fifth of them subtasks) and `rows` cost rows; returns (name, key, id)."""
    rnd = random.Random(42)
    with state.db.session() as s:
        created = accounts.create_account(s, "bench", "owner@bench.example.com", "bench-pass-1", is_default=True)
        account_id, owner_id, key = created.account.id, created.owner.id, created.account.api_key
        now = dt.datetime(2024, 1, 1)
        s.execute(insert(Project), [{"account_id": account_id, "name": f"Project {i}", "status": "active",
                                     "user_from_id": owner_id, "options": {}, "date_added": now}
                                    for i in range(PROJECTS)])
        project_ids = list(s.scalars(select(Project.id).where(Project.account_id == account_id).order_by(Project.id)))
        tops = [{"account_id": account_id, "project_id": project_ids[i % PROJECTS], "name": f"Task {i}",
                 "name_folded": f"task {i}", "user_from_id": owner_id, "date_added": now, "todo": [],
                 "mentions": [], "status": "active", "priority": 1, "depth": 0}
                for i in range(TASKS * 4 // 5)]
        s.execute(insert(Task), tops)
        top_rows = list(s.execute(select(Task.id, Task.project_id).where(Task.account_id == account_id)))
        subs = [{"account_id": account_id, "project_id": pid, "parent_id": tid, "top_id": tid, "depth": 1,
                 "name": f"Sub {tid}", "name_folded": f"sub {tid}", "user_from_id": owner_id, "date_added": now,
                 "todo": [], "mentions": [], "status": "active", "priority": 1}
                for tid, pid in rnd.sample(top_rows, TASKS - len(top_rows))]
        s.execute(insert(Task), subs)
        tasks = [(t.id, t.project_id, t.top_id or t.id) for t in s.execute(
            select(Task.id, Task.project_id, Task.top_id).where(Task.account_id == account_id))]
    bulk_costs(state, rows, [(account_id, owner_id, *t) for t in tasks], rnd)
    with state.db.engine.connect() as conn:  # fresh planner statistics after the bulk load
        conn.execute(text("ANALYZE"))
        conn.commit()
    return "bench", key, project_ids[0]


COST_COLUMNS = ("account_id", "user_id", "task_id", "project_id", "top_task_id", "minutes", "money_cents",
                "comment", "comment_folded", "date", "is_timer", "created_at")


def bulk_costs(state: AppState, rows: int, tasks: list[tuple[int, int, int, int, int]], rnd: random.Random) -> None:
    """Insert cost rows with the driver's fastest path: COPY on PostgreSQL, executemany on SQLite."""
    pg = state.db.engine.dialect.name == "postgresql"
    created = dt.datetime(2024, 1, 1) if pg else "2024-01-01 00:00:00.000000"
    days = [FIRST_DAY + dt.timedelta(days=d) for d in range(DAYS)]
    raw = state.db.engine.raw_connection()
    try:
        cur = raw.cursor()
        done = 0
        while done < rows:
            batch = [(*tasks[rnd.randrange(len(tasks))], rnd.randrange(1, 480), rnd.randrange(0, 100_000), "", "",
                      days[rnd.randrange(DAYS)] if pg else days[rnd.randrange(DAYS)].isoformat(),
                      False if pg else 0, created) for _ in range(min(BATCH, rows - done))]
            if pg:
                with cur.copy(f"COPY costs ({', '.join(COST_COLUMNS)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in batch:
                        copy.write_row(row)
            else:
                marks = ", ".join("?" for _ in COST_COLUMNS)
                cur.executemany(f"INSERT INTO costs ({', '.join(COST_COLUMNS)}) VALUES ({marks})", batch)
            done += len(batch)
        raw.commit()
    finally:
        raw.close()


def p50(func_: Callable[[], Any], repeat: int) -> float:
    func_()  # warm caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func_()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def raw_total(state: AppState, account_id: int) -> None:
    """The aggregates get_costs_total needs for extra=projects,tasks, as bare SQL."""
    pg = state.db.engine.dialect.name == "postgresql"
    month = func.to_char(Cost.date, "YYYY-MM") if pg else func.substr(Cost.date, 1, 7)
    with state.db.engine.connect() as conn:
        conn.execute(select(Cost.project_id, month, func.sum(Cost.minutes), func.sum(Cost.money_cents))
                     .where(Cost.account_id == account_id).group_by(Cost.project_id, month)).all()
        conn.execute(select(Cost.project_id, Cost.task_id, func.sum(Cost.minutes), func.sum(Cost.money_cents))
                     .where(Cost.account_id == account_id).group_by(Cost.project_id, Cost.task_id)).all()


def raw_range(state: AppState, account_id: int, start: dt.date, end: dt.date) -> None:
    with state.db.engine.connect() as conn:
        conn.execute(select(Cost.__table__).where(Cost.account_id == account_id, Cost.date >= start,
                                                  Cost.date <= end).order_by(Cost.date, Cost.id)).all()


def run(label: str, settings: Settings, rows: int, repeat: int) -> None:
    state = AppState(settings, Database(settings))
    bootstrap.upgrade(state.db)
    started = time.perf_counter()
    name, key, _ = fill(state, rows)
    print(f"[{label}] inserted {rows:,} cost rows in {time.perf_counter() - started:.1f} s")
    with state.db.session(write=False) as s:
        account_id = s.scalars(text("SELECT id FROM accounts WHERE name = 'bench'")).one()

    with TestClient(create_app(state=state), base_url="http://testserver") as client:
        def call(action: str, **params: Any) -> dict[str, Any]:
            t = int(time.time())
            sig = hmac.new(key.encode(), f"{action}:{t}".encode(), hashlib.sha256).hexdigest()
            resp = client.post(f"/api/admin/v2?action={action}", json=params or None,
                               headers={"Host": f"{name}.localhost", "Authorization": f"Admin {t}_{sig}"})
            body: dict[str, Any] = resp.json()
            assert body["status"] == "ok", body
            return body

        api_total = p50(lambda: call("get_costs_total", extra="projects,tasks"), repeat)
        sql_total = p50(lambda: raw_total(state, account_id), repeat)
        body = call("get_costs_total", extra="projects,tasks")
        print(f"[{label}] get_costs_total extra=projects,tasks: p50 {api_total * 1000:8.1f} ms | raw SQL aggregates "
              f"{sql_total * 1000:8.1f} ms | ratio {api_total / sql_total:5.2f} | total {body['total']}")

        start, end = FIRST_DAY + dt.timedelta(days=100), FIRST_DAY + dt.timedelta(days=102)
        api_range = p50(lambda: call("get_costs", datestart=start.isoformat(), dateend=end.isoformat()), repeat)
        sql_range = p50(lambda: raw_range(state, account_id, start, end), repeat)
        count = len(call("get_costs", datestart=start.isoformat(), dateend=end.isoformat())["data"])
        print(f"[{label}] get_costs over 3 days ({count:,} rows): p50 {api_range * 1000:8.1f} ms | raw SQL rows "
              f"{sql_range * 1000:8.1f} ms | ratio {api_range / sql_range:5.2f}")
    state.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    on_both_databases(lambda label, settings: run(label, settings, args.rows, args.repeat), "ls_bench",
                      postgres=not args.no_postgres)


if __name__ == "__main__":
    main()
