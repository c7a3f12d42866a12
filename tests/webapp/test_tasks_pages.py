"""The task list, the task forms (create, edit, complete, reopen, delete) and the board, in-process, on both
databases: what a person sees, what the API then answers, and bad input answered with a form error."""

from __future__ import annotations

import re
from typing import Any

from localsection import accounts
from localsection.domain import task_browse
from tests.helpers import Api
from tests.webapp.helpers import WebClient, add_user, text_of


def project(api: Api, title: str = "Launch", **params: Any) -> int:
    return int(api.ok("post_project", title=title, **params)["id"])


def task(api: Api, pid: int, title: str, **params: Any) -> int:
    return int(api.ok("post_task", id_project=pid, title=title, **params)["id"])


def events(api: Api, pid: int) -> list[dict[str, Any]]:
    return list(api.ok("get_events", period="1h", id_project=pid))


def statuses(api: Api) -> dict[str, int]:
    with api.ctx() as ctx:
        accounts.add_default_statuses(ctx.db, api.account_id)
    return {t["title"]: int(t["id"]) for t in api.ok("get_task_tags", group="Status")}


# -- the list -------------------------------------------------------------------------------------------

def test_the_task_list_shows_top_tasks_with_their_subtasks_and_the_columns(owner_web: WebClient, api: Api) -> None:
    pid = project(api)
    top = task(api, pid, "Write the plan", priority=7, datestart="01.12.2026", dateend="15.12.2026",
               email_user_to=api.owner_email)
    api.ok("post_task", id_project=pid, id_parent=top, title="Draft chapter one")
    task(api, pid, "Order the cake")
    page = owner_web.get(f"/project/{pid}/")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Write the plan" in text and "Draft chapter one" in text and "Order the cake" in text
    assert "2 tasks" in text  # top-level tasks; the subtask is shown under its task
    assert "2026-12-01" in text and "2026-12-15" in text
    assert f'data-child-of="{top}"' in page.text
    assert f'href="/project/{pid}/{top}/"' in page.text  # the API's page value is the link
    assert f'data-live-topic="project:{pid}"' in page.text


def test_filters_sorting_and_the_api_filter_language(owner_web: WebClient, api: Api) -> None:
    pid = project(api)
    for i, name in enumerate(["Banana", "apple", "Cherry"]):
        task(api, pid, name, priority=i + 3)
    done = task(api, pid, "Durian")
    api.ok("complete_task", id_task=done)

    def titles(query: str) -> list[str]:
        resp = owner_web.get(f"/project/{pid}/?{query}")
        assert resp.status_code == 200, text_of(resp.text)[:300]
        return re.findall(r'<td class="task-title">.*?<a href="[^"]+">([^<]+)</a>', resp.text, re.S)

    assert titles("") == ["Banana", "apple", "Cherry"]
    assert titles("sort=title") == ["apple", "Banana", "Cherry"]
    assert titles("sort=priority&dir=desc") == ["Cherry", "apple", "Banana"]
    assert titles("status=done") == ["Durian"]
    assert titles("status=all&q=name+has+%27an%27") == ["Banana", "Durian"]
    assert titles("q=id+%3D+" + str(done)) == []  # open tasks only by default
    bad = owner_web.get(f"/project/{pid}/?q=name+%3D%3D%3D+x")
    assert bad.status_code == 400 and "Filter is invalid" in text_of(bad.text)
    assert owner_web.get(f"/project/{pid}/?from=not-a-date").status_code == 400


def test_a_project_of_many_tasks_is_paged(owner_web: WebClient, api: Api) -> None:
    pid = project(api)
    with api.ctx() as ctx:
        from localsection.domain import tasks

        for i in range(task_browse.PAGE_SIZE + 5):
            tasks.create_task(ctx, tasks.NewTask(project_id=pid, title=f"Task {i:03d}"))
    first = text_of(owner_web.get(f"/project/{pid}/").text)
    assert "Task 000" in first and "Task 050" not in first and "page 1 of 2" in first
    second = text_of(owner_web.get(f"/project/{pid}/?page=2").text)
    assert "Task 050" in second and "Task 000" not in second


# -- the forms ------------------------------------------------------------------------------------------

def test_a_task_is_created_with_every_field_and_the_api_sees_it(owner_web: WebClient, api: Api) -> None:
    pid = project(api)
    kate = add_user(api, "kate@example.com")
    ids = statuses(api)
    resp = owner_web.form(f"/project/{pid}/tasks/new", {
        "title": "Ship it", "text": '<p>Go <a href="https://example.com">here</a><script>x()</script></p>',
        "todo": "pack\n\nlabel\n", "executive": "kate@example.com", "priority": "8", "date_start": "2026-12-02",
        "date_end": "2026-12-09", "max_time": "5", "max_money": "120.5", f"status_{_group(api)}": str(ids["Review"]),
        f"sub_{kate}": "1"})
    assert resp.status_code == 303 and resp.headers["location"] == f"/project/{pid}/"
    created = api.ok("get_tasks", id_project=pid, extra="text,subscribers")[0]
    assert created["name"] == "Ship it" and created["priority"] == "8"
    assert created["user_to"]["email"] == "kate@example.com"
    assert (created["date_start"], created["date_end"]) == ("2026-12-02", "2026-12-09")
    assert created["max_time"] == 5 and created["max_money"] == 120.5
    assert created["tags"] == {str(ids["Review"]): "Review"}
    assert "<script>" not in created["text"] and 'rel="noopener noreferrer"' in created["text"]
    assert "• pack" in created["text"] and "• label" in created["text"]
    assert [s["email"] for s in created["subscribers"]] == ["kate@example.com"]
    assert [e["action"] for e in events(api, pid)][-1] == "post"


def _group(api: Api) -> int:
    return int(next(g["id"] for g in api.ok("get_task_tag_groups") if g["title"] == "Status"))


def test_bad_input_is_a_form_error_and_creates_nothing(owner_web: WebClient, api: Api) -> None:
    pid = project(api)
    for data, message in [({"title": ""}, "Give the task a title."),
                          ({"title": "x", "priority": "11"}, "Priority is a number from 0 to 10."),
                          ({"title": "x", "date_start": "2026-12-09", "date_end": "2026-12-01"},
                           "The end date is before the start date."),
                          ({"title": "x", "date_end": "31.12"}, "is not a date"),
                          ({"title": "x", "max_time": "lots"}, "must be a number"),
                          ({"title": "x", "executive": "nobody@nowhere.example"}, "Invalid email"),
                          ({"title": "x", "after": "abc"}, "Give related tasks by their numbers")]:
        resp = owner_web.form(f"/project/{pid}/tasks/new", data)
        assert resp.status_code == 400, data
        assert message in text_of(resp.text), (data, text_of(resp.text)[:400])
    assert api.ok("get_tasks", id_project=pid) == []


def test_a_subtask_is_created_under_its_parent(owner_web: WebClient, api: Api) -> None:
    pid = project(api)
    top = task(api, pid, "Top")
    resp = owner_web.form(f"/project/{pid}/tasks/new", {"title": "Child", "parent": str(top)},
                          page=f"/project/{pid}/tasks/new?parent={top}")
    assert resp.status_code == 303
    child = api.ok("get_task", id_task=top, extra="subtasks")["child"]
    assert [c["name"] for c in child] == ["Child"]


def test_editing_changes_fields_description_checklist_subscribers_and_relations(owner_web: WebClient,
                                                                                 api: Api) -> None:
    pid = project(api)
    first = task(api, pid, "First")
    tid = task(api, pid, "Second", text="old text")
    kate = add_user(api, "kate@example.com")
    form = owner_web.get(f"/project/{pid}/{tid}/edit")
    assert form.status_code == 200 and 'value="Second"' in form.text and "old text" in form.text
    resp = owner_web.form(f"/project/{pid}/{tid}/edit", {
        "title": "Second, renamed", "text": "<b>new</b> text", "todo": "one\ntwo", "priority": "2",
        "executive": "ANY", "after": f"#{first}", f"sub_{kate}": "1"})
    assert resp.status_code == 303
    got = api.ok("get_task", id_task=tid, extra="text,relations,subscribers")
    assert got["name"] == "Second, renamed" and got["priority"] == "2" and got["user_to"]["email"] == "ANY"
    assert got["text"].startswith("<b>new</b> text") and "• two" in got["text"]
    assert got["relations"]["from"][0]["task"]["id"] == str(first)
    assert got["relations"]["from"][0]["type"] == "finish-to-start"
    assert [s["email"] for s in got["subscribers"]] == ["kate@example.com"]
    changed = [e for e in events(api, pid) if e["action"] == "update"]
    assert {k for e in changed for k in e["new"]} >= {"title", "priority", "user_to", "text"}
    # a task cannot depend on itself: a form error, nothing changed
    bad = owner_web.form(f"/project/{pid}/{tid}/edit", {"title": "Renamed again", "after": str(tid)})
    assert bad.status_code == 400 and "cannot depend on itself" in text_of(bad.text)
    assert api.ok("get_task", id_task=tid)["name"] == "Second, renamed"


def test_emptying_dates_estimate_and_budget_in_the_edit_form_clears_them(owner_web: WebClient, api: Api) -> None:
    pid = project(api)
    tid = task(api, pid, "Dated", datestart="01.12.2026", dateend="15.12.2026", max_time="8", max_money="100")
    form = owner_web.get(f"/project/{pid}/{tid}/edit")
    assert 'value="2026-12-01"' in form.text and 'value="2026-12-15"' in form.text
    # a field the form does not send stays as it is
    resp = owner_web.form(f"/project/{pid}/{tid}/edit", {"title": "Dated", "date_end": ""})
    assert resp.status_code == 303
    got = api.ok("get_task", id_task=tid)
    assert got["date_start"] == "2026-12-01" and "date_end" not in got
    assert got["max_time"] == 8 and got["max_money"] == 100
    resp = owner_web.form(f"/project/{pid}/{tid}/edit", {"title": "Dated", "date_start": "", "date_end": "",
                                                          "max_time": "", "max_money": ""})
    assert resp.status_code == 303
    got = api.ok("get_task", id_task=tid)
    assert not {"date_start", "date_end", "max_time", "max_money"} & set(got), got
    updates = [e for e in events(api, pid) if e["action"] == "update"]
    assert [set(e["new"]) for e in updates] == [{"date_end"}, {"date_start", "max_time", "max_money"}]
    assert updates[1]["old"]["date_start"] == "2026-12-01" and updates[1]["new"]["date_start"] == ""
    assert updates[1]["old"]["max_money"] == 100 and updates[1]["new"]["max_money"] == ""
    activity = text_of(owner_web.get(f"/project/{pid}/{tid}/").text)
    assert "date_start : 2026-12-01 → removed" in activity and "max_money : 100 → removed" in activity
    # the API keeps the real service's rule: a blank parameter changes nothing
    api.ok("update_task", id_task=tid, datestart="02.12.2026")
    api.ok("update_task", id_task=tid, datestart="", max_time="")
    assert api.ok("get_task", id_task=tid)["date_start"] == "2026-12-02"


def test_complete_reopen_and_their_refusals(owner_web: WebClient, api: Api) -> None:
    pid = project(api)
    top = task(api, pid, "Top")
    api.ok("post_task", id_project=pid, id_parent=top, title="Open child")
    refused = owner_web.form(f"/project/{pid}/{top}/complete", {}, page=f"/project/{pid}/")
    assert refused.status_code == 400 and "Task has children" in text_of(refused.text)
    lone = task(api, pid, "Lone")
    done = owner_web.form(f"/project/{pid}/{lone}/complete", {"next": f"/project/{pid}/?status=all"},
                          page=f"/project/{pid}/")
    assert done.status_code == 303 and done.headers["location"] == f"/project/{pid}/?status=all"
    assert api.ok("get_task", id_task=lone)["status"] == "done"
    again = owner_web.form(f"/project/{pid}/{lone}/reopen", {}, page=f"/project/{pid}/")
    assert again.status_code == 303 and api.ok("get_task", id_task=lone)["status"] == "active"


def test_delete_asks_first_then_removes_the_task_its_subtasks_comments_and_costs(owner_web: WebClient,
                                                                                api: Api) -> None:
    pid = project(api)
    top = task(api, pid, "Doomed")
    child = int(api.ok("post_task", id_project=pid, id_parent=top, title="Doomed child")["id"])
    api.ok("post_comment", id_task=child, text="a comment")
    api.ok("add_costs", id_task=top, time="1:30", comment="work", email_user_from=api.owner_email)
    keep = task(api, pid, "Kept")
    confirm = owner_web.get(f"/project/{pid}/{top}/delete")
    assert confirm.status_code == 200 and "Its 1 subtask goes with it." in text_of(confirm.text)
    resp = owner_web.form(f"/project/{pid}/{top}/delete", {})
    assert resp.status_code == 303
    assert api.error("get_task", id_task=top)["message"] == "Task is invalid"
    assert api.error("get_task", id_task=child)["message"] == "Task is invalid"
    assert [t["id"] for t in api.ok("get_tasks", id_project=pid)] == [str(keep)]
    assert api.call("get_costs", id_project=pid)["data"] == []
    last = events(api, pid)[-1]
    assert (last["action"], last["object"]["type"], last["object"]["id"]) == ("delete", "task", str(top))
    assert owner_web.get(f"/project/{pid}/{top}/delete").status_code == 404


# -- the board ------------------------------------------------------------------------------------------

def test_the_board_has_the_status_columns_and_moving_a_card_changes_its_status(owner_web: WebClient,
                                                                              api: Api) -> None:
    pid = project(api)
    ids = statuses(api)
    tid = task(api, pid, "Card one")
    board = owner_web.get(f"/project/{pid}/board")
    assert board.status_code == 200
    text = text_of(board.text)
    for column in ("No status", "To do", "In progress", "Review", "Done"):
        assert column in text
    assert "Card one" in text and 'draggable="true"' in board.text
    resp = owner_web.form(f"/project/{pid}/{tid}/move", {"group": str(_group(api)), "tag": str(ids["In progress"])},
                          page=f"/project/{pid}/board")
    assert resp.status_code == 303 and resp.headers["location"] == f"/project/{pid}/board"
    assert api.ok("get_task", id_task=tid)["tags"] == {str(ids["In progress"]): "In progress"}
    assert events(api, pid)[-1]["new"] == {"tags": {str(ids["In progress"]): "In progress"}}
    back = owner_web.form(f"/project/{pid}/{tid}/move", {"group": str(_group(api)), "tag": ""},
                          page=f"/project/{pid}/board")
    assert back.status_code == 303 and "tags" not in api.ok("get_task", id_task=tid)
    wrong = owner_web.form(f"/project/{pid}/{tid}/move", {"group": str(_group(api)), "tag": "999999"},
                           page=f"/project/{pid}/board")
    assert wrong.status_code == 400 and "Tag is invalid" in text_of(wrong.text)
    fragment = owner_web.get(f"/project/{pid}/board?fragment=columns")
    assert fragment.status_code == 200 and "<html" not in fragment.text and "Card one" in fragment.text


def test_a_new_account_comes_with_the_default_status_group(api: Api) -> None:
    with api.state.db.session() as s:
        created = accounts.create_account(s, "fresh-statuses", "owner@fresh-statuses.example.com", "pw-1234567")
        group = s.scalars(accounts.select(accounts.TagGroup).where(
            accounts.TagGroup.account_id == created.account.id)).one()
        assert (group.title, group.type, group.access, group.applies_to) == ("Status", "status", "public", "task")
        titles = list(s.scalars(accounts.select(accounts.Tag.title).where(accounts.Tag.group_id == group.id)
                                .order_by(accounts.Tag.id)))
        assert titles == list(accounts.DEFAULT_STATUSES)


def test_the_board_without_a_status_group_says_how_to_get_one(owner_web: WebClient, api: Api) -> None:
    pid = project(api)
    text = text_of(owner_web.get(f"/project/{pid}/board").text)
    assert "needs a status tag group" in text


def test_the_pages_speak_ukrainian(owner_web: WebClient, api: Api) -> None:
    pid = project(api)
    statuses(api)
    task(api, pid, "Завдання")
    owner_web.form("/me", {"action": "language", "language": "uk"})
    assert "Немає статусу" in text_of(owner_web.get(f"/project/{pid}/board").text)
    assert "Виконавець" in text_of(owner_web.get(f"/project/{pid}/").text)


def test_bulk_complete_completes_the_chosen_tasks_and_reports_the_refused(owner_web: WebClient, api: Api) -> None:
    pid = project(api)
    a, b = task(api, pid, "Alpha"), task(api, pid, "Beta")
    parent = task(api, pid, "Has an open subtask")
    api.ok("post_task", id_project=pid, id_parent=parent, title="Open subtask")
    untouched = task(api, pid, "Not chosen")
    resp = owner_web.form(f"/project/{pid}/tasks/complete", {f"sel_{a}": "1", f"sel_{b}": "1", f"sel_{parent}": "1"},
                          page=f"/project/{pid}/")
    assert resp.status_code == 303
    status = {t["name"]: t["status"] for t in api.ok("get_tasks", id_project=pid)}
    assert status == {"Alpha": "done", "Beta": "done", "Has an open subtask": "active", "Not chosen": "active"}
    text = text_of(owner_web.get(f"/project/{pid}/").text)
    assert "2 tasks completed." in text and "1 task could not be completed." in text
    none = owner_web.form(f"/project/{pid}/tasks/complete", {}, page=f"/project/{pid}/")
    assert none.status_code == 400 and "Choose the tasks to complete." in text_of(none.text)
    assert untouched


def test_the_list_and_the_board_issue_the_same_number_of_queries_for_5_and_50_tasks(owner_web: WebClient,
                                                                                  api: Api) -> None:
    from tests.helpers import counted_statements

    statuses(api)
    counts = []
    for n in (5, 50):
        pid = project(api, f"Size {n}")
        for i in range(n):
            top = task(api, pid, f"Task {i}", email_user_to=api.owner_email, tags="To do" if i % 2 else "Review")
            api.ok("post_task", id_project=pid, id_parent=top, title=f"Sub {i}")
        row = []
        for path in (f"/project/{pid}/", f"/project/{pid}/board"):
            owner_web.get(path)  # warm: the session's touch, caches
            with counted_statements(api) as seen:
                assert owner_web.get(path).status_code == 200
            row.append(len(seen))
        counts.append(row)
    assert counts[0] == counts[1], counts
