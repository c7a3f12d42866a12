"""A small Worksection integration, written against the official SDK (`pip install worksection-api-client`).

Two jobs a team might run from cron:

* `sync_bugs` mirrors a bug tracker's open/closed bugs into tasks of one project: a task per bug, titled
  "[BUG-<id>] <title>", created when missing, its priority kept in step, completed when the bug is closed. It is
  idempotent (a second run changes nothing) and retries what the API says is temporary (HTTP 429 and 5xx).
* `daily_time_report` sums the time logged on a given day, per person: the "who logged what yesterday" e-mail.

Nothing here knows about localsection: point `Client` at https://<you>.worksection.com or at a localsection URL.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from worksection.client import Client
from worksection.exceptions.response_exception import ResponseException

T = TypeVar("T")
TEMPORARY = frozenset({429, 500, 502, 503, 504})
_MARK = re.compile(r"^\[BUG-(\d+)\]\s")


@dataclass(frozen=True)
class Bug:
    id: int
    title: str
    priority: int = 5  # 0..10, as Worksection takes it
    closed: bool = False


@dataclass(frozen=True)
class Retry:
    attempts: int = 4
    first_wait: float = 0.2  # seconds; doubles after each temporary failure
    sleep: Callable[[float], None] = time.sleep

    def run(self, call: Callable[[], T]) -> T:
        wait = self.first_wait
        for attempt in range(1, self.attempts + 1):
            try:
                return call()
            except ResponseException as exc:
                if exc.status_code not in TEMPORARY or attempt == self.attempts:
                    raise
            self.sleep(wait)
            wait *= 2
        raise AssertionError("unreachable")


@dataclass
class SyncResult:
    created: list[int]
    updated: list[int]
    completed: list[int]
    task_ids: dict[int, int]  # bug id -> task id


def sync_bugs(ws: Client, project_id: int, bugs: Iterable[Bug], retry: Retry = Retry()) -> SyncResult:
    """Bring the project's tasks in line with `bugs`; returns what changed."""
    existing: dict[int, Any] = {}
    for task in retry.run(lambda: ws.tasks.list(project_id)):
        found = _MARK.match(task.name)
        if found:
            existing[int(found.group(1))] = task
    result = SyncResult([], [], [], {})
    for bug in bugs:
        title = f"[BUG-{bug.id}] {bug.title}"
        task = existing.get(bug.id)
        if task is None:
            if bug.closed:
                continue  # closed before we ever saw it: nothing to track
            task = retry.run(partial(ws.tasks.create, project_id, title, {"priority": bug.priority}))
            result.created.append(bug.id)
        elif (task.name, int(task.priority or 0)) != (title, bug.priority):
            retry.run(partial(ws.tasks.update, int(task.id), {"title": title, "priority": bug.priority}))
            result.updated.append(bug.id)
        if bug.closed and task.status != "done":
            retry.run(partial(ws.tasks.complete, int(task.id)))
            result.completed.append(bug.id)
        result.task_ids[bug.id] = int(task.id)
    return result


def _minutes(value: str) -> int:
    hours, _, mins = (value or "0:00").partition(":")
    return int(hours or 0) * 60 + int(mins or 0)


def daily_time_report(ws: Client, day: dt.date, retry: Retry = Retry()) -> dict[str, int]:
    """Minutes logged on `day`, per author's e-mail, largest first."""
    when = day.strftime("%d.%m.%Y")  # the API's date format
    costs = retry.run(lambda: ws.costs.list({"datestart": when, "dateend": when}))
    totals: dict[str, int] = {}
    for cost in costs:
        who = cost.user_from.email if cost.user_from else "?"
        totals[who] = totals.get(who, 0) + _minutes(cost.time)
    return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))


def yesterdays_report(ws: Client, today: dt.date | None = None) -> dict[str, int]:
    """The report a nightly job sends: yesterday's time, per person."""
    return daily_time_report(ws, (today or dt.date.today()) - dt.timedelta(days=1))
