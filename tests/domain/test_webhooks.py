"""domain.webhooks called directly: the probe, validation, who manages which webhook."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localsection import errors
from localsection.domain import webhooks
from tests.factories import make_project
from tests.helpers import Api
from tests.webhook_receiver import Receiver, running_receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def test_a_webhook_is_probed_stored_and_listed(api: Api, receiver: Receiver) -> None:
    project = make_project(api)
    with api.ctx(write=False) as ctx:  # as the API: the insert commits in a write transaction of its own
        hook = webhooks.add_webhook(ctx, url=receiver.url, events=["POST_TASK", "close_task", "post_task"],
                                    projects=[str(project)], http_user="bot", http_pass="pw")
    assert len(receiver.requests) == 1 and receiver.requests[0].body == b"[]"
    with api.ctx(write=False) as ctx:
        [listed] = webhooks.list_webhooks(ctx)
    assert (listed.id, listed.url, listed.events, listed.projects, listed.status, listed.user_id) == (
        hook.id, receiver.url, "post_task,close_task", str(project), "active", None)


def test_a_failing_probe_stores_nothing_and_comes_before_event_checks(api: Api, receiver: Receiver) -> None:
    receiver.always_fail = True
    with pytest.raises(errors.ApiError) as exc, api.ctx(write=False) as ctx:
        webhooks.add_webhook(ctx, url=receiver.url, events=["explode"])
    assert (exc.value.code, exc.value.details) == (11, receiver.url)
    assert exc.value.message == "Url should respond 200 HTTP_CODE and JSON {status:OK}"
    receiver.always_fail = False
    for events, projects, expected in ((["explode_task"], [], (11, "Invalid events", "explode_task")),
                                       ([], [], (10, "Field is required", "events")),
                                       (["post_task"], ["x1"], (4, "Project is invalid", None))):
        with pytest.raises(errors.ApiError) as exc, api.ctx(write=False) as ctx:
            webhooks.add_webhook(ctx, url=receiver.url, events=events, projects=projects)
        assert (exc.value.code, exc.value.message, exc.value.details) == expected
    with api.ctx(write=False) as ctx:
        assert webhooks.list_webhooks(ctx) == []


def test_users_manage_only_their_own_webhooks_and_readers_none(api: Api, receiver: Receiver) -> None:
    api.add_user("kate@example.com")
    api.add_user("rita@example.com", role="reader")
    with api.ctx(write=False) as ctx:
        admins = webhooks.add_webhook(ctx, url=receiver.url, events=["post_task"])
    with api.ctx("kate@example.com", write=False) as ctx:
        kates = webhooks.add_webhook(ctx, url=receiver.url, events=["post_comment"])
    with api.ctx("kate@example.com", write=False) as ctx:
        assert [h.id for h in webhooks.list_webhooks(ctx)] == [kates.id]
    with pytest.raises(errors.ApiError) as exc, api.ctx("kate@example.com") as ctx:
        webhooks.delete_webhook(ctx, webhook_id=admins.id)
    assert (exc.value.code, exc.value.message) == (10, "WebHook not found")
    with pytest.raises(errors.ApiError) as exc, api.ctx("rita@example.com", write=False) as ctx:
        webhooks.add_webhook(ctx, url=receiver.url, events=["post_task"])
    assert (exc.value.code, exc.value.details) == (20, "role")
    with api.ctx("kate@example.com") as ctx:
        webhooks.delete_webhook(ctx, webhook_id=kates.id)
    with api.ctx(write=False) as ctx:
        assert [h.id for h in webhooks.list_webhooks(ctx)] == [admins.id]
