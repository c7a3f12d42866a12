"""domain.subscriptions called directly (no HTTP): following a task, idempotently, within what the caller may do."""

from __future__ import annotations

import pytest

from localsection import errors
from localsection.domain import subscriptions
from tests.factories import make_project, make_task
from tests.helpers import Api


def subscribers(api: Api, task_id: int) -> list[str]:
    task = api.ok("get_task", id_task=task_id, extra="subscribers")
    return sorted(u["email"] for u in task.get("subscribers", []))


def test_subscribing_twice_follows_once_and_unsubscribing_stops(api: Api) -> None:
    tid = make_task(api, make_project(api))
    api.add_user("sam@example.com")
    for _ in range(2):
        with api.ctx() as ctx:
            subscriptions.subscribe(ctx, task_id=tid, email="sam@example.com")
    assert "sam@example.com" in subscribers(api, tid)
    with api.ctx() as ctx:
        subscriptions.unsubscribe(ctx, task_id=tid, email="sam@example.com")
        subscriptions.unsubscribe(ctx, task_id=tid, email="sam@example.com")
    assert "sam@example.com" not in subscribers(api, tid)


def test_an_unknown_email_or_task_changes_nothing(api: Api) -> None:
    tid = make_task(api, make_project(api))
    before = subscribers(api, tid)
    with pytest.raises(errors.ApiError) as bad_email, api.ctx() as ctx:
        subscriptions.subscribe(ctx, task_id=tid, email="nobody@example.com")
    with pytest.raises(errors.ApiError) as bad_task, api.ctx() as ctx:
        subscriptions.subscribe(ctx, task_id=tid + 10_000, email=api.owner_email)
    assert (bad_email.value.code, bad_task.value.code) == (11, 5)
    assert subscribers(api, tid) == before


def test_a_reader_may_not_subscribe_anyone(api: Api) -> None:
    project = make_project(api)
    tid = make_task(api, project)
    api.add_user("rita@example.com", role="reader")
    api.ok("add_project_members", id_project=project, members="rita@example.com")
    with pytest.raises(errors.ApiError) as refused, api.ctx("rita@example.com") as ctx:
        subscriptions.subscribe(ctx, task_id=tid, email="rita@example.com")
    assert refused.value.code == 20
    assert "rita@example.com" not in subscribers(api, tid)
