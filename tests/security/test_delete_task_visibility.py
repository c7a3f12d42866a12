"""Attack: learn of a hidden task through its deletion (issue 14, web-polish).

A member who cannot see a hidden task registers a webhook for `delete_task` with their own token. Before the fix
the event was recorded after the task's rows were gone, so the visibility check found nothing to refuse and the
deletion (id, page, project) reached every member's webhook. Now it reaches only those who could see the task.
"""

from __future__ import annotations

from sqlalchemy import select

from localsection import clock, webhooks
from localsection.domain import tasks
from localsection.models import User, Webhook
from tests.factories import make_project
from tests.helpers import Api
from tests.webhook_receiver import running_receiver


def _user_id(api: Api, email: str) -> int:
    with api.state.db.session(write=False) as s:
        return int(s.scalars(select(User.id).where(User.email == email, User.account_id == api.account_id)).one())


def _hook(api: Api, url: str, user_id: int | None) -> None:
    with api.state.db.session() as s:
        s.add(Webhook(account_id=api.account_id, url=url, events="post_task,delete_task", projects="",
                      http_user="", http_pass="", status="active", consecutive_failures=0,
                      created_at=clock.now(), user_id=user_id))


def test_a_member_who_cannot_see_a_hidden_task_does_not_receive_its_delete_task(api: Api) -> None:
    api.add_user("seer@example.com")
    api.add_user("snoop@example.com")
    project = make_project(api, members=[_user_id(api, "seer@example.com"), _user_id(api, "snoop@example.com")])
    secret = api.ok("post_task", id_project=project, title="Secret plan", hidden="seer@example.com")["id"]
    api.ok("post_task", id_project=project, title="Public plan")  # so the marker below gets a fresh id
    settings = api.state.settings.with_(webhook_poll_interval=0.05, webhook_retry_base=0.05,
                                        webhook_retry_max=0.05)
    with running_receiver() as snoop, running_receiver() as seer, running_receiver() as admin:
        _hook(api, snoop.url, _user_id(api, "snoop@example.com"))
        _hook(api, seer.url, _user_id(api, "seer@example.com"))
        _hook(api, admin.url, None)  # the admin key's webhook sees everything
        worker = webhooks.Worker(api.state.db, settings)
        worker.start()
        try:
            with api.ctx() as ctx:
                tasks.delete_task(ctx, task_id=int(secret))
            # A visible task afterwards: once the snoop's webhook has it, everything before it was delivered too.
            marker = api.ok("post_task", id_project=project, title="Everyone sees this")["id"]

            def got(receiver: object, action: str, oid: object) -> bool:
                return any(e["action"] == action and str(e["object"]["id"]) == str(oid)
                           for e in receiver.events())  # type: ignore[attr-defined]

            assert admin.wait_for(lambda: got(admin, "delete", secret) and got(admin, "post", marker))
            assert seer.wait_for(lambda: got(seer, "delete", secret) and got(seer, "post", marker))
            assert snoop.wait_for(lambda: got(snoop, "post", marker))
        finally:
            worker.stop()
        leaked = [e for e in snoop.events() if e["action"] == "delete"]
    assert leaked == []
