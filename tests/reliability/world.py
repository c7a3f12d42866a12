"""One of everything in an account, made through the API (the direct inserts say why), for fuzz and isolation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from localsection import clock
from localsection.models import Webhook
from tests.helpers import ADMIN_PATH, Api
from tests.postman import action_catalogue

# Parameter names of every action, from the machine-readable protocol catalogue (tests/data/actions.json).
SPEC: dict[str, list[str]] = {a["action"]: [p["name"] for p in a["params"]] for a in action_catalogue()}


@dataclass
class World:
    """Ids by parameter name, and strings that appear only in this account's data."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    markers: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)

    def add(self, name: str, value: Any) -> None:
        if value not in (None, ""):
            self.ids.setdefault(name, []).append(str(value))


def build(api: Api, tag: str) -> World:
    """Project, task, subtask, comment with a file, costs, tags, timer, webhook, user and contact; tag marks them."""
    w = World()
    user = api.add_user(f"member.{tag}@{tag}.example.com")
    w.emails += [api.owner_email, user["email"]]
    project = api.ok("post_project", title=f"Project {tag}", members=user["email"])
    w.add("id_project", project["id"])
    task = api.ok("post_task", id_project=project["id"], title=f"Task {tag}", text=f"Text {tag}")
    sub = api.ok("post_task", id_project=project["id"], id_parent=task["id"], title=f"Subtask {tag}")
    w.add("id_task", task["id"])
    w.add("id_task", sub["id"])
    w.add("id_parent", task["id"])
    resp = api.client.post(f"{ADMIN_PATH}?action=post_comment", data={"id_task": task["id"], "text": f"Comment {tag}"},
                           files={"attach[0]": (f"file-{tag}.txt", f"bytes {tag}".encode(), "text/plain")},
                           headers={"Host": api.host, "Authorization": api.admin_header("post_comment")})
    assert resp.json()["status"] == "ok", resp.text
    w.add("id_comment", resp.json()["data"]["id"])
    for f in api.ok("get_files", id_task=task["id"]):
        w.add("id_file", f["id"])
    cost = api.call("add_costs", id_task=task["id"], time="1:30", money="12.34", comment=f"Cost {tag}",
                    email_user_from=api.owner_email)
    assert cost["status"] == "ok", cost
    w.add("id_costs", cost["id"])
    group = api.ok("add_task_tag_groups", type="label", access="public", title=f"Group {tag}")
    w.add("group", group[0]["id"])
    tags = api.ok("add_task_tags", group=group[0]["id"], title=f"Label {tag}")
    w.add("tag", tags[0]["id"])
    api.ok("update_task_tags", id_task=task["id"], plus=f"Label {tag}")
    pgroup = api.ok("add_project_tag_groups", access="public", title=f"PGroup {tag}")
    api.ok("add_project_tags", group=pgroup[0]["id"], title=f"PLabel {tag}")
    body = api.user_call(api.token(), "start_my_timer", id_task=task["id"])
    assert body["status"] == "ok", body
    for timer in api.ok("get_timers"):
        w.add("timer", timer["id"])
    # A webhook row written directly: add_webhook would probe a URL, and this test reaches no network.
    with api.state.db.session() as s:
        hook = Webhook(account_id=api.account_id, url=f"http://127.0.0.1:9/hook-{tag}", events="post_task",
                       projects="", created_at=clock.now())
        s.add(hook)
        s.flush()
        w.add("id", hook.id)
    api.ok("add_contact", email=f"contact.{tag}@{tag}.example.com", name=f"Contact {tag}")
    w.markers = [f"Project {tag}", f"Task {tag}", f"Subtask {tag}", f"Comment {tag}", f"file-{tag}",
                 f"Cost {tag}", f"Label {tag}", f"hook-{tag}", f"contact.{tag}", f"member.{tag}", f"bytes {tag}",
                 f"Group {tag}"]
    return w
