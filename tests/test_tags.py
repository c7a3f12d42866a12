"""Tags and tag groups of tasks and projects (PROTOCOL.md §4.5)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import select

from localsection.ctx import Ctx
from localsection.models import Event
from tests.factories import make_project, make_task
from tests.helpers import Api


def _group(api: Api, kind: str = "task", title: str = "Workflow", type_: str = "status",
           access: str = "public") -> dict[str, Any]:
    params: dict[str, Any] = {"title": title, "access": access}
    if kind == "task" or type_ != "":
        params["type"] = type_
    data = api.ok(f"add_{kind}_tag_groups", **params)
    assert isinstance(data, list)
    return data[0]  # type: ignore[no-any-return]


def _tags(api: Api, group: str, *titles: str, kind: str = "task") -> dict[str, int]:
    data = api.ok(f"add_{kind}_tags", group=group, title=",".join(titles))
    return {t["title"]: t["id"] for t in data}


def _task_tags(api: Api, task_id: int) -> dict[str, str]:
    with api.state.db.session(write=False) as s:
        from localsection.models import Tag, TaskTag

        rows = s.execute(select(Tag.id, Tag.title).join(TaskTag, TaskTag.tag_id == Tag.id)
                         .where(TaskTag.task_id == task_id)).all()
        return {str(i): t for i, t in rows}


def _project_tags(api: Api, project_id: int) -> dict[str, str]:
    with api.state.db.session(write=False) as s:
        from localsection.models import ProjectTag, Tag

        rows = s.execute(select(Tag.id, Tag.title).join(ProjectTag, ProjectTag.tag_id == Tag.id)
                         .where(ProjectTag.project_id == project_id)).all()
        return {str(i): t for i, t in rows}


@contextmanager
def ctx_for(api: Api, email: str | None = None) -> Iterator[Ctx]:
    """An action context for a user of the account (the owner via the admin key when no e-mail)."""
    with api.ctx(email, write=False) as ctx:
        yield ctx


def _client_token(api: Api, email: str = "client@example.com") -> str:
    api.ok("add_user_group", title="Clients Inc", client=1)
    api.add_user(email, group="Clients Inc")
    return api.token(email)


# -- groups ----------------------------------------------------------------------------------------

def test_task_tag_groups_are_created_and_listed_with_integer_ids(api: Api) -> None:
    data = api.ok("add_task_tag_groups", type="label", access="public", title="Development, Marketing")
    assert [g["title"] for g in data] == ["Development", "Marketing"]
    assert all(isinstance(g["id"], int) for g in data)
    assert data[0] == {"title": "Development", "id": data[0]["id"], "type": "label", "access": "public"}
    listed = api.ok("get_task_tag_groups")
    assert [g["title"] for g in listed] == ["Development", "Marketing"]


def test_status_groups_are_always_public_and_listed_before_labels(api: Api) -> None:
    _group(api, title="Labels", type_="label", access="private")
    status = _group(api, title="Stages", type_="status", access="private")
    assert status["access"] == "public"
    assert [g["title"] for g in api.ok("get_task_tag_groups")] == ["Stages", "Labels"]


def test_adding_an_existing_group_title_returns_the_existing_group(api: Api) -> None:
    first = _group(api, title="Sales", type_="status")
    again = api.ok("add_task_tag_groups", type="label", access="private", title="sales")
    assert again == [first]
    assert len(api.ok("get_task_tag_groups")) == 1


def test_tag_group_lists_filter_by_type_and_access(api: Api) -> None:
    _group(api, title="Stages", type_="status")
    _group(api, title="Secret", type_="label", access="private")
    _group(api, title="Open", type_="label")
    assert [g["title"] for g in api.ok("get_task_tag_groups", type="label")] == ["Secret", "Open"]
    assert [g["title"] for g in api.ok("get_task_tag_groups", access="private")] == ["Secret"]
    assert [g["title"] for g in api.ok("get_task_tag_groups", type="status", access="public")] == ["Stages"]


@pytest.mark.parametrize(("params", "details"), [
    ({"type": "label", "access": "public"}, "title"),
    ({"type": "label", "access": "public", "title": " , "}, "title"),
    ({"access": "public", "title": "X"}, "type"),
    ({"type": "colour", "access": "public", "title": "X"}, "type"),
    ({"type": "label", "title": "X"}, "access"),
    ({"type": "label", "access": "secret", "title": "X"}, "access"),
])
def test_add_task_tag_groups_reports_the_missing_or_bad_field(api: Api, params: dict[str, str],
                                                              details: str) -> None:
    body = api.error("add_task_tag_groups", **params)
    assert (body["status_code"], body["message"], body["message_details"]) == (10, "Field is required", details)
    assert api.ok("get_task_tag_groups") == []


def test_project_tag_groups_have_an_empty_type_unless_one_is_given(api: Api) -> None:
    data = api.ok("add_project_tag_groups", access="public", title="Budget level, Devs number")
    assert [(g["title"], g["type"], g["access"]) for g in data] == [
        ("Budget level", "", "public"), ("Devs number", "", "public")]
    status = api.ok("add_project_tag_groups", access="private", title="Project status", type="status")[0]
    assert (status["type"], status["access"]) == ("status", "public")
    assert [g["title"] for g in api.ok("get_project_tag_groups", type="label")] == ["Budget level", "Devs number"]
    assert api.error("add_project_tag_groups", title="X")["message_details"] == "access"
    assert api.error("add_project_tag_groups", access="public", title="")["message_details"] == "title"


def test_task_and_project_tag_groups_are_separate(api: Api) -> None:
    _group(api, kind="task", title="Shared name")
    assert api.ok("get_project_tag_groups") == []
    project_group = _group(api, kind="project", title="Shared name", type_="")
    assert project_group["type"] == ""
    assert len(api.ok("get_task_tag_groups")) == 1


# -- tags --------------------------------------------------------------------------------------------

def test_tags_are_added_to_a_group_by_title_or_id_and_duplicates_return_the_existing_tag(api: Api) -> None:
    group = _group(api, title="Development", type_="label")
    created = api.ok("add_task_tags", group="Development", title="bug, feature,design")
    assert [t["title"] for t in created] == ["bug", "feature", "design"]
    assert all(set(t) == {"title", "id"} and isinstance(t["id"], int) for t in created)
    again = api.ok("add_task_tags", group=str(group["id"]), title="Bug,review")
    assert again[0] == created[0]
    assert again[1]["title"] == "review"
    assert len(api.ok("get_task_tags")) == 4


def test_add_task_tags_requires_a_known_group_and_titles(api: Api) -> None:
    body = api.error("add_task_tags", title="x")
    assert (body["status_code"], body["message_details"]) == (10, "group (id or title)")
    body = api.error("add_task_tags", group="", title="")
    assert body["message_details"] == "group (id or title)"
    _group(api, title="G", type_="label")
    assert api.error("add_task_tags", group="G")["message_details"] == "title"
    body = api.error("add_task_tags", group="Nope", title="x")
    assert (body["status_code"], body["message"], body["message_details"]) == (16, "Tag group is invalid", "Nope")
    assert api.error("add_project_tags", group="G", title="x")["status_code"] == 16  # a task group only


def test_get_tags_returns_the_group_of_each_tag_and_filters(api: Api) -> None:
    stages = _group(api, title="Basic workflow", type_="status")
    _group(api, title="Labels", type_="label", access="private")
    _tags(api, "Basic workflow", "To-do", "Done")
    _tags(api, "Labels", "urgent")
    rows = api.ok("get_task_tags", group="Basic workflow")
    assert [r["title"] for r in rows] == ["To-do", "Done"]
    assert rows[0]["group"] == {"title": "Basic workflow", "id": stages["id"], "id_group": str(stages["id"]),
                                "type": "status", "access": "public"}
    assert [r["title"] for r in api.ok("get_task_tags", group=str(stages["id"]))] == ["To-do", "Done"]
    assert [r["title"] for r in api.ok("get_task_tags", type="label")] == ["urgent"]
    assert [r["title"] for r in api.ok("get_task_tags", access="public")] == ["To-do", "Done"]
    assert api.error("get_task_tags", group="Unknown")["status_code"] == 16


# -- update_task_tags / update_project_tags ------------------------------------------------------------

def test_update_task_tags_adds_and_removes_by_name_or_id(api: Api) -> None:
    _group(api, title="Labels", type_="label")
    ids = _tags(api, "Labels", "deployed", "feature", "doing")
    task = make_task(api, make_project(api))
    assert api.call("update_task_tags", id_task=task, plus="doing") == {"status": "ok"}
    api.ok("update_task_tags", id_task=task, plus=f"deployed,{ids['feature']}", minus="doing")
    assert _task_tags(api, task) == {str(ids["deployed"]): "deployed", str(ids["feature"]): "feature"}
    api.ok("update_task_tags", id_task=str(task), plus="", minus=[ids["deployed"]])
    assert _task_tags(api, task) == {str(ids["feature"]): "feature"}


def test_a_status_group_holds_one_tag_per_task(api: Api) -> None:
    _group(api, title="Workflow", type_="status")
    _group(api, title="Labels", type_="label")
    ids = _tags(api, "Workflow", "To-do", "In progress", "Done")
    labels = _tags(api, "Labels", "a", "b")
    task = make_task(api, make_project(api))
    api.ok("update_task_tags", id_task=task, plus="To-do,a,b")
    api.ok("update_task_tags", id_task=task, plus="In progress")
    assert set(_task_tags(api, task).values()) == {"In progress", "a", "b"}
    api.ok("update_task_tags", id_task=task, plus=f"{ids['Done']},{ids['To-do']}")
    assert _task_tags(api, task) == {str(labels["a"]): "a", str(labels["b"]): "b", str(ids["To-do"]): "To-do"}


def test_update_task_tags_refuses_unknown_tags_and_changes_nothing(api: Api) -> None:
    _group(api, title="Labels", type_="label")
    _tags(api, "Labels", "real")
    task = make_task(api, make_project(api))
    body = api.error("update_task_tags", id_task=task, plus="real,docs")
    assert (body["status_code"], body["message"], body["message_details"]) == (16, "Tag is invalid", "docs")
    assert api.error("update_task_tags", id_task=task, minus="99999999")["message_details"] == "99999999"
    assert _task_tags(api, task) == {}


def test_update_task_tags_refuses_unknown_or_missing_tasks(api: Api) -> None:
    body = api.error("update_task_tags", plus="x")
    assert (body["status_code"], body["message_details"]) == (10, "id_task")
    assert api.error("update_task_tags", id_task=999999999)["status_code"] == 5
    assert api.error("update_task_tags", id_task="abc")["status_code"] == 5


def test_task_tags_cannot_be_put_on_projects_and_vice_versa(api: Api) -> None:
    _group(api, kind="task", title="T", type_="label")
    _tags(api, "T", "task-only")
    project = make_project(api)
    assert api.error("update_project_tags", id_project=project, plus="task-only")["status_code"] == 16


def test_update_task_tags_records_an_update_event_with_old_and_new_tags(api: Api) -> None:
    _group(api, title="Labels", type_="label")
    ids = _tags(api, "Labels", "one", "two")
    project = make_project(api)
    top = make_task(api, project)
    sub = make_task(api, project, parent_id=top)
    api.ok("update_task_tags", id_task=sub, plus="one")
    api.ok("update_task_tags", id_task=sub, plus="two", minus="one")
    api.ok("update_task_tags", id_task=sub, plus="two")  # no change, no event
    with api.state.db.session(write=False) as s:
        rows = list(s.scalars(select(Event).where(Event.account_id == api.account_id).order_by(Event.id)))
    assert [(e.action, e.object_type, e.object_id, e.page) for e in rows] == [
        ("update", "task", sub, f"/project/{project}/{top}/{sub}/")] * 2
    assert rows[1].old == {"tags": {str(ids["one"]): "one"}}
    assert rows[1].new == {"tags": {str(ids["two"]): "two"}}


def test_update_project_tags_works_like_task_tags_and_logs_a_project_event(api: Api) -> None:
    api.ok("add_project_tag_groups", access="public", title="Project status", type="status")
    api.ok("add_project_tag_groups", access="public", title="Finance")
    stages = _tags(api, "Project status", "Backlog", "In progress", kind="project")
    money = _tags(api, "Finance", "paid", "bill", kind="project")
    project = make_project(api)
    api.ok("update_project_tags", id_project=project, plus="Backlog, bill")
    api.ok("update_project_tags", id_project=project, plus="In progress,paid", minus="bill")
    assert _project_tags(api, project) == {str(stages["In progress"]): "In progress",
                                           str(money["paid"]): "paid"}
    body = api.error("update_project_tags", id_project=project, plus="declined")
    assert (body["status_code"], body["message_details"]) == (16, "declined")
    assert api.error("update_project_tags", id_project=999999999)["status_code"] == 4
    assert api.error("update_project_tags")["message_details"] == "id_project"
    with api.state.db.session(write=False) as s:
        rows = list(s.scalars(select(Event).where(Event.account_id == api.account_id)))
    assert [(e.action, e.object_type, e.page) for e in rows] == [("update", "project", f"/project/{project}/")] * 2


# -- visibility, roles and isolation ---------------------------------------------------------------

def test_private_groups_and_their_tags_are_invisible_to_client_team_users(api: Api) -> None:
    _group(api, title="Public", type_="label")
    _group(api, title="Secret", type_="label", access="private")
    _tags(api, "Public", "open")
    secret = _tags(api, "Secret", "hidden")
    token = _client_token(api)
    groups = api.user_call(token, "get_task_tag_groups")
    assert [g["title"] for g in groups["data"]] == ["Public"]
    assert [t["title"] for t in api.user_call(token, "get_task_tags")["data"]] == ["open"]
    assert api.user_call(token, "get_task_tags", group="Secret")["status_code"] == 16
    assert api.user_call(token, "add_task_tags", group="Secret", title="x")["status_code"] == 16
    assert api.user_call(token, "add_task_tag_groups", type="label", access="public",
                         title="secret")["status_code"] == 16
    assert [g["title"] for g in api.ok("get_task_tag_groups")] == ["Public", "Secret"]
    assert str(secret["hidden"]) in {str(t["id"]) for t in api.ok("get_task_tags")}


def test_client_team_users_cannot_set_or_remove_private_tags(api: Api) -> None:
    _group(api, title="Public", type_="label")
    _group(api, title="Secret", type_="label", access="private")
    _tags(api, "Public", "open")
    secret = _tags(api, "Secret", "hidden")
    token = _client_token(api)
    client_id = int(api.ok("get_users")[-1]["id"])
    task = make_task(api, make_project(api, members=[client_id]))
    api.ok("update_task_tags", id_task=task, plus="hidden")
    assert api.user_call(token, "update_task_tags", id_task=task, plus="hidden")["status_code"] == 16
    assert api.user_call(token, "update_task_tags", id_task=task, minus=str(secret["hidden"]))["status_code"] == 16
    assert api.user_call(token, "update_task_tags", id_task=task, plus="open")["status"] == "ok"
    assert set(_task_tags(api, task).values()) == {"hidden", "open"}


def test_tag_reads_and_writes_need_the_tags_scopes(api: Api) -> None:
    token = api.token(scopes=["tasks_read"])
    assert api.user_call(token, "get_task_tags") == {"_http": 200, "status": "error", "status_code": 20,
                                                     "message": "Access denied", "message_details": "tags_read"}
    assert api.user_call(token, "add_task_tag_groups", type="label", access="public",
                         title="x")["message_details"] == "tags_write"
    reader = api.token(scopes=["tags_read"])
    assert api.user_call(reader, "get_project_tag_groups")["data"] == []


def test_guests_cannot_create_tags(api: Api) -> None:
    api.add_user("guest@example.com", role="guest")
    token = api.token("guest@example.com")
    body = api.user_call(token, "add_task_tag_groups", type="label", access="public", title="x")
    assert body["status_code"] == 20
    assert api.ok("get_task_tag_groups") == []


def test_users_cannot_tag_tasks_of_projects_they_cannot_see(api: Api) -> None:
    _group(api, title="L", type_="label")
    _tags(api, "L", "x")
    api.add_user("worker@example.com")
    token = api.token("worker@example.com")
    task = make_task(api, make_project(api))
    assert api.user_call(token, "update_task_tags", id_task=task, plus="x")["status_code"] == 5
    project = make_project(api)
    assert api.user_call(token, "update_project_tags", id_project=project, plus="x")["status_code"] == 4


def test_accounts_never_see_or_use_each_others_tags(api: Api, other: Api) -> None:
    group = _group(api, title="Mine", type_="label")
    ids = _tags(api, "Mine", "private-tag")
    assert other.ok("get_task_tag_groups") == []
    assert other.ok("get_task_tags") == []
    assert other.error("add_task_tags", group=str(group["id"]), title="x")["status_code"] == 16
    other_task = make_task(other, make_project(other))
    assert other.error("update_task_tags", id_task=other_task, plus=str(ids["private-tag"]))["status_code"] == 16
    mine = make_task(api, make_project(api))
    assert other.error("update_task_tags", id_task=mine, plus="x")["status_code"] == 5


def test_update_tags_accepts_form_encoded_query_parameters(api: Api) -> None:
    _group(api, title="Labels", type_="label")
    _tags(api, "Labels", "deployed", "feature")
    task = make_task(api, make_project(api))
    body = api.md5_get(f"action=update_task_tags&id_task={task}&plus=deployed,feature&minus=")
    assert body == {"status": "ok"}
    assert set(_task_tags(api, task).values()) == {"deployed", "feature"}


def test_object_tags_renders_the_tags_object_without_private_tags_for_clients(api: Api) -> None:
    from localsection.read.tags import object_tags

    _group(api, title="Public", type_="label")
    _group(api, title="Secret", type_="label", access="private")
    pub = _tags(api, "Public", "open")
    sec = _tags(api, "Secret", "hidden")
    _client_token(api)
    project = make_project(api)
    t1, t2 = make_task(api, project), make_task(api, project)
    api.ok("update_task_tags", id_task=t1, plus="open,hidden")
    with ctx_for(api) as ctx:
        assert object_tags(ctx, "task", [t1, t2]) == {t1: {str(pub["open"]): "open", str(sec["hidden"]): "hidden"}}
    with ctx_for(api, "client@example.com") as ctx:
        assert object_tags(ctx, "task", [t1, t2]) == {t1: {str(pub["open"]): "open"}}
