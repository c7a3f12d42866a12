"""One request per role, the list of outcomes asserted: every action x the eight roles (PROTOCOL.md §9.2 #5).

The world: project P (every role is a member), Q (nobody but the owner), S (of the team `Staff`, no members:
team and department admins of Staff see it), Z (archived, every role a member). In P: task t (public tag
`bug`, private tag `secret`, file t.txt, comments c1 public, c2 internal + file int.txt, c3 hidden for all
but `user`) and task h (hidden: only its author the owner and the account admin). q (done) in Q, s in S.
Cost rows: t 1:00 by user, h 2:00, q 4:00, s 8:00, plus a money-only row on t by each role.
Every role calls with a token holding every scope. Outcomes: `ok`, an error code, or what the list showed.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from localsection import clock
from localsection.api.registry import all_actions
from localsection.models import User, Webhook
from tests.helpers import USER_PATH, Api

ROLES = ("owner", "admin", "lead", "dept", "user", "guest", "reader", "client")
ROLE_ARGS = {  # add_user role and team of each non-owner role
    "admin": ("admin", "Staff"), "lead": ("manager", "Staff"), "dept": ("department admin", "Staff"),
    "user": ("user", "Staff"), "guest": ("guest", "Staff"), "reader": ("reader", "Staff"),
    "client": ("user", "Client Co"),
}
ALL = "P Q S Z"

# action, params ({x} = a world id or e-mail; {own_*} = the calling role's own row), how to read an ok body,
# then the outcome of:  owner   admin   lead(team admin)   dept(department admin)   user   guest   reader   client
MATRIX: list[tuple[Any, ...]] = [
    # -- reads ------------------------------------------------------------------------------------------------------
    ("me", {}, None, "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"),
    ("get_users", {}, None, "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"),
    ("get_user_groups", {}, None, "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"),
    ("get_contacts", {}, None, "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"),
    ("get_contact_groups", {}, None, "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"),
    ("get_users_schedule", {}, None, "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"),
    ("get_projects", {}, "project", ALL, ALL, "P S Z", "P S Z", "P Z", "P Z", "P Z", "P Z"),
    ("get_project", {"id_project": "{Q}"}, None, "ok", "ok", "4", "4", "4", "4", "4", "4"),
    ("get_project_groups", {}, None, "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"),
    ("get_project_custom_fields", {}, None, "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"),
    ("get_events", {"period": "1d"}, "event",
     "P Q S Z c1 c2 c3 h q s t", "P Q S Z c1 c2 c3 h q s t", "P S Z c1 c2 s t", "P S Z c1 c2 s t",
     "P Z c1 c2 c3 t", "P Z c1 t", "P Z c1 c2 t", "P Z c1 t"),
    ("get_all_tasks", {}, "task", "h q s t", "h q s t", "s t", "s t", "t", "t", "t", "t"),
    ("get_tasks", {"id_project": "{P}"}, "task", "h t", "h t", "t", "t", "t", "t", "t", "t"),
    ("get_task", {"id_task": "{h}"}, None, "ok", "ok", "5", "5", "5", "5", "5", "5"),
    ("search_tasks", {"email_user_from": "{owner}"}, "task", "h q s t", "h q s t", "s t", "s t", "t", "t", "t", "t"),
    ("get_task_custom_fields", {}, None, "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"),
    ("get_comments", {"id_task": "{t}"}, "comment",
     "c1 c2 c3", "c1 c2 c3", "c1 c2", "c1 c2", "c1 c2 c3", "c1", "c1 c2", "c1"),
    ("get_task_tags", {}, "tag",
     "bug secret", "bug secret", "bug secret", "bug secret", "bug secret", "bug", "bug secret", "bug"),
    ("get_task_tag_groups", {}, "group",
     "Kind Secret", "Kind Secret", "Kind Secret", "Kind Secret", "Kind Secret", "Kind", "Kind Secret", "Kind"),
    ("get_project_tags", {}, "tag",
     "alpha money", "alpha money", "alpha money", "alpha money", "alpha money", "alpha", "alpha money", "alpha"),
    ("get_project_tag_groups", {}, "group",
     "Budget Phase", "Budget Phase", "Budget Phase", "Budget Phase", "Budget Phase", "Phase", "Budget Phase", "Phase"),
    ("get_costs", {}, "cost", "h q s t", "h q s t", "s t", "s t", "t", "t", "t", "t"),
    ("get_costs_total", {}, "total", "15:00", "15:00", "9:00", "9:00", "1:00", "1:00", "1:00", "1:00"),
    ("get_timers", {}, None, "ok", "ok", "20", "20", "20", "20", "20", "20"),
    ("get_my_timer", {}, None, "ok", "ok", "ok", "ok", "ok", "ok", "ok", "ok"),
    ("get_files", {"id_task": "{t}"}, "file",
     "int.txt t.txt", "int.txt t.txt", "int.txt t.txt", "int.txt t.txt", "int.txt t.txt", "t.txt",
     "int.txt t.txt", "t.txt"),
    ("download", {"id_file": "{int.txt}"}, None, "ok", "ok", "ok", "ok", "ok", "4", "ok", "4"),
    ("get_webhooks", {}, "count", "9", "9", "1", "1", "1", "1", "1", "1"),
    # -- writes (run after every read; each call leaves the world as the next role needs it) -------------------------
    ("add_user", {"email": "{user}", "role": "user"}, None, "ok", "ok", "ok", "ok", "ok", "20", "20", "ok"),
    ("add_user_group", {"title": "Staff"}, None, "ok", "ok", "ok", "ok", "ok", "20", "20", "ok"),
    ("add_contact", {"email": "new@contact.example.com"}, None, "10", "10", "10", "10", "10", "20", "20", "10"),
    ("add_contact_group", {"title": "DEFAULT"}, None, "ok", "ok", "ok", "ok", "ok", "20", "20", "ok"),
    ("subscribe", {"id_task": "{t}", "email_user": "{user}"}, None, "ok", "ok", "ok", "ok", "ok", "20", "20", "ok"),
    ("unsubscribe", {"id_task": "{h}", "email_user": "{owner}"}, None, "ok", "ok", "5", "5", "5", "20", "20", "5"),
    ("update_users_schedule", {}, None, "10", "10", "10", "10", "10", "20", "20", "10"),
    ("post_project", {}, None, "10", "10", "10", "10", "10", "20", "20", "10"),
    ("update_project", {"id_project": "{S}", "title": "S"}, None, "ok", "ok", "ok", "ok", "4", "20", "20", "4"),
    ("close_project", {"id_project": "{Z}"}, None, "12", "12", "12", "12", "12", "20", "20", "12"),
    ("activate_project", {"id_project": "{Q}"}, None, "12", "12", "4", "4", "4", "20", "20", "4"),
    ("add_project_members", {"id_project": "{P}", "members": "{user}"}, None,
     "ok", "ok", "ok", "ok", "ok", "20", "20", "ok"),
    ("delete_project_members", {"id_project": "{Q}", "members": "{user}"}, None,
     "ok", "ok", "4", "4", "4", "20", "20", "4"),
    ("add_project_group", {"title": "Folder"}, None, "ok", "ok", "ok", "ok", "ok", "20", "20", "ok"),
    ("post_task", {"id_project": "{Q}"}, None, "10", "10", "4", "4", "4", "20", "20", "4"),
    ("update_task", {"id_task": "{h}", "title": "h"}, None, "ok", "ok", "5", "5", "5", "20", "20", "5"),
    ("complete_task", {"id_task": "{q}"}, None, "12", "12", "5", "5", "5", "20", "20", "5"),
    ("reopen_task", {"id_task": "{t}"}, None, "12", "12", "12", "12", "12", "20", "20", "12"),
    ("post_comment", {"id_task": "{h}"}, None, "10", "10", "5", "5", "5", "20", "20", "5"),
    ("add_task_tags", {"group": "Secret", "title": "secret"}, None, "ok", "ok", "ok", "ok", "ok", "20", "20", "16"),
    ("update_task_tags", {"id_task": "{t}", "plus": "secret"}, None, "ok", "ok", "ok", "ok", "ok", "20", "20", "16"),
    ("add_task_tag_groups", {"title": "Secret", "type": "label", "access": "private"}, None,
     "ok", "ok", "ok", "ok", "ok", "20", "20", "16"),
    ("add_project_tags", {"group": "Budget", "title": "money"}, None, "ok", "ok", "ok", "ok", "ok", "20", "20", "16"),
    ("update_project_tags", {"id_project": "{P}", "plus": "money"}, None,
     "ok", "ok", "ok", "ok", "ok", "20", "20", "16"),
    ("add_project_tag_groups", {"title": "Budget", "access": "private"}, None,
     "ok", "ok", "ok", "ok", "ok", "20", "20", "16"),
    ("add_costs", {"id_task": "{h}", "time": "bad"}, None, "11", "11", "5", "5", "5", "20", "20", "5"),
    ("update_costs", {"id_costs": "{cost_by_user}", "comment": "x"}, None,
     "ok", "ok", "20", "20", "ok", "20", "20", "20"),
    ("delete_costs", {"id_costs": "{own_cost}"}, None, "ok", "ok", "ok", "ok", "ok", "20", "20", "ok"),
    ("stop_timer", {"timer": "999999999"}, None, "7", "7", "20", "20", "20", "20", "20", "20"),
    ("start_my_timer", {"id_task": "{h}"}, None, "ok", "ok", "5", "5", "5", "20", "20", "5"),
    ("stop_my_timer", {}, None, "ok", "ok", "7", "7", "7", "20", "20", "7"),
    ("delete_my_timer", {}, None, "7", "7", "7", "7", "7", "20", "20", "7"),
    ("upload_files", {}, None, "10", "10", "10", "10", "10", "20", "20", "10"),
    ("add_webhook", {}, None, "10", "10", "10", "10", "10", "20", "20", "10"),
    ("delete_webhook", {"id": "{own_hook}"}, None, "ok", "ok", "ok", "ok", "ok", "20", "20", "ok"),
]


@dataclass
class World:
    """Ids of the fixture objects by label, plus the e-mail and full-scope token of every role."""

    ids: dict[str, str] = field(default_factory=dict)  # label -> id
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> id -> label
    emails: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    own: dict[str, dict[str, str]] = field(default_factory=dict)  # role -> {own_cost, own_hook}

    def name(self, kind: str, label: str, object_id: Any) -> str:
        self.ids[label] = str(object_id)
        self.labels.setdefault(kind, {})[str(object_id)] = label
        return str(object_id)


def upload(api: Api, name: str) -> list[dict[str, Any]]:
    resp = api.client.post("/api/admin/v2?action=upload_files", files=[("files[]", (name, name.encode()))],
                           headers={"Host": api.host, "Authorization": api.admin_header("upload_files")})
    return resp.json()["data"]  # type: ignore[no-any-return]


def build_world(api: Api) -> World:
    """The fixture described in the module docstring, made through the admin API (plus webhook rows)."""
    w = World()
    w.emails["owner"] = api.owner_email
    api.ok("add_user_group", title="Staff")
    api.ok("add_user_group", title="Client Co", client=1)
    for role, (ws_role, team) in ROLE_ARGS.items():
        w.emails[role] = f"{role}@example.com"
        api.add_user(w.emails[role], role=ws_role, group=team)
    everyone = ",".join(w.emails[r] for r in ROLES[1:])
    w.name("project", "P", api.ok("post_project", title="P", members=everyone)["id"])
    w.name("project", "Q", api.ok("post_project", title="Q")["id"])
    w.name("project", "S", api.ok("post_project", title="S", company="Staff")["id"])
    w.name("project", "Z", api.ok("post_project", title="Z", members=everyone)["id"])
    api.ok("close_project", id_project=w.ids["Z"])
    for title, access in (("Kind", "public"), ("Secret", "private")):
        w.name("group", title, api.ok("add_task_tag_groups", title=title, type="label", access=access)[0]["id"])
    for title, access in (("Phase", "public"), ("Budget", "private")):
        w.name("group", title, api.ok("add_project_tag_groups", title=title, access=access)[0]["id"])
    for group, title in (("Kind", "bug"), ("Secret", "secret")):
        w.name("tag", title, api.ok("add_task_tags", group=group, title=title)[0]["id"])
    for group, title in (("Phase", "alpha"), ("Budget", "money")):
        w.name("tag", title, api.ok("add_project_tags", group=group, title=title)[0]["id"])
    api.ok("update_project_tags", id_project=w.ids["P"], plus="alpha,money")
    t_files = upload(api, "t.txt")
    w.name("task", "t", api.ok("post_task", id_project=w.ids["P"], title="t", tags="bug,secret", files=t_files)["id"])
    w.name("task", "h", api.ok("post_task", id_project=w.ids["P"], title="h", hidden=w.emails["admin"])["id"])
    w.name("task", "q", api.ok("post_task", id_project=w.ids["Q"], title="q")["id"])
    api.ok("complete_task", id_task=w.ids["q"])
    w.name("task", "s", api.ok("post_task", id_project=w.ids["S"], title="s")["id"])
    c2_files = upload(api, "int.txt")
    w.name("comment", "c1", api.ok("post_comment", id_task=w.ids["t"], text="c1")["id"])
    w.name("comment", "c2", api.ok("post_comment", id_task=w.ids["t"], text="c2", hidden=1, files=c2_files)["id"])
    for f in api.ok("get_files", id_task=w.ids["t"]):  # upload ids are not file ids: read them back
        w.name("file", f["name"], f["id"])
    w.name("comment", "c3", api.ok("post_comment", id_task=w.ids["t"], text="c3", hidden=w.emails["user"])["id"])
    for label, time, author in (("t", "1:00", "user"), ("h", "2:00", "owner"), ("q", "4:00", "owner"),
                                ("s", "8:00", "owner")):
        row = api.ok("add_costs", id_task=w.ids[label], time=time, email_user_from=w.emails[author])
        w.ids[f"cost_on_{label}"] = str(row["id"])
    w.ids["cost_by_user"] = w.ids["cost_on_t"]
    for role in ROLES:
        row = api.ok("add_costs", id_task=w.ids["t"], money="1", email_user_from=w.emails[role])
        w.own[role] = {"own_cost": str(row["id"])}
    _add_webhooks(api, w)
    for role in ROLES:
        w.tokens[role] = api.token(w.emails[role])
    return w


def _add_webhooks(api: Api, w: World) -> None:
    """One webhook by the admin key and one by each role, inserted directly (no probe needed)."""
    with api.state.db.session() as s:
        users = {u.email: u.id for u in s.scalars(select(User).where(User.account_id == api.account_id))}
        hooks: dict[str | None, Webhook] = {}
        for role in (None, *ROLES):
            creator = users[w.emails[role].lower()] if role else None
            hooks[role] = Webhook(account_id=api.account_id, url=f"http://127.0.0.1:9/{role}", events="post_task",
                                  created_at=clock.now(), user_id=creator)
        s.add_all(hooks.values())
        s.flush()
        for role in ROLES:
            w.own[role]["own_hook"] = str(hooks[role].id)


def resolve(w: World, role: str, params: dict[str, str]) -> dict[str, str]:
    """Fill `{label}` placeholders with world ids / role e-mails and `{own_*}` with the role's own rows."""
    out = {}
    for key, value in params.items():
        if value.startswith("{") and value.endswith("}"):
            ref = value[1:-1]
            value = w.own[role].get(ref) or w.emails.get(ref) or w.ids[ref]
        out[key] = value
    return out


def read_outcome(w: World, reader: str | None, status: int, ctype: str, raw: bytes) -> str:
    """`ok`, the error code, or (with a reader) what the response listed, as sorted space-separated labels."""
    if not ctype.startswith("application/json"):
        return "ok" if status == 200 else f"http {status}"
    body = json.loads(raw)
    if body.get("status") != "ok":
        return str(body.get("status_code"))
    data = body.get("data")
    if reader is None:
        return "ok"
    if reader == "total":
        return str(body["total"]["time"])
    if reader == "count":
        return str(len(data))
    if reader == "cost":
        seen = {w.labels["task"].get(str(item["task"]["id"])) for item in data}
    elif reader == "event":
        seen = {w.labels.get(item["object"]["type"], {}).get(item["object"]["id"]) for item in data}
    else:
        seen = {w.labels[reader].get(str(item["id"])) for item in data}
    return " ".join(sorted(s for s in seen if s)) or "-"


def run_matrix(api: Api, w: World) -> dict[tuple[str, str], str]:
    """Every row of MATRIX for every role, in table order, straight to the ASGI app."""

    async def run() -> dict[tuple[str, str], str]:
        out: dict[tuple[str, str], str] = {}
        transport = httpx.ASGITransport(app=api.client.app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{api.host}") as client:
            for action, params, reader, *_ in MATRIX:
                for role in ROLES:
                    resp = await client.post(f"{USER_PATH}?action={action}", json=resolve(w, role, params) or None,
                                             headers={"Authorization": f"Bearer {w.tokens[role]}"})
                    out[(action, role)] = read_outcome(w, reader, resp.status_code,
                                                       resp.headers.get("content-type", ""), resp.content)
        return out

    return asyncio.run(run())


def test_the_matrix_covers_every_action_once() -> None:
    names = [row[0] for row in MATRIX]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(all_actions())
    assert all(len(row) == 3 + len(ROLES) for row in MATRIX)


def test_every_action_gives_each_role_exactly_the_outcome_in_the_table(api: Api,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    world = build_world(api)
    actual = run_matrix(api, world)
    expected = {(row[0], role): row[3 + i] for row in MATRIX for i, role in enumerate(ROLES)}
    mismatches = {key: f"expected {expected[key]!r}, got {actual[key]!r}" for key in expected
                  if actual[key] != expected[key]}
    with capsys.disabled():
        print(f"\npermission matrix: {len(MATRIX)} actions x {len(ROLES)} roles, {len(expected)} cases checked, "
              f"{len(mismatches)} wrong")
    assert mismatches == {}


def test_readers_and_guests_are_refused_every_write_action(api: Api) -> None:
    """Cross-check of the table: every row whose scope writes shows 20 for guest and reader."""
    writes = {name for name, spec in all_actions().items()
              if (spec.scope or "").endswith("_write") or name in ("add_webhook", "delete_webhook", "stop_timer")}
    for row in MATRIX:
        if row[0] in writes:
            outcomes = dict(zip(ROLES, row[3:], strict=True))
            assert (row[0], outcomes["guest"], outcomes["reader"]) == (row[0], "20", "20")
