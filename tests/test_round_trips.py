"""Network round trips per hot action on PostgreSQL, pinned: every statement is one trip to the server, and so
are BEGIN and COMMIT unless the action runs in autocommit (reads do, db.Database._transaction). A change that adds
a lookup to get_task or post_comment fails here, in CI, instead of showing up months later as a slower benchmark
(issue 17; docs/performance.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import delete, select

from localsection import events
from localsection.db import Database
from localsection.models import OutboxItem, Webhook
from tests.factories import make_project
from tests.helpers import Api, counted_statements

# action -> round trips (BEGIN and COMMIT included when they are sent). Lower is fine: update the figure.
PINNED = {
    "get_task": 2,  # account; task + author, executive, project, parent, tags (one joined statement)
    "get_tasks": 4,  # account, project, tasks, users
    "get_comments": 4,  # account, task, comments, users
    "search_tasks": 3,  # account, tasks, users
    # account, task, then the comment and its event in one statement with no BEGIN and COMMIT, written only while
    # the account has no webhook and the task no subscriber (events.insert_alone); when someone listens: BEGIN,
    # comment, event (+ the webhooks and the mail recipients), COMMIT
    "post_comment": 3,
    "add_costs": 6,  # BEGIN, account (+ owner = author), task, project options, cost, COMMIT (no event)
}


def test_hot_actions_pay_the_pinned_number_of_round_trips_on_postgresql(api: Api) -> None:
    if api.state.db.dialect != "postgresql":
        pytest.skip("round trips are a PostgreSQL cost (SQLite runs in process)")
    events._LISTENED.clear()  # the hint of an earlier test's account (ids repeat) would send post_comment the long way
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
        with counted_statements(api, transactions=True) as seen:
            api.ok(action, **params)
        found[action] = len(seen)
        assert len(seen) <= PINNED[action], f"{action}: {len(seen)} round trips, pinned {PINNED[action]}:\n" + \
            "\n".join(" ".join(sql.split())[:100] for sql in seen)
    assert found == PINNED, f"fewer round trips than pinned — lower the figures: {found}"


def test_a_webhook_added_or_removed_by_another_process_counts_at_the_next_write(api: Api) -> None:
    """The event INSERT says whether the account has webhooks (one round trip less when it has none). That answer
    is read in the write's own transaction: a webhook another process adds counts from the next write on, and
    one it deletes gets nothing more."""
    pid = make_project(api, "hooks")
    tid = api.ok("post_task", id_project=pid, title="a task")["id"]
    api.ok("post_comment", id_task=tid, text="before")  # no webhook: nothing queued

    other = Database(api.state.settings)  # its own engine and connections, as another server process has
    try:
        with other.session() as s:
            hook = Webhook(account_id=api.account_id, url="http://127.0.0.1:9/hook", events="post_comment",
                           projects="", created_at=dt.datetime(2026, 1, 1))
            s.add(hook)
            s.flush()
            hook_id = hook.id

        def queued() -> int:
            with other.session(write=False) as s:
                return len(list(s.scalars(select(OutboxItem.id).where(OutboxItem.webhook_id == hook_id))))

        assert queued() == 0
        api.ok("post_comment", id_task=tid, text="after")
        assert queued() == 1
        with other.session() as s:
            s.execute(delete(OutboxItem).where(OutboxItem.webhook_id == hook_id))
            s.execute(delete(Webhook).where(Webhook.id == hook_id))
        api.ok("post_comment", id_task=tid, text="gone")
        assert queued() == 0
    finally:
        other.dispose()


def test_a_comment_no_one_listens_to_is_recorded_like_one_someone_listens_to(api: Api) -> None:
    """post_comment's single statement (events.insert_alone) and the usual way leave the same comment and event."""
    if api.state.db.dialect != "postgresql":
        pytest.skip("the single statement is PostgreSQL's (SQLite has no INSERT inside WITH)")
    events._LISTENED.clear()
    pid = make_project(api, "alone")
    tid = api.ok("post_task", id_project=pid, title="a task")["id"]
    with counted_statements(api) as seen:
        quiet = api.ok("post_comment", id_task=tid, text="quiet")
    assert len(seen) == 3, seen  # account, task, comment + event
    api.ok("subscribe", id_task=tid, email_user=api.owner_email)
    with counted_statements(api) as seen:
        heard = api.ok("post_comment", id_task=tid, text="heard")
    assert len(seen) > 3, seen  # the single statement wrote nothing; then the usual way
    with counted_statements(api) as seen:
        api.ok("post_comment", id_task=tid, text="heard again")
    assert len(seen) == 5, seen  # the hint: straight the usual way (account, task, comment, event, recipients)

    def shown(event: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in event.items() if k not in ("date_added", "new")}

    logged = {e["object"]["id"]: e for e in api.ok("get_events", period="1h") if e["object"]["type"] == "comment"}
    assert shown(logged[quiet["id"]]) == {**shown(logged[heard["id"]]),
                                          "object": {**logged[heard["id"]]["object"], "id": quiet["id"]}}
    assert logged[quiet["id"]]["new"]["text"] == "quiet" and logged[heard["id"]]["new"]["text"] == "heard"
    assert sorted(c["text"] for c in api.ok("get_comments", id_task=tid)) == ["heard", "heard again", "quiet"]
