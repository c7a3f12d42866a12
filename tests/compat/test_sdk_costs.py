"""Costs and timers through the official Python SDK (worksection-api-client 2.1.2) against a real server."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from localsection import tokens
from localsection.config import Settings
from localsection.db import Database
from localsection.models import Account, User
from tests.compat.conftest import Server


def user_client(server: Server) -> Any:
    """An SDK client with an owner access token, minted with the server's own signing key."""
    from worksection.client import Client

    settings = Settings(data_dir=server.data_dir)
    db = Database(settings)
    try:
        with db.session(write=False) as s:
            account = s.scalars(select(Account).where(Account.is_default.is_(True))).one()
            owner = s.scalars(select(User).where(User.account_id == account.id,
                                                 User.email == server.owner_email.lower())).one()
            token, _ = tokens.issue_access_token(settings, user_id=owner.id, account_id=account.id,
                                                 client_id="0" * 32, scopes=list(tokens.ALL_SCOPES))
    finally:
        db.dispose()
    return Client(server.url).set_access_token(token)


def new_task(sdk: Any, title: str) -> tuple[int, int]:
    project = sdk.projects.create(f"{title} project")
    task = sdk.tasks.create(int(project.id), title)
    return int(project.id), int(task.id)


def test_sdk_creates_lists_totals_updates_and_deletes_costs(sdk, server: Server) -> None:  # type: ignore[no-untyped-def]
    project_id, task_id = new_task(sdk, "SDK costs")
    cost_id = sdk.costs.create(task_id, {"time": "1:30", "money": "12,50", "comment": "From the SDK",
                                         "email_user_from": server.owner_email, "date": "2025-01-02"})
    assert isinstance(cost_id, int) and cost_id > 0
    [row] = sdk.costs.list({"id_task": task_id})
    assert (row.time, row.money, row.comment, row.date, row.is_timer) == ("1:30", "12.50", "From the SDK",
                                                                          "2025-01-02", False)
    assert row.user_from.email == server.owner_email and int(row.task.id) == task_id

    total = sdk.costs.total({"id_project": project_id, "extra": "projects,tasks"})
    assert (total.time, total.money) == ("1:30", "12.50")
    [project] = total.projects.values()
    assert project.monthly == {"2025-01": {"time": "1:30", "money": "12.50"}}
    assert [(t.name, t.time) for t in project.tasks.values()] == [("SDK costs", "1:30")]

    sdk.costs.update(cost_id, {"time": 2, "comment": "Changed"})
    [row] = sdk.costs.list({"id_task": task_id, "filter": "comment has 'chan'"})
    assert (row.time, row.comment) == ("2:00", "Changed")
    sdk.costs.delete(cost_id)
    assert sdk.costs.list({"id_task": task_id}) == []
    assert sdk.costs.total({"id_task": task_id}).time == "0:00"


def test_sdk_runs_a_user_timer_and_the_admin_stops_it(sdk, server: Server) -> None:  # type: ignore[no-untyped-def]
    _, task_id = new_task(sdk, "SDK timer")
    me = user_client(server)
    assert me.user.timer() is None
    me.user.start_timer(task_id)
    mine = me.user.timer()
    assert mine is not None and int(mine.task.id) == task_id
    [running] = [t for t in sdk.timers.all() if int(t.task.id) == task_id]
    assert len(running.time) == 8 and running.user_from.email == server.owner_email
    sdk.timers.stop(int(running.id))
    assert me.user.timer() is None
    [row] = sdk.costs.list({"id_task": task_id})
    assert row.is_timer is True and row.time == "0:01"
    me.user.start_timer(task_id)
    me.user.discard_timer()
    assert len(sdk.costs.list({"id_task": task_id})) == 1
