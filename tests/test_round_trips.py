"""Network round trips per hot action on PostgreSQL, pinned: every statement is one trip to the server, and so
are BEGIN and COMMIT unless the action runs in autocommit (reads do, db.Database._transaction). A change that adds
a lookup to get_task or post_comment fails here, in CI, instead of showing up months later as a slower benchmark
(issue 17; docs/performance.md)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from tests.factories import make_project
from tests.helpers import Api

# action -> round trips (BEGIN and COMMIT included when they are sent). Lower is fine: update the figure.
PINNED = {
    "get_task": 3,  # account, task, users it names
    "get_tasks": 4,  # account, project, tasks, users
    "get_comments": 4,  # account, task, comments, users
    "search_tasks": 3,  # account, tasks, users
    # BEGIN, account, task, comment, event, webhooks of the account, the mail notification's task and its
    # recipients (subscribers, mentioned; notify/triggers.py), COMMIT
    "post_comment": 9,
    "add_costs": 7,  # BEGIN, account, task, author, project options, cost, COMMIT (costs record no event)
}


@contextmanager
def round_trips(api: Api) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = api.state.db.engine

    def autocommit(conn: Any) -> bool:
        return bool(conn.connection.dbapi_connection.autocommit)

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        seen.append(" ".join(sql.split())[:100])

    def begin(conn: Any) -> None:
        if not autocommit(conn):
            seen.append("BEGIN")

    def commit(conn: Any) -> None:
        if not autocommit(conn):
            seen.append("COMMIT")

    listeners = [("before_cursor_execute", statement), ("begin", begin), ("commit", commit)]
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        yield seen
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)


def test_hot_actions_pay_the_pinned_number_of_round_trips_on_postgresql(api: Api) -> None:
    if api.state.db.dialect != "postgresql":
        pytest.skip("round trips are a PostgreSQL cost (SQLite runs in process)")
    pid = make_project(api, "hot")
    tid = api.ok("post_task", id_project=pid, title="a task", text="words")["id"]
    api.ok("post_comment", id_task=tid, text="first")
    calls: dict[str, dict[str, Any]] = {
        "get_task": {"id_task": tid},
        "get_tasks": {"id_project": pid},
        "get_comments": {"id_task": tid},
        "search_tasks": {"filter": f"id={tid}"},
        "post_comment": {"id_task": tid, "text": "hello"},
        "add_costs": {"id_task": tid, "time": "1:30", "email_user_from": api.owner_email},
    }
    found = {}
    for action, params in calls.items():
        api.ok(action, **params)  # warm: first-use lookups (e.g. the users sequence) are not the steady state
        with round_trips(api) as seen:
            api.ok(action, **params)
        found[action] = len(seen)
        assert len(seen) <= PINNED[action], f"{action}: {len(seen)} round trips, pinned {PINNED[action]}:\n" + \
            "\n".join(seen)
    assert found == PINNED, f"fewer round trips than pinned — lower the figures: {found}"
