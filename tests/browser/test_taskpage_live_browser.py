"""In chromium: an open task page updates live (web-tasks' /live stream and live.js refresh its sections through
the `?fragment=` URLs this page serves) when someone else comments, edits or deletes a comment."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import sign_in
from tests.compat.conftest import Server


def test_a_second_session_sees_comments_arrive_change_and_go_live(chromium: Any, page: Any,
                                                                  live_server: Server) -> None:
    from worksection.client import Client

    sdk = Client(live_server.url).set_api_key(live_server.api_key)
    project = sdk.projects.create("Live project")
    task = sdk.tasks.create(int(project.id), "Watched task")
    url = f"{live_server.url}/project/{project.id}/{task.id}/"
    sign_in(page, live_server)
    page.goto(url)
    page.wait_for_selector("html[data-live='on']")
    other = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    try:
        writer = other.new_page()
        sign_in(writer, live_server)
        writer.goto(url)
        writer.get_by_label("New comment").fill("Hello from the other browser")
        with writer.expect_navigation():
            writer.get_by_role("button", name="Post comment").click()
        comments = page.locator("#comments")
        comments.locator(".comment-text", has_text="Hello from the other browser").wait_for(timeout=15_000)
        page.locator("#activity").get_by_text("commented").wait_for(timeout=15_000)
        # An edit and a deletion in the other browser show up here too.
        mine = writer.locator(".comment").first
        mine.get_by_text("Edit", exact=True).click()
        mine.get_by_label("Comment text").fill("Edited in the other browser")
        with writer.expect_navigation():
            mine.get_by_role("button", name="Save comment").click()
        comments.locator(".comment-text", has_text="Edited in the other browser").wait_for(timeout=15_000)
        writer.once("dialog", lambda dialog: dialog.accept())
        with writer.expect_navigation():
            writer.locator(".comment").first.get_by_role("button", name="Delete comment").click()
        comments.get_by_text("No comments yet.").wait_for(timeout=15_000)
        sdk.comments.create(int(task.id), "And one through the API")
        comments.locator(".comment-text", has_text="And one through the API").wait_for(timeout=15_000)
        assert "Comments (1)" in comments.inner_text()
    finally:
        other.close()
