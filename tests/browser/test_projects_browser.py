"""In chromium: projects (create, edit, archive, reopen, members), people (invite a user) and settings (rotate the
API key, an OAuth app, a webhook with its delivery log). After each step the official SDK over HTTP (admin key)
sees exactly that change, and a real webhook receiver gets the event. axe on every page; README screenshots."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import assert_no_critical_axe, screenshot, sign_in
from tests.compat.conftest import Server, running_server
from tests.webhook_receiver import Receiver, running_receiver


def _sdk(server: Server, key: str | None = None) -> Any:
    from worksection.client import Client

    return Client(server.url).set_api_key(key or server.api_key)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as r:
        yield r


def _events_for(receiver: Receiver, action: str, project_id: int) -> list[dict[str, Any]]:
    return [e for e in receiver.events() if e["action"] == action and e["object"]["type"] == "project"
            and e["object"]["id"] == str(project_id)]


def _confirming(page: Any) -> None:
    page.on("dialog", lambda dialog: dialog.accept())


def test_create_edit_archive_reopen_a_project_and_add_a_member(page: Any, live_server: Server,
                                                               receiver: Receiver) -> None:
    sdk = _sdk(live_server)
    suffix = secrets.token_hex(3)
    hook = sdk.webhook.create(receiver.url, ["post_project", "update_project"])
    mate = f"mate.{suffix}@example.com"
    sdk.members.create(mate, {"first_name": "Mira", "last_name": "Mate"})
    for title, folder in ((f"Website relaunch {suffix}", "Marketing"), (f"Mobile app {suffix}", "Product")):
        sdk.projects.create(title, {"company": folder, "email_manager": live_server.owner_email})
    _confirming(page)
    sign_in(page, live_server)
    assert page.url.endswith("/projects")

    page.get_by_role("link", name="New project").click()
    assert page.get_by_role("heading", name="New project").is_visible()
    assert_no_critical_axe(page)
    name = f"Office move {suffix}"
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Folder").fill("Operations")
    page.get_by_label("Manager").select_option(live_server.owner_email)
    page.get_by_label("Description").fill("Boxes, keys and a new coffee machine.")
    page.get_by_label("Start date").fill("2026-12-01")
    page.get_by_label("End date").fill("2026-12-20")
    page.get_by_label("Time estimate (hours)").fill("40")
    page.get_by_label("Mira Mate <" + mate + ">").check()
    page.get_by_label("New tasks need dates").check()
    screenshot(page, "project-new")
    with page.expect_navigation():
        page.get_by_role("button", name="Create project").click()
    assert page.get_by_text(f"Project “{name}” created.").is_visible()

    created = [p for p in sdk.projects.list({"extra": "users,options"}) if p.name == name]
    assert len(created) == 1
    project = created[0]
    pid = int(project.id)
    assert project.status == "active" and project.date_start == "2026-12-01" and project.date_end == "2026-12-20"
    assert project.user_to is not None and project.user_to.email == live_server.owner_email
    assert {u.email for u in project.users} == {live_server.owner_email, mate}
    assert sdk.projects.get(pid, {"extra": "options"}).options["require_term"] == 1
    assert receiver.wait_for(lambda: len(_events_for(receiver, "post", pid)) == 1)
    assert _events_for(receiver, "post", pid)[0]["new"]["title"] == name

    link = page.get_by_role("link", name=name, exact=True)
    assert link.get_attribute("href") == f"/project/{pid}/" == project.page
    assert_no_critical_axe(page)
    page.reload()
    screenshot(page, "projects")

    page.get_by_role("link", name=f"Edit {name}").click()
    page.get_by_label("Name", exact=True).fill(name + " (phase 1)")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    assert sdk.projects.get(pid).name == name + " (phase 1)"
    assert receiver.wait_for(lambda: any(e["new"].get("title") == name + " (phase 1)"
                                         for e in _events_for(receiver, "update", pid)))
    name += " (phase 1)"

    with page.expect_navigation():
        page.get_by_role("button", name=f"Archive {name}").click()
    assert sdk.projects.get(pid).status == "archive"
    assert page.url.endswith("/projects?status=archive")
    with page.expect_navigation():
        page.get_by_role("button", name=f"Reopen {name}").click()
    assert sdk.projects.get(pid).status == "active"
    assert receiver.wait_for(lambda: [e["new"].get("status") for e in _events_for(receiver, "update", pid)
                                      if "status" in e["new"]] == ["archive", "active"])

    other = f"other.{suffix}@example.com"
    sdk.members.create(other, {"first_name": "Oleh", "last_name": "Other"})
    page.goto(live_server.url + f"/project/{pid}/members")
    assert_no_critical_axe(page)
    page.get_by_label(f"Oleh Other <{other}>").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Add to the project").click()
    assert page.get_by_text("1 member added.").is_visible()
    users = {u.email for u in sdk.projects.get(pid, {"extra": "users"}).users}
    assert users == {live_server.owner_email, mate, other}
    with page.expect_navigation():
        page.get_by_role("button", name=f"Remove Mira Mate <{mate}>").click()
    assert {u.email for u in sdk.projects.get(pid, {"extra": "users"}).users} == {live_server.owner_email, other}
    sdk.webhook.delete(hook)


def test_people_invite_a_user_with_a_role(page: Any, live_server: Server) -> None:
    sdk = _sdk(live_server)
    suffix = secrets.token_hex(3)
    sdk.members.create_group(f"Acme {suffix}", {"client": 1})
    sdk.contacts.create(f"vendor.{suffix}@example.com", "Vera Vendor")
    sign_in(page, live_server)
    page.goto(live_server.url + "/people")
    assert page.get_by_role("heading", name="People", exact=True).is_visible()
    email = f"nina.{suffix}@example.com"
    page.get_by_label("E-mail", exact=True).first.fill(email)
    page.get_by_label("First name").fill("Nina")
    page.get_by_label("Last name").fill("Novak")
    page.get_by_label("Role").select_option("reader")
    page.get_by_label("Team", exact=True).fill("Design")
    with page.expect_navigation():
        page.get_by_role("button", name="Invite").click()
    assert page.get_by_role("heading", name=f"{email} can now set a password").is_visible()
    link = page.get_by_label("Link to set a password").input_value()
    assert "/password/reset/" in link
    user = next(u for u in sdk.members.list() if u.email == email)
    assert (user.first_name, user.last_name, user.role, user.group) == ("Nina", "Novak", "reader", "Design")
    assert_no_critical_axe(page)
    page.goto(live_server.url + "/people")
    assert link not in page.content()
    screenshot(page, "people")


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: rotating the API key must not disturb the other browser tests' SDK calls."""
    with running_server(Path(tmp_path_factory.mktemp("settings-data"))) as srv:
        yield srv


def test_settings_rotate_the_key_register_an_app_and_watch_a_webhook(page: Any, own_server: Server,
                                                                     receiver: Receiver) -> None:
    from worksection.exceptions.response_exception import ResponseException

    server = own_server
    _confirming(page)
    sign_in(page, server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
    assert page.get_by_role("heading", name="Account settings").is_visible()
    assert_no_critical_axe(page)
    assert server.api_key not in page.locator("main").inner_text()
    page.get_by_text("Show the key").click()
    assert page.get_by_role("textbox", name="API key").input_value() == server.api_key

    page.get_by_label("I understand that programs using the old key stop working").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Rotate the key").click()
    assert page.get_by_text("A new API key is in place.").is_visible()
    page.get_by_text("Show the key").click()
    new_key = page.get_by_role("textbox", name="API key").input_value()
    assert new_key and new_key != server.api_key
    with pytest.raises(ResponseException):
        _sdk(server).projects.list()
    sdk = _sdk(server, new_key)
    assert sdk.projects.list() == []

    page.get_by_text("Register an app").click()
    page.get_by_label("App name").fill("Reporting dashboard")
    page.get_by_label("Redirect URIs").fill("https://dash.example.com/oauth/callback")
    from localsection.tokens import ALL_SCOPES

    for scope in ALL_SCOPES:
        if scope not in ("projects_read", "tasks_read", "costs_read"):
            page.get_by_label(scope, exact=True).uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="Register", exact=True).click()
    assert page.get_by_text("it is shown only this once").is_visible()
    client_id = page.get_by_label("Client ID").input_value()
    secret = page.get_by_label("Client secret").input_value()
    assert re.fullmatch(r"[0-9a-f]{32}", client_id) and re.fullmatch(r"[0-9a-f]{64}", secret)
    page.get_by_role("link", name="I have copied it").click()
    assert client_id in page.content() and secret not in page.content()
    assert "projects_read, tasks_read, costs_read" in page.locator("main").inner_text()

    page.get_by_text("Add a webhook").click()
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("post_project").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Add the webhook").click()
    assert page.get_by_text("The webhook answered the test call and is active.").is_visible()
    hooks = sdk.webhook.list()
    assert [(h.url, h.events, h.status) for h in hooks] == [(receiver.url, "post_project", "active")]

    with page.expect_navigation():
        page.get_by_role("button", name="Pause").click()
    assert [h.status for h in sdk.webhook.list()] == ["paused"]
    held = sdk.projects.create("Made while paused")
    with page.expect_navigation():
        page.get_by_role("button", name="Enable").click()
    assert [h.status for h in sdk.webhook.list()] == ["active"]
    assert receiver.wait_for(lambda: any(e["object"]["id"] == str(held.id) for e in receiver.events()))
    page.get_by_role("link", name="Settings", exact=True).first.click()
    hook_row = page.locator("#webhooks tbody tr")
    assert hook_row.count() == 1 and "Active" in hook_row.inner_text()
    screenshot(page, "settings")

    page.goto(server.url + f"/settings/webhooks/{hooks[0].id}")
    assert page.get_by_role("heading", name="Delivery log").is_visible()
    rows = page.locator("table.log tbody tr")
    assert rows.count() == 1
    assert re.search(r"post_project\s+Delivered\s+200\s+\d+ ms", rows.first.inner_text())
    assert_no_critical_axe(page)
    screenshot(page, "webhook-log")
