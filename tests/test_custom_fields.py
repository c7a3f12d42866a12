"""Custom fields: definitions via the CLI, the two list actions, values for extra=custom_fields."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from localsection import clock
from localsection.config import Settings
from localsection.db import Database
from localsection.domain import custom_fields as cf
from localsection.models import Account, CustomFieldValue, Project, Task
from localsection.render.custom_fields import custom_field_values
from tests.factories import make_project, make_task
from tests.helpers import Api


def _field(api: Api, applies_to: str, name: str, type_: str, *options: str, descr: str = "") -> str:
    with api.ctx() as ctx:
        return str(cf.create_field(ctx, applies_to=applies_to, name=name, type_=type_, descr=descr,
                                   options=list(options)).id)


def _set(api: Api, field: str, object_id: int, value: str) -> Any:
    with api.ctx() as ctx:
        return cf.set_value(ctx, field_id=int(field), object_id=object_id, value=value)


def _values(api: Api, applies_to: str, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    with api.ctx(write=False) as ctx:
        return custom_field_values(ctx, applies_to, ids)


# -- the list actions --------------------------------------------------------------------------------

def test_task_and_project_custom_fields_are_listed_separately_in_sdk_shape(api: Api) -> None:
    assert api.call("get_task_custom_fields") == {"status": "ok", "data": []}
    stage = _field(api, "task", "Stage", "select", "new", "old", descr="Where it is")
    budget = _field(api, "project", "Budget", "number")
    assert api.ok("get_task_custom_fields") == [
        {"id": stage, "type": "select", "name": "Stage", "descr": "Where it is", "options": ["new", "old"]}]
    assert api.ok("get_project_custom_fields") == [
        {"id": budget, "type": "number", "name": "Budget", "descr": "", "options": []}]


def test_custom_field_lists_need_the_tasks_or_projects_read_scope(api: Api) -> None:
    _field(api, "task", "Stage", "text")
    token = api.token(scopes=["projects_read"])
    body = api.user_call(token, "get_task_custom_fields")
    assert (body["status_code"], body["message_details"]) == (20, "tasks_read")
    assert api.user_call(token, "get_project_custom_fields") == {"_http": 200, "status": "ok", "data": []}
    assert api.user_call(api.token(scopes=["tasks_read"]), "get_task_custom_fields")["data"][0]["name"] == "Stage"


def test_custom_fields_of_one_account_are_invisible_to_another(api: Api, other: Api) -> None:
    field = _field(api, "task", "Secret", "text")
    assert other.ok("get_task_custom_fields") == []
    task = make_task(other, make_project(other))
    with pytest.raises(cf.CustomFieldError, match="no custom field"):
        _set(other, field, task, "x")
    mine = make_task(api, make_project(api))
    with pytest.raises(cf.CustomFieldError, match="no task"):
        _set(api, field, task, "x")
    _set(api, field, mine, "hello")
    assert _values(other, "task", [mine]) == {}


# -- values ------------------------------------------------------------------------------------------

def test_values_are_rendered_per_object_by_type_in_field_order(api: Api) -> None:
    api.add_user("kate.greenway@example.com")
    fields = {
        "text": _field(api, "task", "Note", "text"),
        "number": _field(api, "task", "Points", "number"),
        "date": _field(api, "task", "Due", "date"),
        "select": _field(api, "task", "Stage", "select", "new", "done"),
        "multi": _field(api, "task", "Areas", "multiselect", "ui", "api", "db"),
        "check": _field(api, "task", "Billable", "checkbox"),
        "user": _field(api, "task", "Reviewer", "user"),
        "link": _field(api, "task", "Spec", "link"),
        "decimal": _field(api, "task", "Ratio", "number"),
    }
    project = make_project(api)
    task, bare = make_task(api, project), make_task(api, project)
    inputs = {"text": "hello", "number": "13", "date": "31.12.2025", "select": "done", "multi": "db, ui",
              "check": "true", "user": "Kate.Greenway@example.com", "link": "https://example.com/spec",
              "decimal": "1,25"}
    for key, value in inputs.items():
        _set(api, fields[key], task, value)
    rows = _values(api, "task", [task, bare])
    assert set(rows) == {task}
    got = {r["name"]: (r["id"], r["type"], r["value"]) for r in rows[task]}
    assert [r["id"] for r in rows[task]] == sorted(fields.values(), key=int)
    assert got["Note"] == (fields["text"], "text", "hello")
    assert got["Points"][2] == 13 and isinstance(got["Points"][2], int)
    assert got["Ratio"][2] == 1.25
    assert got["Due"][2] == "2025-12-31"
    assert got["Stage"][2] == "done"
    assert got["Areas"][2] == ["db", "ui"]
    assert got["Billable"][2] == 1
    assert got["Reviewer"][2]["email"] == "kate.greenway@example.com"
    assert set(got["Reviewer"][2]) == {"id", "email", "name"}
    assert got["Spec"][2] == "https://example.com/spec"


def test_project_values_are_separate_from_task_values_and_an_empty_value_clears(api: Api) -> None:
    field = _field(api, "project", "Client code", "text")
    project = make_project(api)
    assert _set(api, field, project, "ACME-1") == "ACME-1"
    assert _values(api, "project", [project])[project][0]["value"] == "ACME-1"
    assert _values(api, "task", [project]) == {}
    assert _set(api, field, project, "") is None
    assert _values(api, "project", [project]) == {}


@pytest.mark.parametrize(("type_", "options", "value", "message"), [
    ("select", ["a", "b"], "c", "not an option"),
    ("multiselect", ["a", "b"], "a,z", "not an option"),
    ("number", [], "twelve", "not a valid number"),
    ("date", [], "31.02.2025", "not a valid date"),
    ("checkbox", [], "maybe", "not a checkbox value"),
    ("user", [], "nobody@example.com", "no active user"),
    ("link", [], "ftp://x", "not an http"),
])
def test_invalid_values_are_refused_and_keep_the_old_value(api: Api, type_: str, options: list[str], value: str,
                                                           message: str) -> None:
    field = _field(api, "task", "F", type_, *options)
    task = make_task(api, make_project(api))
    good = {"select": "a", "multiselect": "b", "number": "1", "date": "2025-01-02", "checkbox": "0",
            "user": api.owner_email, "link": "http://x.example"}[type_]
    _set(api, field, task, good)
    with pytest.raises(cf.CustomFieldError, match=message):
        _set(api, field, task, value)
    with api.state.db.session(write=False) as s:
        assert s.scalars(select(CustomFieldValue).where(CustomFieldValue.object_id == task)).one() is not None


@pytest.mark.parametrize(("applies_to", "type_", "options", "message"), [
    ("task", "colour", [], "--type must be one of"),
    ("comment", "text", [], "--for must be one of"),
    ("task", "select", [], "needs at least one --option"),
    ("task", "text", ["a"], "only for select and multiselect"),
])
def test_invalid_definitions_are_refused(api: Api, applies_to: str, type_: str, options: list[str],
                                         message: str) -> None:
    with pytest.raises(cf.CustomFieldError, match=message):
        _field(api, applies_to, "F", type_, *options)
    assert api.ok("get_task_custom_fields") == []


# -- the CLI (a real process, SQLite in a temporary data folder) -------------------------------------

class Cli:
    def __init__(self, data_dir: Path) -> None:
        self.env = {**os.environ, "LOCALSECTION_DATA_DIR": str(data_dir)}
        self.env.pop("LOCALSECTION_DATABASE_URL", None)
        self.data_dir = data_dir

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "localsection", *args], env=self.env, capture_output=True,
                              text=True, timeout=120)

    def ok(self, *args: str) -> str:
        out = self.run(*args)
        assert out.returncode == 0, out.stderr
        return out.stdout


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    runner = Cli(tmp_path_factory.mktemp("cf-cli"))
    runner.ok("init", "--json")
    yield runner


def _insert_task(cli: Cli) -> tuple[str, int]:
    db = Database(Settings(data_dir=cli.data_dir))
    try:
        with db.session() as s:
            account = s.scalars(select(Account)).one()
            assert account.owner_id is not None
            p = Project(account_id=account.id, name="P", status="active", user_from_id=account.owner_id,
                        options={}, date_added=clock.now())
            s.add(p)
            s.flush()
            t = Task(account_id=account.id, project_id=p.id, name="T", name_folded="t", status="active",
                     user_from_id=account.owner_id, date_added=clock.now(), todo=[], mentions=[])
            s.add(t)
            s.flush()
            return account.name, t.id
    finally:
        db.dispose()


def test_cli_creates_lists_and_sets_custom_fields(cli: Cli) -> None:
    account, task = _insert_task(cli)
    created = json.loads(cli.ok("custom-fields", "create", "--account", account, "--for", "task", "--name",
                                "Stage", "--type", "select", "--option", "new", "--option", "done",
                                "--descr", "Where it is", "--json"))
    assert created == {"id": created["id"], "type": "select", "name": "Stage", "descr": "Where it is",
                       "options": ["new", "done"], "for": "task"}
    cli.ok("custom-fields", "create", "--account", account, "--for", "project", "--name", "Budget",
           "--type", "number")
    listed = json.loads(cli.ok("custom-fields", "list", "--account", account, "--json"))
    assert [(f["for"], f["name"]) for f in listed] == [("task", "Stage"), ("project", "Budget")]
    assert "Stage" in cli.ok("custom-fields", "list", "--account", account)
    bad = cli.run("custom-fields", "set", "--account", account, "--field", created["id"], "--object", str(task),
                  "--value", "archived")
    assert bad.returncode != 0 and "'archived' is not an option of Stage" in bad.stderr
    out = cli.ok("custom-fields", "set", "--account", account, "--field", created["id"], "--object", str(task),
                 "--value", "done", "--json")
    assert json.loads(out) == {"field": created["id"], "object": str(task), "value": "done"}


def test_cli_refuses_bad_types_and_unknown_accounts_with_a_clear_message(cli: Cli) -> None:
    bad = cli.run("custom-fields", "create", "--account", "localsection", "--for", "task", "--name", "X",
                  "--type", "colour")
    assert bad.returncode != 0
    assert "--type must be one of: text, number, date, select, multiselect, checkbox, user, link" in bad.stderr
    missing = cli.run("custom-fields", "list", "--account", "no-such-account")
    assert missing.returncode != 0 and "no account named no-such-account" in missing.stderr
