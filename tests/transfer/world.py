"""An account holding every kind of object (filled through the API where an action exists), and every read action
the API offers, called with the parameters that show the most of it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localsection import accounts
from localsection.domain import custom_fields
from localsection.models import Account, TaskRelation, Webhook
from localsection.oauth2 import apps
from tests.helpers import ADMIN_PATH, Api

ACTIONS = json.loads((Path(__file__).parents[1] / "data" / "actions.json").read_text())
READ_ACTIONS = sorted(a["action"] for a in ACTIONS if a["action"].startswith(("get_", "search_")) or
                      a["action"] == "me")
TASK_EXTRA = "text,html,files,comments,relations,subscribers,custom_fields,subtasks,archive"


@dataclass
class World:
    projects: list[int] = field(default_factory=list)
    tasks: list[int] = field(default_factory=list)
    files: list[int] = field(default_factory=list)
    users: list[str] = field(default_factory=list)


def multipart(api: Api, action: str, parts: list[tuple[str, tuple[str, bytes]]], **fields: Any) -> Any:
    resp = api.client.post(f"{ADMIN_PATH}?action={action}", data={k: str(v) for k, v in fields.items()},
                           files=[(k, (n, c, "application/octet-stream")) for k, (n, c) in parts],
                           headers={"Host": api.host, "Authorization": api.admin_header(action)})
    body = resp.json()
    assert body["status"] == "ok", body
    return body.get("data", body)


def fill(api: Api) -> World:
    """Users, teams, contacts and folders, projects and folders, tasks, subtasks, hidden tasks, subscribers, a
    relation, comments (hidden too), task and project tags, costs, a running timer, files attached and pending,
    custom fields with values, schedules, a webhook, an OAuth app, events (written by all of the above)."""
    w = World()
    api.ok("add_user_group", title="Clients", client="1")
    api.add_user("kate@example.com", group="Design", department="UX", title="Designer")
    api.add_user("bob.client@example.com", group="Clients")
    w.users = ["kate@example.com", "bob.client@example.com"]
    with api.state.db.session() as s:
        accounts.set_password(s, api.account, "kate@example.com", "kate-password-1")
    api.ok("add_contact_group", title="Suppliers")
    api.ok("add_contact", email="sam@supplier.com", name="Sam Supplier", group="Suppliers", phone="+1 555")
    api.ok("add_project_group", title="Internal")
    api.ok("add_project_tag_groups", title="Kind", access="public")
    api.ok("add_project_tags", group="Kind", title="Web,Print")
    p1 = multipart(api, "post_project", [("attach[0]", ("brief.pdf", b"%PDF-1.4 brief"))], title="Website",
                   members="kate@example.com", text="The new site", datestart="01.07.2026", max_money="1000.50")
    p2 = api.ok("post_project", title="Print", email_manager="kate@example.com", company="Internal")
    w.projects = [int(p1["id"]), int(p2["id"])]
    api.ok("update_project_tags", id_project=w.projects[0], plus="Web")
    api.ok("add_task_tag_groups", title="State", type="status", access="public")
    api.ok("add_task_tags", group="State", title="Doing,Review")
    api.ok("add_task_tag_groups", title="Area", type="label", access="private")
    api.ok("add_task_tags", group="Area", title="Front,Back")
    t1 = api.ok("post_task", id_project=w.projects[0], title="Design the home page", email_user_to="kate@example.com",
                priority=7, text="With <b>care</b>", datestart="02.07.2026", dateend="09.07.2026",
                subscribe="kate@example.com")
    sub = api.ok("post_task", id_project=w.projects[0], id_parent=t1["id"], title="Colours", email_user_to="ANY")
    subsub = api.ok("post_task", id_project=w.projects[0], id_parent=sub["id"], title="Palette")
    hidden = api.ok("post_task", id_project=w.projects[0], title="Secret", hidden="kate@example.com")
    t2 = api.ok("post_task", id_project=w.projects[1], title="Posters", **{"todo[]": ["one", "two"]})
    w.tasks = [int(t["id"]) for t in (t1, sub, subsub, hidden, t2)]
    api.ok("update_task_tags", id_task=w.tasks[0], plus="Doing,Front")
    api.ok("complete_task", id_task=w.tasks[2])
    api.ok("complete_task", id_task=w.tasks[4])
    comment = multipart(api, "post_comment", [("attach[0]", ("photo.png", bytes(range(256)) * 40))],
                        id_task=w.tasks[0], text="Looks good @kate")
    api.ok("post_comment", id_task=w.tasks[0], text="Only for kate", hidden="kate@example.com")
    assert comment
    pending = multipart(api, "upload_files", [("files[]", ("later.txt", b"attach me later"))])
    assert pending
    api.ok("add_costs", id_task=w.tasks[0], time="1:30", comment="design work", date="03.07.2026",
           email_user_from=api.owner_email)
    api.ok("add_costs", id_task=w.tasks[1], money="250.75", email_user_from="kate@example.com", date="04.07.2026")
    api.ok("update_users_schedule", data={"kate@example.com": {"2026-07-01": "vacation", "2026-07-02": "workday"}})
    kate_token = api.token("kate@example.com")
    assert api.user_call(kate_token, "start_my_timer", id_task=w.tasks[0])["status"] == "ok"
    with api.ctx() as ctx:
        f_task = custom_fields.create_field(ctx, applies_to="task", name="Budget code", type_="text")
        f_proj = custom_fields.create_field(ctx, applies_to="project", name="Stage", type_="select",
                                           options=["draft", "live"])
        custom_fields.set_value(ctx, field_id=f_task.id, object_id=w.tasks[0], value="B-42")
        custom_fields.set_value(ctx, field_id=f_proj.id, object_id=w.projects[0], value="live")
        ctx.db.add(TaskRelation(from_task_id=w.tasks[0], to_task_id=w.tasks[4], type="finish-to-start"))
        ctx.db.add(Webhook(account_id=api.account_id, url="http://127.0.0.1:9/hook", events="post_task,post_comment",
                           projects=str(w.projects[0]), http_user="u", http_pass="p", status="active",
                           created_at=ctx.now()))
        account = ctx.db.get(Account, api.account_id)
        assert account is not None
        apps.create(ctx.db, account, "Integration", ["http://localhost:5000/callback"])
    api.ok("post_task", id_project=w.projects[0], title="After the webhook")  # an outbox row too
    for project in w.projects:
        w.files += [int(f["id"]) for f in api.ok("get_files", id_project=project)]
    for task in w.tasks:
        w.files += [int(f["id"]) for f in api.ok("get_files", id_task=task)]
    w.files = sorted(set(w.files))
    assert len(w.files) >= 2, w.files
    return w


def read_calls(w: World) -> list[tuple[str, dict[str, Any]]]:
    """Every read action with the parameters to call it with (per project, per task where it takes one)."""
    calls: list[tuple[str, dict[str, Any]]] = [
        ("get_users", {}), ("get_user_groups", {}), ("get_contacts", {}), ("get_contact_groups", {}),
        ("get_users_schedule", {"datestart": "01.06.2026", "dateend": "31.07.2026"}),
        ("get_projects", {"extra": "text,options,users"}), ("get_project_groups", {}),
        ("get_events", {"period": "30d"}), ("get_project_custom_fields", {}), ("get_task_custom_fields", {}),
        ("get_all_tasks", {"extra": TASK_EXTRA, "show_subtasks": "1"}),
        ("search_tasks", {"filter": "name has 'e'", "extra": "text,files"}),
        ("get_task_tags", {}), ("get_task_tag_groups", {}), ("get_project_tags", {}), ("get_project_tag_groups", {}),
        ("get_costs", {"datestart": "01.01.2026", "dateend": "31.12.2026"}),
        ("get_costs_total", {"datestart": "01.01.2026", "dateend": "31.12.2026"}),
        ("get_timers", {}), ("get_webhooks", {}),
    ]
    for project in w.projects:
        calls += [("get_project", {"id_project": project, "extra": "text,options,users"}),
                  ("get_tasks", {"id_project": project, "extra": TASK_EXTRA}),
                  ("search_tasks", {"id_project": project}),
                  ("get_costs", {"id_project": project}), ("get_files", {"id_project": project})]
    for task in w.tasks:
        calls += [("get_task", {"id_task": task, "extra": TASK_EXTRA}), ("get_comments", {"id_task": task,
                                                                                          "extra": "files"}),
                  ("get_files", {"id_task": task}), ("get_costs_total", {"id_task": task})]
    return calls


USER_CALLS = [("me", {}), ("get_my_timer", {}), ("get_all_tasks", {"extra": TASK_EXTRA}), ("get_users", {})]


def answers(api: Api, w: World) -> dict[str, Any]:
    """Every read answer (admin key; and kate's token for the user actions), keyed by call."""
    out: dict[str, Any] = {}
    for action, params in read_calls(w):
        out[f"{action} {json.dumps(params, sort_keys=True)}"] = api.call(action, **params)
    token = api.token("kate@example.com")
    for action, params in USER_CALLS:
        out[f"kate {action} {json.dumps(params, sort_keys=True)}"] = api.user_call(token, action, **params)
    for file_id in w.files:
        resp = api.client.get(f"/download/{file_id}/", headers={"Host": api.host,
                                                                "Authorization": api.admin_header("download")})
        assert resp.status_code == 200, resp.text
        out[f"download {file_id}"] = resp.content.hex()
    return out


def covered_actions() -> set[str]:
    return {a for a, _ in read_calls(World(projects=[1], tasks=[1]))} | {a for a, _ in USER_CALLS}
