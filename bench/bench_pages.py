"""Benchmark of the web app's heavy pages (prints figures; not a test).

    .venv/bin/python bench/bench_pages.py [--tasks 10000] [--repeat 30] [--no-postgres]

Fills a temporary SQLite database (and a temporary PostgreSQL database when one answers at
LOCALSECTION_TEST_POSTGRES_URL) by bulk insert: one account with 20 projects, one of them holding --tasks tasks
(10% of them subtasks, 60% with a tag of the default status group). Then, through the in-process app, signed in
as the owner, for each page: p50 / p95 SERVER time (an ASGI wrapper times the app from the request to the last
body byte) and sequential requests a second. The baseline of the same run is the API's get_tasks for the same
project (the whole list at once, as the protocol has no paging), get_projects for the project list and
get_costs_total extra=projects (a year of COSTS cost rows) for the report page.

Pages: the project list (/projects, served by the projects part of the web app when it is present), the task
list of the big project (first page, a sorted page, a filtered page, the last page), its board, and the report
page when present (REPORT_PAGES: a hook for the reports part).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tasks import Caller, _insert, _task
from harness import on_both_databases

from localsection import accounts, bootstrap
from localsection.app import create_app
from localsection.config import Settings
from localsection.db import Database
from localsection.models import Cost, Project, Tag, Task, TaskTag
from localsection.state import AppState

PROJECTS = 20
ACCOUNT = "pages"
PASSWORD = "bench-pass-1"
COSTS = 20_000  # time/money rows of the big project (the report page sums a year of them)
REPORT_PAGES = ("/reports",)  # measured when the web app serves them (200); skipped otherwise


class ServerTimer:
    """ASGI wrapper: the time from the request to the last body byte of each response, in seconds."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.times: list[float] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self.times.append(time.perf_counter() - started)

        await self.app(scope, receive, timed_send)


def fill(state: AppState, tasks: int) -> tuple[str, int]:
    """The account, its projects and the big project's tasks; returns (API key, big project id)."""
    rnd = random.Random(11)
    with state.db.session() as s:
        created = accounts.create_account(s, ACCOUNT, f"owner@{ACCOUNT}.example.com", PASSWORD)
        account_id, owner_id, key = created.account.id, created.owner.id, created.account.api_key
        s.execute(insert(Project), [{"account_id": account_id, "name": f"Project {i}", "status": "active",
                                     "user_from_id": owner_id, "options": {}, "date_added": _task(rnd, 0, 0, 0, 0)[
                                         "date_added"]} for i in range(PROJECTS)])
        projects = list(s.scalars(select(Project.id).where(Project.account_id == account_id).order_by(Project.id)))
        statuses = list(s.scalars(select(Tag.id).where(Tag.account_id == account_id).order_by(Tag.id)))
    big = projects[0]
    tops = tasks - tasks // 10
    rows = [_task(rnd, account_id, owner_id, big, i) for i in range(tops)]
    rows += [_task(rnd, account_id, owner_id, projects[1 + i % (PROJECTS - 1)], tops + i) for i in range(200)]
    _insert(state, rows)
    with state.db.session() as s:
        parents = list(s.scalars(select(Task.id).where(Task.project_id == big)))
    _insert(state, [{**_task(rnd, account_id, owner_id, big, tops + 200 + i), "parent_id": pid, "top_id": pid,
                     "depth": 1} for i, pid in enumerate(rnd.choices(parents, k=tasks - tops))])
    with state.db.session() as s:
        ids = list(s.scalars(select(Task.id).where(Task.project_id == big)))
        s.execute(insert(TaskTag), [{"task_id": t, "tag_id": rnd.choice(statuses)} for t in ids if rnd.random() < .6])
        today = dt.date.today()
        costs = [{"account_id": account_id, "project_id": big, "task_id": t, "top_task_id": t, "user_id": owner_id,
                  "minutes": rnd.randrange(15, 240), "money_cents": rnd.randrange(0, 20_000), "comment": "",
                  "comment_folded": "", "date": today - dt.timedelta(days=rnd.randrange(365)), "is_timer": False,
                  "created_at": dt.datetime(today.year, today.month, today.day)}
                 for t in rnd.choices(ids, k=COSTS)]
        s.execute(insert(Cost), costs)  # the report page's year: COSTS rows over the big project's tasks
    with state.db.engine.connect() as conn:  # fresh planner statistics after the bulk load
        conn.execute(text("ANALYZE"))
        conn.commit()
    return key, big


def sign_in(client: TestClient) -> None:
    host = {"Host": f"{ACCOUNT}.localhost"}
    login = client.get("/login", headers=host)
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', login.text)
    assert token is not None
    resp = client.post("/login", data={"email": f"owner@{ACCOUNT}.example.com", "password": PASSWORD,
                                       "csrf": token.group(1)}, headers=host, follow_redirects=False)
    assert resp.status_code == 303, resp.text[:300]


def measure(timer: ServerTimer, call: Callable[[], Any], repeat: int) -> tuple[float, float, float]:
    """(server p50, server p95, sequential requests a second) of `repeat` calls after one warm-up call."""
    call()
    timer.times.clear()
    started = time.perf_counter()
    for _ in range(repeat):
        call()
    wall = time.perf_counter() - started
    times = sorted(timer.times)
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], repeat / wall


def run(label: str, settings: Settings, args: argparse.Namespace) -> None:
    state = AppState(settings, Database(settings))
    bootstrap.upgrade(state.db)
    started = time.perf_counter()
    key, big = fill(state, args.tasks)
    print(f"[{label}] inserted {args.tasks:,} tasks in one project in {time.perf_counter() - started:.1f} s")
    timer = ServerTimer(create_app(state=state))
    with TestClient(timer, base_url="http://testserver") as client:  # type: ignore[arg-type]
        sign_in(client)
        host = {"Host": f"{ACCOUNT}.localhost"}
        caller = Caller(client, ACCOUNT, key)

        def page(path: str) -> Callable[[], Any]:
            def call() -> None:
                resp = client.get(path, headers=host, follow_redirects=False)
                assert resp.status_code == 200, (path, resp.status_code)
            return call

        last = (args.tasks - args.tasks // 10 + 49) // 50
        # Each page is measured against the API call that returns the same data, in the same run ("=kind" marks
        # the baseline row of a kind).
        rows: list[tuple[str, Callable[[], Any], str]] = [
            ("API get_projects (baseline)", lambda: caller.ok("get_projects"), "=projects"),
            ("project list /projects", page("/projects"), "projects"),
            (f"API get_tasks ({args.tasks:,} tasks, baseline)", lambda: caller.ok("get_tasks", id_project=big),
             "=tasks"),
            ("task list, first page", page(f"/project/{big}/"), "tasks"),
            ("task list, by priority", page(f"/project/{big}/?sort=priority&dir=desc"), "tasks"),
            ("task list, by executive", page(f"/project/{big}/?sort=executive"), "tasks"),
            ("task list, filter language", page(f"/project/{big}/?status=all&q=name+has+%27report%27"), "tasks"),
            (f"task list, last page ({last})", page(f"/project/{big}/?status=all&page={last}"), "tasks"),
            ("board", page(f"/project/{big}/board"), "tasks"),
            (f"API get_costs_total extra=projects ({COSTS:,} rows, baseline)",
             lambda: caller.post("get_costs_total", extra="projects"), "=costs"),
        ]
        rows += [(f"report {path}", page(path), "costs") for path in REPORT_PAGES]
        baselines: dict[str, float] = {}
        for name, call, against in rows:
            try:
                p50, p95, rps = measure(timer, call, args.repeat)
            except AssertionError as exc:
                print(f"[{label}] {name:<48} not served on this branch ({exc})")
                continue
            if against.startswith("="):  # a baseline row: the pages after it marked `against` compare to it
                against = against[1:]
                baselines[against] = p50
            base = baselines.get(against, p50)
            print(f"[{label}] {name:<48} server p50 {p50 * 1000:7.1f} ms | p95 {p95 * 1000:7.1f} ms | "
                  f"{rps:6.1f} req/s | {p50 / base:5.2f} x its baseline")
    state.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000, help="tasks of the big project")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    on_both_databases(lambda label, settings: run(label, settings, args), "ls_bench_pages",
                      postgres=not args.no_postgres)


if __name__ == "__main__":
    main()
