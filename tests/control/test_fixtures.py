"""`POST /_localsection/fixtures`: the document, its answer, its errors (naming the path) and its atomicity."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from starlette.testclient import TestClient

from localsection.api.emulation import Emulation
from localsection.models import User
from localsection.passwords import verify_password
from tests.helpers import Api
from tests.webhook_receiver import running_receiver

DOCS = Path(__file__).resolve().parents[2] / "docs" / "control-api.md"


def docs_example() -> dict[str, Any]:
    """The complete example of docs/control-api.md (the JSON block under "A complete example")."""
    text = DOCS.read_text()
    section = text[text.index("### A complete example"):]
    block = re.search(r"```json\n(.*?)\n```", section, re.DOTALL)
    assert block is not None
    return json.loads(block.group(1))  # type: ignore[no-any-return]


def example_for(api: Api) -> dict[str, Any]:
    doc = docs_example()
    doc["account"] = api.account
    return doc


def load(ctl: TestClient, doc: dict[str, Any]) -> Any:
    return ctl.post("/_localsection/fixtures", json=doc)


def counts(api: Api) -> tuple[int, ...]:
    return (len(api.ok("get_users")), len(api.ok("get_projects")), len(api.ok("get_all_tasks")),
            len(api.ok("get_contacts")), len(api.ok("get_task_tags")), len(api.ok("get_user_groups")))


def all_keys(doc: dict[str, Any]) -> set[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("key"), str):
                found.add(node["key"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc["data"])
    return found


def test_the_documented_example_loads_and_answers_an_id_for_every_key(ctl: TestClient, acct: Api,
                                                                      emu: Emulation) -> None:
    doc = example_for(acct)
    resp = load(ctl, doc)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "ok"
    assert set(body["ids"]) == all_keys(doc) | {"owner"}
    ids = body["ids"]
    tasks = {t["id"]: t for t in acct.ok("get_all_tasks", extra="subtasks")}
    assert tasks[str(ids["home"])]["name"] == "Home page"
    assert [c["id"] for c in tasks[str(ids["home"])]["child"]] == [str(ids["hero"]), str(ids["footer"])]
    assert {u["email"]: u["id"] for u in acct.ok("get_users")}["kate@acme.test"] == str(ids["kate"])
    with acct.state.db.session(write=False) as s:
        kate, sam = s.get(User, ids["kate"]), s.get(User, ids["sam"])
        assert kate is not None and sam is not None
        assert verify_password(kate.password_hash, "kate-secret-1") and sam.password_hash is None


def test_a_yaml_body_loads_the_same(ctl: TestClient, acct: Api, emu: Emulation) -> None:
    doc = example_for(acct)
    resp = ctl.post("/_localsection/fixtures", content=yaml.safe_dump(doc).encode(),
                    headers={"Content-Type": "application/yaml"})
    assert resp.status_code == 200, resp.text
    assert set(resp.json()["ids"]) == all_keys(doc) | {"owner"}
    # YAML's own dates (unquoted) work too.
    text = (f"account: {acct.account}\ndata:\n  projects:\n    - {{key: p, title: Dated}}\n"
            "  tasks:\n    - {key: t, project: p, title: T, date_end: 2026-03-31}\n")
    resp = ctl.post("/_localsection/fixtures", content=text.encode(), headers={"Content-Type": "application/yaml"})
    assert resp.status_code == 200, resp.text
    task = acct.ok("get_task", id_task=resp.json()["ids"]["t"])
    assert task["date_end"] == "2026-03-31"


def test_bad_yaml_is_a_400_with_its_line(ctl: TestClient, acct: Api, emu: Emulation) -> None:
    resp = ctl.post("/_localsection/fixtures", content=b"account: x\ndata: [\n  - {",
                    headers={"Content-Type": "application/yaml"})
    assert resp.status_code == 400 and "not valid YAML (line" in resp.json()["message"]
    resp = ctl.post("/_localsection/fixtures", content=b"!!python/object:os.system {}",
                    headers={"Content-Type": "application/yaml"})
    assert resp.status_code == 400  # safe_load: no objects
    laughs = b"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\naccount: *b\n"
    resp = ctl.post("/_localsection/fixtures", content=laughs, headers={"Content-Type": "application/yaml"})
    assert resp.status_code == 400 and "aliases (*name) are not allowed" in resp.json()["message"]


def _bad(doc: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    node: Any = doc
    for step in path[:-1]:
        node = node[step]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


_DELETE = object()

ERRORS: list[tuple[list[Any], Any, str]] = [
    (["data", "tasks", 1, "executive"], "u9", 'data.tasks[1].executive: unknown key "u9"'),
    (["data", "tasks", 0, "subtasks", 0, "executive"], "site",
     'data.tasks[0].subtasks[0].executive: key "site" is a project (data.projects[0]), not a user'),
    (["data", "tasks", 0, "subtasks", 1, "key"], "home", 'data.tasks[0].subtasks[1].key: duplicate key "home" '
                                                         "(first at data.tasks[0])"),
    (["data", "users", 0, "key"], "owner", 'data.users[0].key: duplicate key "owner" (reserved)'),
    (["data", "tasks", 0, "priority"], 11, "data.tasks[0].priority: Input should be less than or equal to 10"),
    (["data", "tasks", 0, "priority"], "7", "data.tasks[0].priority: Input should be a valid integer"),
    (["data", "projects", 0, "colour"], "red", "data.projects[0].colour: unknown field"),
    (["data", "projects", 0, "title"], _DELETE, "data.projects[0].title: required field is missing"),
    (["data", "tasks", 0, "date_end"], "31.01.2026", "data.tasks[0].date_end: Input should be a valid date"),
    (["data", "tasks", 0, "tags", 0], "on-track",
     'data.tasks[0].tags[0]: tag "on-track" belongs to a project tag group, not a task one'),
    (["data", "users", 0, "role"], "boss", "data.users[0].role: Input should be"),
    (["data", "comments", 0, "files", 0, "base64"], "***", "data.comments[0].files[0].base64: not valid base64"),
    (["data", "comments", 0, "files", 0, "text"], "both",
     "data.comments[0].files[0]: Value error, give the content as exactly one of text or base64"),
    (["data", "costs", 0, "time"], "1:75", "data.costs[0]: Invalid time"),
    (["data", "users", 1, "email"], "not-an-email", "data.users[1]: Invalid email"),
    (["data", "timers", 0, "task"], "old-task", 'data.timers[0].task: unknown key "old-task"'),
    (["data", "nonsense"], [], "data.nonsense: unknown field"),
]


@pytest.mark.parametrize(("path", "value", "message"), ERRORS)
def test_an_error_is_a_400_naming_its_path_and_nothing_is_written(ctl: TestClient, acct: Api, emu: Emulation,
                                                                  path: list[Any], value: Any,
                                                                  message: str) -> None:
    before = counts(acct)
    resp = load(ctl, _bad(example_for(acct), path, value))
    assert resp.status_code == 400, resp.text
    assert resp.json()["status"] == "error"
    assert resp.json()["message"].startswith(message), resp.json()["message"]
    assert counts(acct) == before


def test_a_domain_refusal_late_in_the_document_rolls_everything_back(ctl: TestClient, acct: Api,
                                                                     emu: Emulation) -> None:
    doc = example_for(acct)
    # Carla is a guest: she may not run a timer (read-only role) - found only while creating, after the rest.
    doc["data"]["timers"] = [{"key": "t9", "user": "carla", "task": "footer"}]
    before = counts(acct)
    resp = load(ctl, doc)
    assert resp.status_code == 400, resp.text
    assert resp.json()["message"].startswith("data.timers[0]: ")
    assert counts(acct) == before
    assert acct.ok("get_costs") == []


def test_an_unknown_account_is_404_and_a_bad_body_400(ctl: TestClient, emu: Emulation) -> None:
    resp = load(ctl, {"account": "nosuch-acct", "data": {}})
    assert resp.status_code == 404 and "no account named nosuch-acct" in resp.json()["message"]
    assert load(ctl, {"data": {}}).json()["message"] == "account: required field is missing"
    assert ctl.post("/_localsection/fixtures", content=b"[1]").status_code == 400
    assert ctl.post("/_localsection/fixtures", content=b"{").status_code == 400


def test_an_oversized_body_is_413(ctl: TestClient, acct: Api, emu: Emulation) -> None:
    big = {"account": acct.account, "data": {"contacts": [], "pad": "x" * (9 * 1024 * 1024)}}
    resp = ctl.post("/_localsection/fixtures", content=json.dumps(big).encode())
    assert resp.status_code == 413


def test_webhooks_are_probed_and_registered_for_their_projects(ctl: TestClient, acct: Api,
                                                               emu: Emulation) -> None:
    with running_receiver() as receiver:
        doc = {"account": acct.account, "data": {
            "projects": [{"key": "p", "title": "Hooked"}],
            "webhooks": [{"key": "w", "url": receiver.url, "events": ["post_task", "close_task"],
                          "projects": ["p"], "http_user": "u", "http_pass": "secret"}]}}
        resp = load(ctl, doc)
        assert resp.status_code == 200, resp.text
        ids = resp.json()["ids"]
        assert [r.body for r in receiver.requests] == [b"[]"]  # the probe
        hooks = acct.ok("get_webhooks")
        assert [(h["id"], h["url"], h["events"], h["projects"]) for h in hooks] == [
            (str(ids["w"]), receiver.url, "post_task,close_task", str(ids["p"]))]
    # A URL that does not answer: 400 naming it, nothing written.
    doc["data"]["projects"][0]["key"] = "p2"
    doc["data"]["webhooks"][0].update(key="w2", projects=["p2"], url="http://127.0.0.1:9/none")
    resp = load(ctl, doc)
    assert resp.status_code == 400
    assert resp.json()["message"].startswith("data.webhooks[0].url: Url should respond 200")
    assert len(acct.ok("get_projects")) == 1


def test_the_documented_yaml_example_loads(ctl: TestClient, acct: Api, emu: Emulation) -> None:
    text = DOCS.read_text()
    block = re.search(r"```yaml\n(.*?)\n```", text, re.DOTALL)
    assert block is not None
    with running_receiver() as receiver:
        body = block.group(1).replace("account: acme", f"account: {acct.account}").replace(
            "http://127.0.0.1:5000/hook", receiver.url)
        resp = ctl.post("/_localsection/fixtures", content=body.encode(), headers={"Content-Type": "application/yaml"})
        assert resp.status_code == 200, resp.text
    ids = resp.json()["ids"]
    assert set(ids) == {"owner", "site", "home", "notes", "hook"}
    assert acct.ok("get_task", id_task=ids["home"])["date_end"] == "2026-01-31"
    assert [f["name"] for f in acct.ok("get_files", id_task=ids["home"])] == ["notes.txt"]


def test_the_schema_is_served_as_json_schema(ctl: TestClient, emu: Emulation) -> None:
    schema = ctl.get("/_localsection/fixtures/schema").json()
    assert schema["required"] == ["account", "data"] and schema["additionalProperties"] is False
    document = schema["$defs"]["Document"]["properties"]
    assert set(document) == {"teams", "users", "contacts", "tag_groups", "projects", "tasks", "comments", "costs",
                             "timers", "webhooks"}
