"""Focused visibility rules for token callers (PROTOCOL.md §4, §9.2 #5): the list filters, private tags,
hidden tasks and comments, readers, and webhook payloads that follow their creator's visibility.

The fixture world is the one of test_permission_matrix (projects P, Q, S, Z; tasks t, h, q, s; comments
c1, c2 internal, c3 hidden for `user`; private tag `secret`, private project tag `money`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from localsection import webhooks
from localsection.api.registry import all_actions
from localsection.models import OutboxItem
from tests.helpers import Api
from tests.test_permission_matrix import World, build_world
from tests.webhook_receiver import Receiver, running_receiver


@pytest.fixture
def world(api: Api) -> World:
    return build_world(api)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def call(api: Api, w: World, role: str, action: str, **params: Any) -> dict[str, Any]:
    return api.user_call(w.tokens[role], action, **params)


def labels(w: World, kind: str, ids: list[Any]) -> list[str]:
    return sorted(w.labels[kind][str(i)] for i in ids if str(i) in w.labels[kind])


def test_a_user_never_sees_another_projects_tasks_in_any_list(api: Api, world: World) -> None:
    w = world
    tasks = call(api, w, "user", "get_all_tasks", extra="subtasks")["data"]
    found = call(api, w, "user", "search_tasks", filter="name has 'q' or name has 't'")["data"]
    costs = call(api, w, "user", "get_costs")["data"]
    events = call(api, w, "user", "get_events", period="1d")["data"]
    assert labels(w, "task", [t["id"] for t in tasks]) == ["t"]
    assert labels(w, "task", [t["id"] for t in found]) == ["t"]
    assert {c["task"]["id"] for c in costs} == {w.ids["t"]}
    assert w.ids["q"] not in {e["object"]["id"] for e in events if e["object"]["type"] == "task"}
    assert call(api, w, "user", "get_files", id_task=w.ids["q"])["status_code"] == 5
    assert call(api, w, "user", "get_files", id_project=w.ids["Q"])["status_code"] == 4
    assert call(api, w, "user", "get_costs", id_project=w.ids["Q"])["status_code"] == 4
    assert call(api, w, "user", "get_costs_total", id_task=w.ids["q"])["status_code"] == 5


def test_the_same_lists_show_everything_to_the_owner(api: Api, world: World) -> None:
    w = world
    tasks = call(api, w, "owner", "get_all_tasks")["data"]
    assert labels(w, "task", [t["id"] for t in tasks]) == ["h", "q", "s", "t"]
    assert call(api, w, "owner", "get_costs_total")["total"]["time"] == "15:00"


def test_team_and_department_admins_see_their_teams_projects_and_their_tasks(api: Api, world: World) -> None:
    w = world
    for role in ("lead", "dept"):
        assert call(api, w, role, "get_project", id_project=w.ids["S"])["data"]["name"] == "S"
        assert call(api, w, role, "get_task", id_task=w.ids["s"])["data"]["name"] == "s"
        assert call(api, w, role, "get_project", id_project=w.ids["Q"])["status_code"] == 4
    assert call(api, w, "user", "get_project", id_project=w.ids["S"])["status_code"] == 4


def test_client_team_users_and_guests_never_see_private_tags_anywhere(api: Api, world: World) -> None:
    w = world
    api.ok("update_task", id_task=w.ids["t"], tags="bug")  # an update event whose old tags hold `secret`
    api.ok("update_task", id_task=w.ids["t"], tags="bug,secret")
    secret, money = w.ids["secret"], w.ids["money"]
    for role in ("client", "guest"):
        task = call(api, w, role, "get_task", id_task=w.ids["t"])["data"]
        listed = call(api, w, role, "get_tasks", id_project=w.ids["P"])["data"]
        project = call(api, w, role, "get_project", id_project=w.ids["P"])["data"]
        groups = call(api, w, role, "get_task_tag_groups")["data"]
        events = call(api, w, role, "get_events", period="1d")["data"]
        event_tags = [m.get("tags", {}) for e in events for m in (e.get("new", {}), e.get("old", {}))]
        assert task["tags"] == {w.ids["bug"]: "bug"}
        assert all(secret not in t.get("tags", {}) for t in listed)
        assert project["tags"] == {w.ids["alpha"]: "alpha"}
        assert w.ids["Secret"] not in {str(g["id"]) for g in groups}
        assert any(event_tags) and all(secret not in tags and money not in tags for tags in event_tags)
        assert call(api, w, role, "get_task_tags", group="Secret")["status_code"] == 16
    assert call(api, w, "user", "get_task", id_task=w.ids["t"])["data"]["tags"] == {
        w.ids["bug"]: "bug", secret: "secret"}


def test_a_client_users_tag_replacement_keeps_the_private_tags_it_cannot_see(api: Api, world: World) -> None:
    w = world
    assert call(api, w, "client", "update_task", id_task=w.ids["t"], tags="bug")["status"] == "ok"
    assert api.ok("get_task", id_task=w.ids["t"])["tags"] == {w.ids["bug"]: "bug", w.ids["secret"]: "secret"}


def test_hidden_comments_are_shown_only_to_their_audience(api: Api, world: World) -> None:
    w = world
    seen = {role: labels(w, "comment", [c["id"] for c in call(api, w, role, "get_comments",
                                                                   id_task=w.ids["t"])["data"]])
            for role in ("owner", "user", "lead", "guest", "client", "reader")}
    assert seen == {"owner": ["c1", "c2", "c3"], "user": ["c1", "c2", "c3"], "lead": ["c1", "c2"],
                    "guest": ["c1"], "client": ["c1"], "reader": ["c1", "c2"]}
    embedded = call(api, w, "client", "get_task", id_task=w.ids["t"], extra="comments")["data"]["comments"]
    assert [c["text"] for c in embedded] == ["c1"]
    assert call(api, w, "client", "download", id_file=w.ids["int.txt"])["status_code"] == 4


def test_the_browser_download_link_applies_the_same_rules(api: Api, world: World) -> None:
    w = world
    path = f"/download/{w.ids['int.txt']}/"
    refused = api.client.get(path, headers={"Host": api.host, "Authorization": f"Bearer {w.tokens['client']}"})
    allowed = api.client.get(path, headers={"Host": api.host, "Authorization": f"Bearer {w.tokens['user']}"})
    assert refused.json()["status_code"] == 4
    assert (allowed.status_code, allowed.content) == (200, b"int.txt")


def test_a_hidden_tasks_subtasks_are_hidden_with_it(api: Api, world: World) -> None:
    w = world
    sub = api.ok("post_task", id_project=w.ids["P"], id_parent=w.ids["h"], title="under h")["id"]
    deeper = api.ok("post_task", id_project=w.ids["P"], id_parent=sub, title="deeper")["id"]
    for task_id in (sub, deeper):
        assert call(api, w, "user", "get_task", id_task=task_id)["status_code"] == 5
        assert call(api, w, "admin", "get_task", id_task=task_id)["status"] == "ok"
    found = call(api, w, "user", "search_tasks", id_project=w.ids["P"])["data"]
    assert [t["name"] for t in found] == ["t"]
    assert len(call(api, w, "admin", "search_tasks", id_project=w.ids["P"])["data"]) == 4
    assert call(api, w, "user", "post_comment", id_task=sub, text="hi")["status_code"] == 5


def test_events_of_hidden_tasks_and_comments_are_left_out(api: Api, world: World) -> None:
    w = world
    user_events = {(e["object"]["type"], e["object"]["id"])
                   for e in call(api, w, "lead", "get_events", period="1d")["data"]}
    assert ("task", w.ids["h"]) not in user_events and ("comment", w.ids["c3"]) not in user_events
    assert ("task", w.ids["t"]) in user_events and ("comment", w.ids["c2"]) in user_events


def test_costs_of_others_and_of_invisible_tasks_cannot_be_changed(api: Api, world: World) -> None:
    w = world
    mine = call(api, w, "lead", "add_costs", id_task=w.ids["t"], time="0:30")["id"]
    assert call(api, w, "lead", "update_costs", id_costs=w.ids["cost_by_user"], time="9:00")["status_code"] == 20
    assert call(api, w, "lead", "delete_costs", id_costs=w.ids["cost_on_q"])["message"] == "Costs not found"
    assert call(api, w, "user", "add_costs", id_task=w.ids["h"], time="1:00")["status_code"] == 5
    assert call(api, w, "lead", "update_costs", id_costs=mine, time="0:45")["status"] == "ok"
    assert call(api, w, "lead", "delete_costs", id_costs=mine)["status"] == "ok"


def test_readers_are_refused_every_write_action(api: Api, world: World) -> None:
    w = world
    writes = sorted(name for name, spec in all_actions().items()
                    if (spec.scope or "").endswith("_write") or name in ("add_webhook", "delete_webhook"))
    params = {"id_task": w.ids["t"], "id_project": w.ids["P"], "title": "x", "email": "x@example.com",
              "name": "x", "text": "x", "time": "1:00", "id_costs": w.own["reader"]["own_cost"],
              "id": w.own["reader"]["own_hook"], "group": "Kind", "email_user": w.emails["reader"],
              "members": w.emails["reader"], "plus": "bug", "type": "label", "access": "public"}
    outcomes = {name: (call(api, w, "reader", name, **params).get("status_code"),
                       call(api, w, "reader", name, **params).get("message_details")) for name in writes}
    assert len(writes) == 34
    assert outcomes == {name: (20, "role") for name in writes}
    assert api.ok("get_task", id_task=w.ids["t"])["name"] == "t"


def outbox_events(api: Api, hook_id: int) -> int:
    with api.state.db.session(write=False) as s:
        return len(list(s.scalars(select(OutboxItem.id).where(OutboxItem.webhook_id == hook_id))))


def test_a_users_webhook_only_carries_events_that_user_may_see(api: Api, world: World, receiver: Receiver) -> None:
    w = world
    user_hook = call(api, w, "user", "add_webhook", url=receiver.url, events="post_task,post_comment")["id"]
    admin_hook = api.call("add_webhook", url=receiver.url, events="post_task,post_comment")["id"]
    visible = api.ok("post_task", id_project=w.ids["P"], title="seen")["id"]
    api.ok("post_task", id_project=w.ids["Q"], title="not a member")
    api.ok("post_task", id_project=w.ids["P"], title="hidden", hidden=w.emails["admin"])
    api.ok("post_comment", id_task=w.ids["h"], text="on a hidden task")
    api.ok("post_comment", id_task=w.ids["t"], text="for the admin", hidden=w.emails["admin"])
    api.ok("post_comment", id_task=w.ids["t"], text="internal but not a client", hidden=1)
    assert (outbox_events(api, user_hook), outbox_events(api, admin_hook)) == (2, 6)
    settings = api.state.settings.with_(webhook_retry_base=0.001, webhook_retry_max=0.001)
    webhooks.Worker(api.state.db, settings).drain()
    delivered = [(r.path, e["object"]["type"], e["object"]["id"]) for r in receiver.deliveries() for e in r.json()]
    assert len(delivered) == 8
    assert ("task", visible) in {(kind, object_id) for _, kind, object_id in delivered}


def test_a_guests_webhook_skips_internal_comments(api: Api, world: World, receiver: Receiver) -> None:
    w = world
    hook = call(api, w, "guest", "add_webhook", url=receiver.url, events="post_comment")
    assert hook["status_code"] == 20  # guests cannot write, so they cannot add webhooks either
    client_hook = call(api, w, "client", "add_webhook", url=receiver.url, events="post_comment")["id"]
    api.ok("post_comment", id_task=w.ids["t"], text="internal", hidden=1)
    api.ok("post_comment", id_task=w.ids["t"], text="public")
    assert outbox_events(api, client_hook) == 1


def test_a_webhook_can_only_be_limited_to_projects_its_creator_can_see(api: Api, world: World,
                                                                       receiver: Receiver) -> None:
    w = world
    refused = call(api, world, "user", "add_webhook", url=receiver.url, events="post_task", projects=w.ids["Q"])
    assert refused["status_code"] == 4
    ok = call(api, world, "user", "add_webhook", url=receiver.url, events="post_task", projects=w.ids["P"])
    assert ok["status"] == "ok"


def test_a_client_team_users_webhook_payload_never_carries_private_tags(api: Api, world: World,
                                                                      receiver: Receiver) -> None:
    w = world
    assert call(api, w, "client", "add_webhook", url=receiver.url + "/client", events="update_task")["status"] == "ok"
    assert api.call("add_webhook", url=receiver.url + "/admin", events="update_task")["status"] == "ok"
    api.ok("update_task", id_task=w.ids["t"], tags="bug")  # the world's task already holds `secret`
    api.ok("update_task", id_task=w.ids["t"], tags="bug,secret")
    settings = api.state.settings.with_(webhook_retry_base=0.001, webhook_retry_max=0.001)
    webhooks.Worker(api.state.db, settings).drain()
    tags: dict[str, list[dict[str, str]]] = {"/client": [], "/admin": []}
    for r in receiver.deliveries():
        for e in r.json():
            tags[r.path.removeprefix("/hook")].append({**e.get("old", {}).get("tags", {}),
                                                       **e.get("new", {}).get("tags", {})})
    secret = str(w.ids["secret"])
    assert len(tags["/admin"]) == 2 and all(secret in t for t in tags["/admin"])
    assert len(tags["/client"]) == 2 and all(secret not in t for t in tags["/client"])
