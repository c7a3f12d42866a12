"""Issue 14's whole scenario in one real browser session, as a person works: sign in, create a project, create a
task, comment with a file, move the card on the board, log time, start and stop the timer, edit and delete the
comment, delete the task. After EACH step the official SDK (admin key, over HTTP) sees exactly that change, and a
real webhook receiver has exactly the events so far, in order: post_project, post_task, post_comment,
update_task, update_comment, delete_comment, delete_task (time and timers have no webhook event)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from worksection.client import Client
from worksection.exceptions.response_exception import ResponseException

from tests.browser.conftest import assert_no_critical_axe, sign_in
from tests.compat.conftest import Server, running_server
from tests.webhook_receiver import Receiver, running_receiver

EVENTS = ["post_project", "post_task", "post_comment", "update_task", "update_comment", "delete_comment",
          "delete_task"]


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: what this module creates stays out of the other browser tests' pages and screenshots."""
    with running_server(Path(tmp_path_factory.mktemp("scenario-data"))) as srv:
        yield srv


def _ours(receiver: Receiver, ids: dict[str, str]) -> list[tuple[str, str]]:
    """(action, type) of the events about this scenario's objects, in the order the receiver got them."""
    return [(e["action"], e["object"]["type"]) for e in receiver.events()
            if ids.get(e["object"]["type"]) == e["object"]["id"]]


def _received(receiver: Receiver, ids: dict[str, str], expected: list[tuple[str, str]]) -> None:
    """Wait until exactly `expected` has arrived (nothing more, nothing else), in that order."""
    assert receiver.wait_for(lambda: len(_ours(receiver, ids)) >= len(expected), timeout=30), _ours(receiver, ids)
    assert _ours(receiver, ids) == expected


def test_the_issue_14_scenario_end_to_end(page: Any, own_server: Server, tmp_path: Path) -> None:
    sdk = Client(own_server.url).set_api_key(own_server.api_key)
    url = own_server.url
    suffix = secrets.token_hex(3)
    status = {t.title: str(t.id) for t in sdk.tasks.tags({"group": "Status"})}
    ids: dict[str, str] = {}
    seen: list[tuple[str, str]] = []
    page.on("dialog", lambda dialog: dialog.accept())
    with running_receiver() as receiver:
        hook = sdk.webhook.create(receiver.url, EVENTS)

        # 1. Sign in: the projects list is the home page.
        sign_in(page, own_server)
        assert page.url.endswith("/projects")

        # 2. Create a project.
        name = f"Scenario {suffix}"
        page.get_by_role("link", name="New project").click()
        page.get_by_label("Name", exact=True).fill(name)
        with page.expect_navigation():
            page.get_by_role("button", name="Create project").click()
        assert page.get_by_text(f"Project “{name}” created.").is_visible()
        [project] = [p for p in sdk.projects.list() if p.name == name]
        pid = ids["project"] = str(project.id)
        seen.append(("post", "project"))
        _received(receiver, ids, seen)

        # 3. Create a task in it.
        page.get_by_role("link", name=name, exact=True).click()
        page.get_by_role("link", name="New task").click()
        page.get_by_label("Title", exact=True).fill("Pack the boxes")
        page.get_by_label("Status", exact=True).select_option(status["To do"])
        with page.expect_navigation():
            page.get_by_role("button", name="Create task").click()
        assert page.get_by_text("Task created.").is_visible()
        [task] = sdk.tasks.search({"id_project": int(pid), "filter": "name = 'Pack the boxes'"})
        tid = ids["task"] = str(task.id)
        assert task.name == "Pack the boxes"
        assert sdk.tasks.get(int(tid)).tags == {status["To do"]: "To do"}
        seen.append(("post", "task"))
        _received(receiver, ids, seen)

        # 4. Comment with a file on the task page.
        page.get_by_role("link", name="Pack the boxes").first.click()
        assert page.get_by_role("heading", name="Pack the boxes", level=1).is_visible()
        attachment = tmp_path / "box list.txt"
        attachment.write_bytes("12 boxes, 3 crates — кухня\n".encode())
        page.get_by_label("New comment").fill("Boxes are ordered")
        page.get_by_label("Attach files").set_input_files(str(attachment))
        with page.expect_navigation():
            page.get_by_role("button", name="Post comment").click()
        assert page.get_by_text("Comment added.").is_visible()
        [comment] = sdk.comments.list(int(tid))
        ids["comment"] = str(comment.id)
        assert comment.text == "Boxes are ordered"
        [stored] = sdk.files.list({"id_task": int(tid)})
        assert stored.name == "box list.txt" and int(stored.size) == attachment.stat().st_size
        seen.append(("post", "comment"))
        _received(receiver, ids, seen)

        # 5. Move the card on the board (drag and drop).
        page.goto(f"{url}/project/{pid}/board")
        # the card moves at once; the server has it when the board's POST …/move has answered
        with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith(f"/{tid}/move")):
            page.drag_and_drop(f'li.board-card[data-task="{tid}"] .board-card-title',
                               f'section.board-column[data-tag="{status["In progress"]}"]')
        page.locator(f'section[data-tag="{status["In progress"]}"] li[data-task="{tid}"]').wait_for()
        assert sdk.tasks.get(int(tid)).tags == {status["In progress"]: "In progress"}
        seen.append(("update", "task"))
        _received(receiver, ids, seen)
        moved = [e for e in receiver.events() if e["action"] == "update" and e["object"]["id"] == tid][-1]
        assert moved["new"] == {"tags": {status["In progress"]: "In progress"}}

        # 6. Log time on the task page.
        page.goto(f"{url}/project/{pid}/{tid}/")
        page.get_by_text("Log time or money", exact=True).click()
        page.get_by_label("Time (h:mm)").last.fill("2:15")
        page.locator("#f-cost-comment").fill("packing")
        with page.expect_navigation():
            page.get_by_role("button", name="Save time").click()
        assert [(c.time, c.comment) for c in sdk.costs.list({"id_task": int(tid)})] == [("2:15", "packing")]

        # 7. Start the timer: the API sees it, and every page's header shows it; then stop it.
        with page.expect_navigation():
            page.get_by_role("button", name="Start timer").click()
        assert [str(t.task.id) for t in sdk.timers.all()].count(tid) == 1
        page.goto(f"{url}/projects")
        badge = page.get_by_role("link", name="Timer running")
        assert badge.get_attribute("href") == f"/project/{pid}/{tid}/#timer"
        with page.expect_navigation():
            badge.click()
        page.get_by_label("What was done").fill("more packing")
        with page.expect_navigation():
            page.get_by_role("button", name="Stop timer").click()
        assert tid not in [str(t.task.id) for t in sdk.timers.all()]
        assert sorted(c.comment for c in sdk.costs.list({"id_task": int(tid)})) == ["more packing", "packing"]
        assert page.get_by_role("link", name="Timer running").count() == 0

        # 8. Edit the comment.
        item = page.locator(f"#com{ids['comment']}")
        item.get_by_text("Edit", exact=True).click()
        item.get_by_label("Comment text").fill("Boxes are ordered and paid")
        with page.expect_navigation():
            item.get_by_role("button", name="Save comment").click()
        assert [c.text for c in sdk.comments.list(int(tid))] == ["Boxes are ordered and paid"]
        seen.append(("update", "comment"))
        _received(receiver, ids, seen)
        assert_no_critical_axe(page)

        # 9. Delete the comment (its file goes with it).
        with page.expect_navigation():
            page.locator(f"#com{ids['comment']}").get_by_role("button", name="Delete comment").click()
        assert page.get_by_text("Comment deleted.").is_visible()
        assert sdk.comments.list(int(tid)) == []
        assert sdk.files.list({"id_task": int(tid)}) == []
        seen.append(("delete", "comment"))
        _received(receiver, ids, seen)

        # 10. Delete the task, after the confirmation page.
        page.goto(f"{url}/project/{pid}/{tid}/edit")
        page.get_by_role("link", name="Delete…").click()
        assert page.get_by_role("heading", name="Delete task").is_visible()
        assert_no_critical_axe(page)
        with page.expect_navigation():
            page.get_by_role("button", name="Delete the task").click()
        assert page.get_by_text("Task “Pack the boxes” deleted.").is_visible()
        with pytest.raises(ResponseException, match="Task is invalid"):
            sdk.tasks.get(int(tid))
        seen.append(("delete", "task"))
        _received(receiver, ids, seen)
        sdk.webhook.delete(hook)
