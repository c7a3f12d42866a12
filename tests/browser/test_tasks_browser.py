"""In chromium: create a task, move its card on the board (drag and drop, and the keyboard's "Move to" list),
complete and reopen it, delete it — after each step the official SDK (admin key, over HTTP) sees exactly that
change and a real webhook receiver gets the event. A second browser session (another user) sees a change live.
axe on the list, the board and the form; the screenshots for the README."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from worksection.client import Client
from worksection.exceptions.response_exception import ResponseException

from tests.browser.conftest import assert_no_critical_axe, screenshot, sign_in
from tests.compat.conftest import Server
from tests.webhook_receiver import Receiver, running_receiver


def _sdk(server: Server) -> Any:
    return Client(server.url).set_api_key(server.api_key)


def _events(receiver: Receiver, action: str, task_id: str) -> list[dict[str, Any]]:
    return [e for e in receiver.events() if e["action"] == action and e["object"]["id"] == task_id]


def _statuses(sdk: Any) -> dict[str, int]:
    return {t.title: int(t.id) for t in sdk.tasks.tags({"group": "Status"})}


def _account(server: Server) -> str:
    return str(json.loads(server.cli("accounts", "list", "--json"))[0]["name"])


def test_create_move_complete_reopen_and_delete_a_task_in_a_real_browser(page: Any, live_server: Server) -> None:
    sdk = _sdk(live_server)
    url = live_server.url
    status = _statuses(sdk)  # the default status group of a new account
    assert list(status) == ["To do", "In progress", "Review", "Done"]
    with running_receiver() as receiver:
        hook = sdk.webhook.create(receiver.url, ["post_task", "update_task", "close_task", "delete_task"])
        pid = int(sdk.projects.create(f"Website relaunch {uuid.uuid4().hex[:4]}").id)
        for title, prio in (("Collect the requirements", 8), ("Pick a hosting provider", 3)):
            parent = sdk.tasks.create(pid, title, {"priority": prio, "datestart": "2026-12-01",
                                                   "dateend": "2026-12-12"})
        sdk.tasks.create(pid, "Compare three offers", {"id_parent": int(parent.id)})
        sign_in(page, live_server)

        # create
        page.goto(f"{url}/project/{pid}/")
        page.get_by_role("link", name="New task").click()
        assert page.get_by_role("heading", name="New task").is_visible()
        page.get_by_label("Title", exact=True).fill("Draft the landing page")
        page.get_by_label("Description").fill("<p>Hero, <b>pricing</b>, sign-up</p>")
        page.get_by_label("Checklist").fill("wireframe\ncopy")
        page.get_by_label("Executive").select_option(live_server.owner_email)
        page.get_by_label("Priority").select_option("7")
        page.get_by_label("Start", exact=True).fill("2026-12-03")
        page.get_by_label("End", exact=True).fill("2026-12-10")
        page.get_by_label("Status", exact=True).select_option(str(status["To do"]))
        assert_no_critical_axe(page)
        page.get_by_label("Title", exact=True).focus()
        screenshot(page, "task-form")
        with page.expect_navigation():
            page.get_by_role("button", name="Create task").click()
        assert page.get_by_text("Task created.").is_visible()
        found = sdk.tasks.search({"id_project": pid, "filter": "name = 'Draft the landing page'"})
        assert len(found) == 1
        tid = found[0].id
        task = sdk.tasks.get(int(tid), {"extra": "text"})
        assert task.name == "Draft the landing page" and task.user_to.email == live_server.owner_email
        assert (task.date_start, task.date_end, task.priority) == ("2026-12-03", "2026-12-10", "7")
        assert "<b>pricing</b>" in task.text and "• wireframe" in task.text
        assert receiver.wait_for(lambda: _events(receiver, "post", tid), 30)
        assert_no_critical_axe(page)
        screenshot(page, "task-list")

        # the board: drag the card to "In progress"
        page.goto(f"{url}/project/{pid}/board")
        card = page.locator(f'li.board-card[data-task="{tid}"]')
        assert card.is_visible()
        assert_no_critical_axe(page)
        page.drag_and_drop(f'li.board-card[data-task="{tid}"] .board-card-title',
                           f'section.board-column[data-tag="{status["In progress"]}"]')
        page.locator(f'section[data-tag="{status["In progress"]}"] li[data-task="{tid}"]').wait_for()
        assert receiver.wait_for(lambda: _events(receiver, "update", tid), 30)
        assert sdk.tasks.get(int(tid)).tags == {str(status["In progress"]): "In progress"}
        assert _events(receiver, "update", tid)[-1]["new"] == {"tags": {str(status["In progress"]): "In progress"}}

        # the keyboard alternative: the card's "Move to" list and its button, no mouse
        select = page.get_by_label("Move Draft the landing page to")
        select.focus()
        select.select_option(label="Review")
        page.keyboard.press("Tab")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        page.locator(f'section[data-tag="{status["Review"]}"] li[data-task="{tid}"]').wait_for()
        assert sdk.tasks.get(int(tid)).tags == {str(status["Review"]): "Review"}
        assert receiver.wait_for(lambda: len(_events(receiver, "update", tid)) >= 2, 30)
        screenshot(page, "board")

        # complete and reopen from the list
        page.goto(f"{url}/project/{pid}/")
        with page.expect_navigation():
            page.get_by_role("button", name="Complete Draft the landing page").click()
        assert sdk.tasks.get(int(tid)).status == "done"
        assert receiver.wait_for(lambda: _events(receiver, "close", tid), 30)
        page.goto(f"{url}/project/{pid}/?status=done")
        with page.expect_navigation():
            page.get_by_role("button", name="Reopen Draft the landing page").click()
        assert sdk.tasks.get(int(tid)).status == "active"

        # delete, after a confirmation
        page.goto(f"{url}/project/{pid}/{tid}/edit")
        page.get_by_role("link", name="Delete…").click()
        assert page.get_by_role("heading", name="Delete task").is_visible()
        with page.expect_navigation():
            page.get_by_role("button", name="Delete the task").click()
        assert page.get_by_text("Task “Draft the landing page” deleted.").is_visible()
        with pytest.raises(ResponseException, match="Task is invalid"):
            sdk.tasks.get(int(tid))
        assert receiver.wait_for(lambda: _events(receiver, "delete", tid), 30)
        sdk.webhook.delete(hook)


def test_a_second_browser_session_sees_a_change_live(chromium: Any, live_server: Server) -> None:
    sdk = _sdk(live_server)
    status = _statuses(sdk)
    email, password = f"mia.{uuid.uuid4().hex[:6]}@example.com", "mia-pass-1234"
    live_server.cli("users", "add", "--account", _account(live_server), "--email", email, "--password", password)
    pid = int(sdk.projects.create(f"Live {uuid.uuid4().hex[:4]}", {"members": email}).id)
    tid = sdk.tasks.create(pid, "Watch me move").id
    contexts = [chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-US") for _ in range(2)]
    try:
        owner, mia = (c.new_page() for c in contexts)
        sign_in(owner, live_server)
        sign_in(mia, live_server, email, password)
        mia.goto(f"{live_server.url}/project/{pid}/board")
        mia_list = contexts[1].new_page()
        mia_list.goto(f"{live_server.url}/project/{pid}/")
        for p in (mia, mia_list):  # "on" once the stream is open: the change below cannot be missed
            p.wait_for_function("document.documentElement.getAttribute('data-live') === 'on'")
        # the owner moves the card with the keyboard alternative in their own browser
        owner.goto(f"{live_server.url}/project/{pid}/board")
        owner.get_by_label("Move Watch me move to").select_option(label="Done")
        with owner.expect_navigation():
            owner.locator(f'li[data-task="{tid}"]').get_by_role("button", name="Move").click()
        # Mia's board moves the card and her list shows the new tag, without a reload
        mia.locator(f'section[data-tag="{status["Done"]}"] li[data-task="{tid}"]').wait_for(timeout=15_000)
        mia_list.locator(f'tr[data-task="{tid}"]').get_by_text("Done").wait_for(timeout=15_000)
        # and a task the owner creates appears in her list
        sdk.tasks.create(pid, "Brand new while watching")
        mia_list.get_by_text("Brand new while watching").wait_for(timeout=15_000)
        assert mia.evaluate("performance.getEntriesByType('navigation').length") == 1
    finally:
        for c in contexts:
            c.close()
