"""In chromium: the task page's part of issue 14's scenario. Comment with a file, edit it, delete it; download the
file; log time; start and stop the timer; the reports page. After each step the official SDK (admin key, over
HTTP) sees exactly that change and a real webhook receiver gets the event. axe on both pages; screenshots."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path
from typing import Any

from tests.browser.conftest import assert_no_critical_axe, screenshot, sign_in
from tests.compat.conftest import Server
from tests.webhook_receiver import Receiver, running_receiver

HOOK_EVENTS = ["post_comment", "update_comment", "delete_comment"]


def _sdk(server: Server) -> Any:
    from worksection.client import Client

    return Client(server.url).set_api_key(server.api_key)


def _received(receiver: Receiver, action: str, comment_id: str) -> bool:
    return receiver.wait_for(lambda: any(e["action"] == action and e["object"] == {
        "type": "comment", "id": comment_id, "page": e["object"]["page"]} for e in receiver.events()), timeout=30)


def test_comments_files_time_and_the_timer_on_the_task_page(page: Any, live_server: Server, tmp_path: Path) -> None:
    sdk = _sdk(live_server)
    with running_receiver() as receiver:
        hook = sdk.webhook.create(receiver.url, HOOK_EVENTS)
        project = sdk.projects.create("Moon landing")
        task = sdk.tasks.create(int(project.id), "Build the lander", {"text": "Two stages.\nFour legs."})
        task_url = f"{live_server.url}/project/{project.id}/{task.id}/"
        sign_in(page, live_server)
        page.goto(task_url)
        assert page.get_by_role("heading", name="Build the lander", level=1).is_visible()
        assert "Four legs." in page.locator(".richtext").first.inner_text()

        # 1. A comment with a file.
        content = bytes(range(256)) * 40 + "Звіт".encode()
        attachment = tmp_path / "landing plan.bin"
        attachment.write_bytes(content)
        page.get_by_label("New comment").fill("Legs are ready for review")
        page.get_by_label("Attach files").set_input_files(str(attachment))
        with page.expect_navigation():
            page.get_by_role("button", name="Post comment").click()
        assert page.get_by_text("Comment added.").is_visible()
        [comment] = sdk.comments.list(int(task.id))
        assert comment.text == "Legs are ready for review"
        [listed] = sdk.files.list({"id_task": int(task.id)})
        assert listed.name == "landing plan.bin" and int(listed.size) == len(content)
        assert _received(receiver, "post", str(comment.id))

        # 2. Download it from the page: the same bytes.
        with page.expect_download() as info:
            page.get_by_role("link", name="landing plan.bin").first.click()
        download = info.value
        assert download.suggested_filename == "landing plan.bin"
        assert Path(download.path()).read_bytes() == content
        sink = io.BytesIO()
        sdk.files.download(int(listed.id), sink)
        assert sink.getvalue() == content

        # 3. Edit the comment (the edit form opens in place).
        item = page.locator(f"#com{comment.id}")
        item.get_by_text("Edit", exact=True).click()
        item.get_by_label("Comment text").fill("Legs are ready, reviewed")
        with page.expect_navigation():
            item.get_by_role("button", name="Save comment").click()
        assert page.get_by_text("Comment saved.").is_visible()
        assert [c.text for c in sdk.comments.list(int(task.id))] == ["Legs are ready, reviewed"]
        assert _received(receiver, "update", str(comment.id))
        update = next(e for e in receiver.events() if e["action"] == "update")
        assert update["new"] == {"text": "Legs are ready, reviewed"}
        assert update["old"] == {"text": "Legs are ready for review"}

        # 4. Log time.
        page.get_by_text("Log time or money", exact=True).click()
        page.get_by_label("Time (h:mm)").last.fill("1:30")
        page.locator("#f-money").fill("42.50")
        page.locator("#f-cost-comment").fill("welding")
        with page.expect_navigation():
            page.get_by_role("button", name="Save time").click()
        costs = sdk.costs.list({"id_task": int(task.id)})
        assert [(c.time, c.money, c.comment) for c in costs] == [("1:30", "42.50", "welding")]

        # 5. Start the timer: the API shows it running, the page ticks.
        with page.expect_navigation():
            page.get_by_role("button", name="Start timer").click()
        [timer] = sdk.timers.all()
        assert str(timer.task.id) == str(task.id)
        assert page.get_by_role("link", name="Timer running").is_visible()
        elapsed = page.locator("#timer .timer-elapsed")
        first = elapsed.inner_text()
        page.wait_for_function("t => document.querySelector('#timer .timer-elapsed').textContent !== t", arg=first,
                               timeout=5000)
        assert re.fullmatch(r"\d\d:\d\d:\d\d", elapsed.inner_text())
        assert_no_critical_axe(page)
        screenshot(page, "task-page")

        # 6. Stop it: a timer cost row appears.
        page.get_by_label("What was done").fill("more welding")
        with page.expect_navigation():
            page.get_by_role("button", name="Stop timer").click()
        assert sdk.timers.all() == []
        timer_rows = [c for c in sdk.costs.list({"id_task": int(task.id)}) if c.comment == "more welding"]
        assert len(timer_rows) == 1 and timer_rows[0].time == "0:01"

        # 7. Delete the comment (after confirming).
        page.once("dialog", lambda dialog: dialog.accept())
        with page.expect_navigation():
            page.locator(f"#com{comment.id}").get_by_role("button", name="Delete comment").click()
        assert page.get_by_text("Comment deleted.").is_visible()
        assert sdk.comments.list(int(task.id)) == []
        assert _received(receiver, "delete", str(comment.id))
        activity = page.locator("#activity").inner_text()
        assert "commented" in activity and "edited a comment" in activity and "deleted a comment" in activity
        sdk.webhook.delete(hook)


def test_the_reports_page_shows_tables_charts_and_exports_csv(page: Any, live_server: Server) -> None:
    sdk = _sdk(live_server)
    project = sdk.projects.create("Reported project")
    task = sdk.tasks.create(int(project.id), "Reported task")
    today = time.strftime("%Y-%m-%d")
    sdk.costs.create(int(task.id), {"time": "2:15", "money": "120", "email_user_from": live_server.owner_email,
                                    "date": today})
    sign_in(page, live_server)
    page.goto(live_server.url + "/reports")
    assert page.get_by_role("heading", name="Reports", level=1).is_visible()
    by_project = page.locator("section", has=page.get_by_role("heading", name="By project"))
    assert by_project.get_by_role("img").count() == 1
    assert "Reported project" in by_project.get_by_role("table").inner_text()
    total = sdk.costs.total()
    assert f"{total.time} h" in page.locator(".totals").inner_text()
    with page.expect_download() as info:
        page.get_by_role("link", name="Export CSV").click()
    csv_text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    assert "Reported project" in csv_text and "2:15" in csv_text
    assert_no_critical_axe(page)
    screenshot(page, "reports")
