"""Tasks and subtasks: get_all_tasks, get_tasks, get_task, post_task, update_task, complete_task, reopen_task."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from localsection import clock
from localsection.models import Cost, Event, Tag, TagGroup, Task, TaskRelation, TaskSubscriber, TaskVisibility
from tests.factories import make_comment, make_project, make_task
from tests.helpers import Api

ALL_EXTRAS = "text,files,comments,relations,subtasks,subscribers"


def events_of(api: Api, object_type: str = "task") -> list[Event]:
    with api.state.db.session(write=False) as s:
        return list(s.scalars(select(Event).where(Event.account_id == api.account_id,
                                                  Event.object_type == object_type).order_by(Event.id)))


def task_count(api: Api) -> int:
    with api.state.db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(Task).where(Task.account_id == api.account_id)) or 0)


def task_row(api: Api, task_id: int | str) -> Task:
    with api.state.db.session(write=False) as s:
        row = s.get(Task, int(task_id))
        assert row is not None
        return row


def make_tags(api: Api, *titles: str) -> dict[str, int]:
    with api.state.db.session() as s:
        group = TagGroup(account_id=api.account_id, applies_to="task", title="Stage", type="label",
                         access="public")
        s.add(group)
        s.flush()
        tags = [Tag(account_id=api.account_id, group_id=group.id, title=t) for t in titles]
        s.add_all(tags)
        s.flush()
        return {t.title: t.id for t in tags}


def member_token(api: Api, email: str, project_ids: list[int]) -> tuple[str, str]:
    """A user who is a member of the given projects, and an access token for them."""
    from localsection.models import ProjectMember

    user = api.add_user(email)
    with api.state.db.session() as s:
        for pid in project_ids:
            s.add(ProjectMember(project_id=pid, user_id=int(user["id"])))
    return user["id"], api.token(email)


# -- post_task ---------------------------------------------------------------------------------------

def test_post_task_with_only_a_title_returns_the_minimal_task_of_the_postman_example(api: Api) -> None:
    pid = make_project(api, "Performance improvement")
    task = api.ok("post_task", id_project=pid, title="Template creation")
    assert list(task) == ["id", "name", "page", "status", "priority", "user_from", "user_to", "project",
                          "date_added"]
    assert task["page"] == f"/project/{pid}/{task['id']}/"
    assert task["status"] == "active" and task["priority"] == "1"
    assert task["user_to"] == {"id": "1", "email": "NOONE", "name": "Executive isn't assigned"}
    assert task["user_from"]["email"] == api.owner_email
    assert task["project"] == {"id": str(pid), "name": "Performance improvement", "page": f"/project/{pid}/"}


def test_post_task_renders_checklist_and_mentions_into_the_text(api: Api) -> None:
    pid = make_project(api)
    api.add_user("frank.harper@example.com", first_name="Frank", last_name="Harper")
    api.add_user("kate.greenway@example.com", first_name="Kate", last_name="Greenway")
    task = api.ok("post_task", id_project=pid, title="Template prototype", text="Take previous prototype",
                  todo=["draft", "first version"], mention="frank.harper@example.com, kate.greenway@example.com",
                  extra="text")
    assert task["text"] == "Take previous prototype\r\n• draft\r\n• first version Frank Harper, Kate Greenway"


def test_post_task_accepts_todo_as_repeated_query_params(api: Api) -> None:
    pid = make_project(api)
    body = api.md5_get(f"action=post_task&id_project={pid}&title=T&text=Do&todo[]=draft&todo[]=final&extra=text")
    assert body["status"] == "ok", body
    assert body["data"]["text"] == "Do\r\n• draft\r\n• final"


def test_post_subtask_has_parent_and_sub_subtask_page_skips_the_middle_level(api: Api) -> None:
    pid = make_project(api)
    top = api.ok("post_task", id_project=pid, title="Top", priority=10)
    sub = api.ok("post_task", id_project=pid, title="Sub", id_parent=top["id"])
    subsub = api.ok("post_task", id_project=pid, title="SubSub", id_parent=sub["id"])
    assert sub["parent"] == {"id": top["id"], "name": "Top", "page": top["page"], "status": "active",
                             "priority": "10"}
    assert sub["page"] == f"/project/{pid}/{top['id']}/{sub['id']}/"
    assert subsub["page"] == f"/project/{pid}/{top['id']}/{subsub['id']}/"
    assert subsub["parent"]["id"] == sub["id"]


def test_post_task_below_a_sub_subtask_is_refused_with_5(api: Api) -> None:
    pid = make_project(api)
    top = make_task(api, pid, "Top")
    sub = make_task(api, pid, "Sub", parent_id=top)
    subsub = make_task(api, pid, "SubSub", parent_id=sub)
    before = task_count(api)
    assert api.error("post_task", id_project=pid, title="Too deep", id_parent=subsub)["status_code"] == 5
    assert task_count(api) == before


def test_post_task_under_a_done_parent_is_refused_with_8(api: Api) -> None:
    pid = make_project(api)
    parent = make_task(api, pid, "Done", status="done")
    body = api.error("post_task", id_project=pid, title="Dev workflow", id_parent=parent)
    assert (body["status_code"], body["message"]) == (8, "Task is closed")


def test_post_task_with_a_parent_of_another_project_is_refused_with_5(api: Api) -> None:
    p1, p2 = make_project(api, "A"), make_project(api, "B")
    parent = make_task(api, p2, "Elsewhere")
    assert api.error("post_task", id_project=p1, title="x", id_parent=parent)["status_code"] == 5


def test_post_task_stores_every_optional_field(api: Api) -> None:
    pid = make_project(api)
    api.add_user("frank.harper@example.com", first_name="Frank", last_name="Harper")
    tags = make_tags(api, "to-do", "design")
    task = api.ok("post_task", id_project=pid, title="Full", email_user_to="frank.harper@example.com",
                  priority=2, datestart="15.01.2021", dateend="2021-01-17", max_time="15", max_money="165,5",
                  tags="to-do, design", subscribe="frank.harper@example.com", extra="subscribers")
    assert task["user_to"]["email"] == "frank.harper@example.com"
    assert task["priority"] == "2"
    assert (task["date_start"], task["date_end"]) == ("2021-01-15", "2021-01-17")
    assert (task["max_time"], task["max_money"]) == (15, 165.5)
    assert task["tags"] == {str(tags["to-do"]): "to-do", str(tags["design"]): "design"}
    assert [u["email"] for u in task["subscribers"]] == ["frank.harper@example.com"]


@pytest.mark.parametrize(("word", "expected"), [("low", "1"), ("normal", "5"), ("high", "10"), ("42", "10"),
                                                ("0", "0")])
def test_post_task_accepts_priority_words_and_clamps_numbers(api: Api, word: str, expected: str) -> None:
    pid = make_project(api)
    assert api.ok("post_task", id_project=pid, title="p", priority=word)["priority"] == expected


def test_post_task_assigns_anyone_or_nobody_when_asked(api: Api) -> None:
    pid = make_project(api)
    assert api.ok("post_task", id_project=pid, title="a", email_user_to="ANY")["user_to"] == {
        "id": "2", "email": "ANY", "name": "Anyone"}
    assert api.ok("post_task", id_project=pid, title="n", email_user_to="NOONE")["user_to"]["id"] == "1"


def test_post_task_defaults_the_executive_to_the_projects_default_executive(api: Api) -> None:
    user = api.add_user("exec@example.com")
    pid = make_project(api, executive_id=int(user["id"]))
    any_pid = make_project(api, "Any", executive_any=True)
    assert api.ok("post_task", id_project=pid, title="t")["user_to"]["email"] == "exec@example.com"
    assert api.ok("post_task", id_project=any_pid, title="t")["user_to"]["email"] == "ANY"


def test_post_task_honours_email_user_from_with_the_admin_key(api: Api) -> None:
    pid = make_project(api)
    api.add_user("author@example.com")
    task = api.ok("post_task", id_project=pid, title="t", email_user_from="author@example.com")
    assert task["user_from"]["email"] == "author@example.com"


def test_post_task_ignores_email_user_from_for_a_token_user(api: Api) -> None:
    pid = make_project(api)
    api.add_user("someone@example.com")
    _, token = member_token(api, "writer@example.com", [pid])
    body = api.user_call(token, "post_task", id_project=pid, title="t", email_user_from="someone@example.com")
    assert body["data"]["user_from"]["email"] == "writer@example.com"


@pytest.mark.parametrize(("params", "code", "details"), [
    ({"title": "x"}, 10, "id_project"),
    ({"id_project": "PID"}, 10, "title"),
    ({"id_project": "999999999", "title": "x"}, 4, None),
    ({"id_project": "PID", "title": "x", "email_user_to": "nobody@example.com"}, 11, "nobody@example.com"),
    ({"id_project": "PID", "title": "x", "subscribe": "a@example.com,nobody@example.com"}, 11, "a@example.com"),
    ({"id_project": "PID", "title": "x", "tags": "no-such-tag"}, 16, "no-such-tag"),
    ({"id_project": "PID", "title": "x", "datestart": "31.02.2021"}, 11, "datestart"),
    ({"id_project": "PID", "title": "x", "id_parent": "999999999"}, 5, None),
])
def test_post_task_refuses_bad_input_and_creates_nothing(api: Api, params: dict[str, str], code: int,
                                                         details: str | None) -> None:
    pid = make_project(api)
    params = {k: (str(pid) if v == "PID" else v) for k, v in params.items()}
    body = api.error("post_task", **params)
    assert body["status_code"] == code
    if details is not None:
        assert body["message_details"] == details
    assert task_count(api) == 0
    assert events_of(api) == []


def test_post_task_in_another_accounts_project_is_refused_with_4(api: Api, other: Api) -> None:
    foreign = make_project(other, "Theirs")
    assert api.error("post_task", id_project=foreign, title="x")["status_code"] == 4
    assert task_count(other) == 0


def test_post_task_with_hidden_makes_it_visible_only_to_listed_users_and_the_author(api: Api) -> None:
    pid = make_project(api)
    _, seer_token = member_token(api, "seer@example.com", [pid])
    _, blind_token = member_token(api, "blind@example.com", [pid])
    task = api.ok("post_task", id_project=pid, title="Secret", hidden="seer@example.com")
    assert api.user_call(seer_token, "get_task", id_task=task["id"])["status"] == "ok"
    body = api.user_call(blind_token, "get_task", id_task=task["id"])
    assert (body["status"], body["status_code"]) == ("error", 5)
    assert api.user_call(blind_token, "get_tasks", id_project=pid)["data"] == []
    assert [t["id"] for t in api.user_call(seer_token, "get_all_tasks")["data"]] == [task["id"]]
    with api.state.db.session(write=False) as s:
        assert s.scalar(select(func.count()).select_from(TaskVisibility)
                        .where(TaskVisibility.task_id == int(task["id"]))) == 1


def test_post_task_records_a_post_event_with_the_given_fields(api: Api) -> None:
    pid = make_project(api)
    task = api.ok("post_task", id_project=pid, title="Evented", priority=3, dateend="01.02.2021",
                  email_user_to="ANY", text="Hello")
    [event] = events_of(api)
    assert (event.action, event.object_id, event.page, event.project_id) == ("post", int(task["id"]),
                                                                             task["page"], pid)
    assert event.new == {"title": "Evented", "priority": "3", "user_to": {"id": "2", "email": "ANY",
                                                                          "name": "Anyone"},
                         "text": "Hello", "date_end": "2021-02-01"}


def test_post_subtask_alias_creates_a_subtask(api: Api) -> None:
    pid = make_project(api)
    top = make_task(api, pid, "Top")
    sub = api.ok("post_subtask", id_project=pid, title="Sub", id_parent=top)
    assert sub["parent"]["id"] == str(top)


def test_post_task_is_allowed_in_an_archived_project(api: Api) -> None:
    pid = make_project(api, status="archive")
    assert api.ok("post_task", id_project=pid, title="Late")["name"] == "Late"


def test_post_task_keeps_the_casefolded_name_for_search(api: Api) -> None:
    pid = make_project(api)
    task = api.ok("post_task", id_project=pid, title="Straße REPORT")
    assert task_row(api, task["id"]).name_folded == "strasse report"


# -- lists -------------------------------------------------------------------------------------------

def test_get_all_tasks_lists_top_level_tasks_of_all_projects_in_id_order(api: Api) -> None:
    p1, p2 = make_project(api, "A"), make_project(api, "B")
    t1 = make_task(api, p1, "one")
    make_task(api, p1, "child", parent_id=t1)
    t2 = make_task(api, p2, "two", status="done")
    assert [t["id"] for t in api.ok("get_all_tasks")] == [str(t1), str(t2)]


def test_get_all_tasks_never_shows_another_accounts_tasks(api: Api, other: Api) -> None:
    make_task(other, make_project(other), "theirs")
    assert api.ok("get_all_tasks") == []


def test_get_all_tasks_skips_archived_projects_unless_extra_archive(api: Api) -> None:
    live, old = make_project(api, "Live"), make_project(api, "Old", status="archive")
    t_live, t_old = make_task(api, live), make_task(api, old)
    assert [t["id"] for t in api.ok("get_all_tasks")] == [str(t_live)]
    assert [t["id"] for t in api.ok("get_all_tasks", extra="archive")] == [str(t_live), str(t_old)]


def test_delayed_publication_tasks_are_never_shown(api: Api) -> None:
    pid = make_project(api)
    visible = make_task(api, pid, "now")
    later = make_task(api, pid, "later", publish_at=clock.now() + dt.timedelta(days=1))
    make_task(api, pid, "later child", parent_id=visible, publish_at=clock.now() + dt.timedelta(days=1))
    assert [t["id"] for t in api.ok("get_all_tasks", extra="subtasks")] == [str(visible)]
    assert "child" not in api.ok("get_tasks", id_project=pid, extra="subtasks")[0]
    assert [t["id"] for t in api.ok("get_tasks", id_project=pid)] == [str(visible)]  # the plain list too
    assert api.error("get_task", id_task=later)["status_code"] == 5
    assert [t["id"] for t in api.ok("search_tasks", id_project=pid)] == [str(visible)]


def test_filter_active_drops_done_tasks_and_done_children(api: Api) -> None:
    pid = make_project(api)
    top = make_task(api, pid, "open")
    open_child = make_task(api, pid, "open child", parent_id=top)
    make_task(api, pid, "done child", parent_id=top, status="done")
    make_task(api, pid, "done", status="done")
    for params in ({"filter": "active"}, {"status": "active"}):
        data = api.ok("get_all_tasks", extra="subtasks", **params)
        assert [t["id"] for t in data] == [str(top)]
        assert [c["id"] for c in data[0]["child"]] == [str(open_child)]
        assert [t["id"] for t in api.ok("get_tasks", id_project=pid, **params)] == [str(top)]
    reduced = api.ok("get_task", id_task=top, extra="subtasks", filter="active")
    assert [c["id"] for c in reduced["child"]] == [str(open_child)]


def test_subtasks_nest_as_full_objects_with_the_same_extras_in_lists(api: Api) -> None:
    pid = make_project(api)
    top = make_task(api, pid, "Top")
    sub = make_task(api, pid, "Sub", parent_id=top)
    subsub = make_task(api, pid, "SubSub", parent_id=sub)
    [task] = api.ok("get_tasks", id_project=pid, extra="text,subtasks,comments")
    child = task["child"][0]
    assert child["id"] == str(sub) and child["text"] == "" and child["has_comments"] == 0
    assert child["child"][0]["id"] == str(subsub)
    assert child["child"][0]["page"] == f"/project/{pid}/{top}/{subsub}/"
    assert "parent" not in child


def test_show_subtasks_is_the_old_spelling_of_extra_subtasks(api: Api) -> None:
    pid = make_project(api)
    top = make_task(api, pid, "Top")
    make_task(api, pid, "Sub", parent_id=top)
    assert len(api.ok("get_all_tasks", show_subtasks=1)[0]["child"]) == 1
    assert "child" not in api.ok("get_all_tasks")[0]


def test_get_tasks_of_an_unknown_or_foreign_project_is_4(api: Api, other: Api) -> None:
    assert api.error("get_tasks", id_project=999999999)["status_code"] == 4
    assert api.error("get_tasks", id_project=make_project(other))["status_code"] == 4
    assert api.error("get_tasks")["status_code"] == 10


def test_get_tasks_extras_render_comments_files_relations_and_subscribers(api: Api) -> None:
    pid = make_project(api)
    dev, proto, test = make_task(api, pid, "Development"), make_task(api, pid, "Prototyping"), \
        make_task(api, pid, "Testing")
    with api.state.db.session() as s:
        s.add_all([TaskRelation(from_task_id=proto, to_task_id=dev, type="finish-to-start"),
                   TaskRelation(from_task_id=dev, to_task_id=test, type="start-to-start"),
                   TaskSubscriber(task_id=dev, user_id=api.owner_id)])
    base = clock.now() - dt.timedelta(hours=1)
    for i in range(7):
        make_comment(api, dev, f"c{i}", date_added=base + dt.timedelta(minutes=i))
    data = {t["name"]: t for t in api.ok("get_tasks", id_project=pid, extra=ALL_EXTRAS)}
    d = data["Development"]
    assert d["has_comments"] == 1
    assert [c["text"] for c in d["comments"]] == ["c6", "c5", "c4", "c3", "c2"]
    assert d["comments"][0]["page"] == f"{d['page']}#com{d['comments'][0]['id']}"
    assert d["relations"] == {
        "from": [{"type": "finish-to-start", "task": {"id": str(proto), "name": "Prototyping",
                                                      "page": f"/project/{pid}/{proto}/", "status": "active",
                                                      "priority": "1"}}],
        "to": [{"type": "start-to-start", "task": {"id": str(test), "name": "Testing",
                                                   "page": f"/project/{pid}/{test}/", "status": "active",
                                                   "priority": "1"}}]}
    assert [u["email"] for u in d["subscribers"]] == [api.owner_email]
    assert list(data["Prototyping"]["relations"]) == ["to"]
    assert list(data["Testing"]["relations"]) == ["from"]
    p = data["Prototyping"]
    assert p["has_comments"] == 0 and "comments" not in p and "files" not in p and p["subscribers"] == []


def test_extra_files_lists_description_files_only(api: Api) -> None:
    from localsection.models import StoredFile

    pid = make_project(api)
    tid = make_task(api, pid, "With files")
    cid = make_comment(api, tid, "with a file")
    with api.state.db.session() as s:
        s.add_all([StoredFile(account_id=api.account_id, sha256="0" * 64, size=27136, name="Req.doc",
                              project_id=pid, task_id=tid, user_from_id=api.owner_id, date_added=clock.now()),
                   StoredFile(account_id=api.account_id, sha256="1" * 64, size=5, name="comment.png",
                              project_id=pid, task_id=tid, comment_id=cid, user_from_id=api.owner_id,
                              date_added=clock.now())])
    task = api.ok("get_task", id_task=tid, extra="files")
    assert [(f["name"], f["size"]) for f in task["files"]] == [("Req.doc", "27136")]
    assert task["files"][0]["page"] == f"/download/{task['files'][0]['id']}/"


def test_extra_html_renders_checklist_as_a_list_and_escapes_text(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid, "h", text="a < b", todo=["x"])
    assert api.ok("get_task", id_task=tid, extra="html")["text"] == "a &lt; b<ul><li>x</li></ul>"


def test_hidden_comments_are_left_out_of_a_token_users_five_newest(api: Api) -> None:
    pid = make_project(api)
    _, token = member_token(api, "member@example.com", [pid])
    tid = make_task(api, pid)
    make_comment(api, tid, "public")
    make_comment(api, tid, "secret", hidden=True)
    task = api.user_call(token, "get_task", id_task=tid, extra="comments")["data"]
    assert [c["text"] for c in task["comments"]] == ["public"]


def test_a_token_user_sees_only_tasks_of_projects_they_belong_to(api: Api) -> None:
    mine, theirs = make_project(api, "Mine"), make_project(api, "Theirs")
    _, token = member_token(api, "member@example.com", [mine])
    t_mine = make_task(api, mine)
    t_theirs = make_task(api, theirs)
    assert [t["id"] for t in api.user_call(token, "get_all_tasks")["data"]] == [str(t_mine)]
    assert api.user_call(token, "get_task", id_task=t_theirs)["status_code"] == 5
    assert api.user_call(token, "get_tasks", id_project=theirs)["status_code"] == 4


def test_record_cap_refuses_lists_above_it_exactly_as_the_real_service_without_a_status_code(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    pid = make_project(api)
    for i in range(3):
        make_task(api, pid, f"t{i}")
    monkeypatch.setattr(api.state, "settings", api.state.settings.with_(record_cap=2))
    refused = {"status": "error", "message": "Too many tasks (2 max)"}
    assert api.error("get_all_tasks") == refused
    assert api.error("get_tasks", id_project=pid) == refused
    assert api.error("search_tasks", id_project=pid) == refused
    assert api.error("search_tasks", filter="name has 't'") == refused
    monkeypatch.setattr(api.state, "settings", api.state.settings.with_(record_cap=3))
    assert len(api.ok("get_all_tasks")) == 3


# -- get_task ----------------------------------------------------------------------------------------

def test_get_task_reduces_children_and_shows_the_parent_of_a_subtask(api: Api) -> None:
    pid = make_project(api)
    top = make_task(api, pid, "Development", priority=7)
    sub = make_task(api, pid, "Sprint 1", parent_id=top)
    subsub = make_task(api, pid, "Subsprint 1.1", parent_id=sub)
    task = api.ok("get_task", id_task=top, extra="subtasks,text")
    assert task["child"] == [{"id": str(sub), "name": "Sprint 1", "page": f"/project/{pid}/{top}/{sub}/",
                              "status": "active", "priority": "1",
                              "child": [{"id": str(subsub), "name": "Subsprint 1.1",
                                         "page": f"/project/{pid}/{top}/{subsub}/", "status": "active",
                                         "priority": "1"}]}]
    assert "parent" not in task
    assert api.ok("get_task", id_task=subsub)["parent"]["id"] == str(sub)


def test_get_task_of_another_account_is_5(api: Api, other: Api) -> None:
    foreign = make_task(other, make_project(other))
    assert api.error("get_task", id_task=foreign)["status_code"] == 5
    assert api.error("get_task", id_task="abc")["status_code"] == 5
    assert api.error("get_task")["message_details"] == "id_task"


@pytest.mark.parametrize("digits", ["\u00b2", "1\u00b9", "\u0661\u0662", "\uff11"])
def test_ids_written_with_non_ascii_digits_are_invalid_not_a_crash(api: Api, digits: str) -> None:
    # str.isdigit() accepts superscripts (int() then fails) and other scripts' digits (int() reads them).
    tid = make_task(api, make_project(api))
    assert api.error("get_task", id_task=digits)["status_code"] == 5
    assert api.error("get_costs", id_task=digits)["status_code"] == 5
    assert api.error("post_task", id_project=digits, title="x")["status_code"] == 4
    assert api.error("search_tasks", filter=f"id = {digits}")["status_code"] != 0
    assert api.ok("get_task", id_task=str(tid))["id"] == str(tid)


def test_optional_fields_are_omitted_when_empty_and_date_closed_shown_when_done(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid, time_start="08:00", time_end="18:00")
    task = api.ok("get_task", id_task=tid)
    for key in ("date_start", "date_end", "date_closed", "max_time", "max_money", "tags", "text"):
        assert key not in task
    assert (task["time_start"], task["time_end"]) == ("08:00", "18:00")
    done = api.ok("complete_task", id_task=tid)
    assert done["status"] == "done" and len(done["date_closed"]) == 16


# -- update_task -------------------------------------------------------------------------------------

def test_update_task_changes_fields_and_records_new_and_old_values(api: Api) -> None:
    pid = make_project(api)
    user = api.add_user("frank@example.com", first_name="Frank", last_name="Harper")
    tid = make_task(api, pid, "Old", priority=1, date_end=dt.date(2021, 1, 1))
    task = api.ok("update_task", id_task=tid, title="New", priority=10, email_user_to="frank@example.com",
                  datestart="2021-01-02", dateend="", max_time="7.5", max_money="100")
    assert (task["name"], task["priority"], task["user_to"]["id"]) == ("New", "10", user["id"])
    assert (task["date_start"], task["date_end"], task["max_time"]) == ("2021-01-02", "2021-01-01", 7.5)
    assert task_row(api, tid).name_folded == "new"
    [event] = events_of(api)
    assert event.action == "update"
    assert event.new == {"title": "New", "user_to": {"id": user["id"], "email": "frank@example.com",
                                                     "name": "Frank Harper"},
                         "priority": "10", "date_start": "2021-01-02", "max_time": 7.5, "max_money": 100}
    assert event.old == {"title": "Old", "user_to": {"id": "1", "email": "NOONE",
                                                     "name": "Executive isn't assigned"},
                         "priority": "1", "date_start": "", "max_time": "", "max_money": ""}


def test_update_task_without_changes_records_no_event(api: Api) -> None:
    tid = make_task(api, make_project(api), priority=5)
    api.ok("update_task", id_task=tid, priority=5)
    assert events_of(api) == []


@pytest.mark.parametrize(("param", "value"), [
    ("text", "Rewritten description"), ("todo", ["new item"]), ("subscribe", "frank@example.com"),
    ("hidden", "frank@example.com"), ("email_user_from", "frank@example.com"),
])
def test_update_task_ignores_the_fields_the_real_service_does_not_edit(api: Api, param: str, value: Any) -> None:
    """FAQ: email_user_from, text, todo, subscribe and hidden are unavailable for editing: ignored, no event."""
    api.add_user("frank@example.com")
    pid = make_project(api)
    tid = api.ok("post_task", id_project=pid, title="Keep", text="Original description", todo=["first item"])["id"]
    before = api.ok("get_task", id_task=tid, extra=ALL_EXTRAS)
    events_before = len(events_of(api))
    after = api.ok("update_task", id_task=tid, extra=ALL_EXTRAS, **{param: value})
    assert after == before
    assert api.ok("get_task", id_task=tid, extra=ALL_EXTRAS) == before
    assert task_row(api, tid).text == "Original description"
    assert len(events_of(api)) == events_before


def test_update_task_with_text_and_a_title_changes_only_the_title(api: Api) -> None:
    tid = make_task(api, make_project(api), "Old", text="Original description")
    task = api.ok("update_task", id_task=tid, title="New", text="Rewritten", extra="text")
    assert (task["name"], task["text"]) == ("New", "Original description")
    [event] = events_of(api)
    assert (event.new, event.old) == ({"title": "New"}, {"title": "Old"})


def test_update_task_tags_replace_the_whole_set(api: Api) -> None:
    tags = make_tags(api, "a", "b", "c")
    tid = make_task(api, make_project(api))
    api.ok("update_task", id_task=tid, tags="a,b")
    task = api.ok("update_task", id_task=tid, tags="c")
    assert task["tags"] == {str(tags["c"]): "c"}
    assert events_of(api)[-1].new == {"tags": {str(tags["c"]): "c"}}


def test_update_task_dateclosed_moves_the_closing_date_of_a_done_task(api: Api) -> None:
    tid = make_task(api, make_project(api))
    api.ok("complete_task", id_task=tid)
    task = api.ok("update_task", id_task=tid, dateclosed="05.03.2021")
    assert task["date_closed"].startswith("2021-03-05 ")


@pytest.mark.parametrize(("params", "code"), [
    ({"email_user_to": "ghost@example.com"}, 11), ({"dateend": "2021-13-01"}, 11), ({"tags": "nope"}, 16),
])
def test_update_task_with_bad_input_changes_nothing(api: Api, params: dict[str, Any], code: int) -> None:
    tid = make_task(api, make_project(api), "Keep", priority=1)
    assert api.error("update_task", id_task=tid, title="Changed", priority=9, **params)["status_code"] == code
    row = task_row(api, tid)
    assert (row.name, row.priority) == ("Keep", 1)
    assert events_of(api) == []


def test_update_task_of_another_account_is_5_and_leaves_it_alone(api: Api, other: Api) -> None:
    foreign = make_task(other, make_project(other), "Theirs")
    assert api.error("update_task", id_task=foreign, title="Mine")["status_code"] == 5
    assert task_row(other, foreign).name == "Theirs"


# -- complete / reopen -------------------------------------------------------------------------------

def test_complete_task_returns_the_done_task_and_records_a_close_event(api: Api) -> None:
    tid = make_task(api, make_project(api), "Team meetup")
    task = api.ok("complete_task", id_task=tid)
    assert task["status"] == "done" and "date_closed" in task
    [event] = events_of(api)
    assert (event.action, event.new, event.old) == ("close", None, None)
    body = api.error("complete_task", id_task=tid)
    assert (body["status_code"], body["message"]) == (12, "Task is already closed")


def test_complete_task_with_an_open_subtask_is_refused_with_13(api: Api) -> None:
    pid = make_project(api)
    top = make_task(api, pid)
    sub = make_task(api, pid, parent_id=top, status="done")
    make_task(api, pid, parent_id=sub)  # an open sub-subtask still blocks the top task
    body = api.error("complete_task", id_task=top)
    assert (body["status_code"], body["message"]) == (13, "Task has children")
    assert task_row(api, top).status == "active"


def test_complete_task_needs_costs_when_the_project_requires_them(api: Api) -> None:
    pid = make_project(api, options={"time_require": 1})
    tid = make_task(api, pid)
    body = api.error("complete_task", id_task=tid)
    assert (body["status_code"], body["message"]) == (11, "Costs are required")
    with api.state.db.session() as s:
        s.add(Cost(account_id=api.account_id, project_id=pid, task_id=tid, top_task_id=tid,
                   user_id=api.owner_id, minutes=30, money_cents=0, date=dt.date.today(),
                   created_at=clock.now()))
    assert api.ok("complete_task", id_task=tid)["status"] == "done"


def test_reopen_task_is_status_only_and_records_a_reopen_event(api: Api) -> None:
    tid = make_task(api, make_project(api))
    api.ok("complete_task", id_task=tid)
    assert api.call("reopen_task", id_task=tid) == {"status": "ok"}
    assert task_row(api, tid).status == "active" and task_row(api, tid).date_closed is None
    assert [e.action for e in events_of(api)] == ["close", "reopen"]
    body = api.error("reopen_task", id_task=tid)
    assert (body["status_code"], body["message"]) == (12, "Task is already active")


def test_reopen_of_a_subtask_whose_parent_is_done_is_refused_with_14(api: Api) -> None:
    pid = make_project(api)
    top = make_task(api, pid, status="done")
    sub = make_task(api, pid, parent_id=top, status="done")
    body = api.error("reopen_task", id_task=sub)
    assert (body["status_code"], body["message"]) == (14, "Parent task is done")


def test_readers_cannot_change_tasks(api: Api) -> None:
    pid = make_project(api)
    tid = make_task(api, pid)
    user = api.add_user("reader@example.com", role="reader")
    from localsection.models import ProjectMember

    with api.state.db.session() as s:
        s.add(ProjectMember(project_id=pid, user_id=int(user["id"])))
    token = api.token("reader@example.com")
    assert api.user_call(token, "get_task", id_task=tid)["status"] == "ok"
    assert api.user_call(token, "complete_task", id_task=tid)["status_code"] == 20
    assert task_row(api, tid).status == "active"


def test_task_actions_need_the_matching_scope(api: Api) -> None:
    tid = make_task(api, make_project(api))
    token = api.token(scopes=["tasks_read"])
    assert api.user_call(token, "get_task", id_task=tid)["status"] == "ok"
    body = api.user_call(token, "update_task", id_task=tid, title="x")
    assert (body["status_code"], body["message_details"]) == (20, "tasks_write")


def test_there_is_no_task_deletion_action(api: Api) -> None:
    tid = make_task(api, make_project(api))
    assert api.error("delete_task", id_task=tid)["status_code"] == 0
    assert task_count(api) == 1
