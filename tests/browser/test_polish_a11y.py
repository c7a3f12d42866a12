"""In chromium: axe on every page of the web app (signed out, signed in, admin subpages, the delete
confirmation, 404s) in English and Ukrainian finds no critical violation; no page breaks the tab order with a
positive tabindex; the keyboard reaches the content through the skip link and moves a card on the board."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from worksection.client import Client

from tests.browser.conftest import assert_no_critical_axe, sign_in
from tests.compat.conftest import Server, running_server
from tests.webhook_receiver import running_receiver

POSITIVE_TABINDEX = "Array.from(document.querySelectorAll('[tabindex]')).filter(e => e.tabIndex > 0).length"


@pytest.fixture(scope="module")
def own_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own: what this module creates stays out of the other browser tests' pages and screenshots."""
    with running_server(Path(tmp_path_factory.mktemp("a11y-data"))) as srv:
        yield srv


def _check(page: Any, url: str, *, status: int = 200) -> None:
    response = page.goto(url)
    assert response is not None and response.status == status, (url, response and response.status)
    assert_no_critical_axe(page)
    assert page.evaluate(POSITIVE_TABINDEX) == 0, url
    assert page.locator("main").count() == 1 and page.locator("h1").count() >= 1, url


def _account(server: Server) -> str:
    return str(json.loads(server.cli("accounts", "list", "--json"))[0]["name"])


def test_every_page_passes_axe_and_keeps_a_sane_tab_order(chromium: Any, own_server: Server) -> None:
    sdk = Client(own_server.url).set_api_key(own_server.api_key)
    url = own_server.url
    project = sdk.projects.create(f"Axe {secrets.token_hex(3)}")
    pid = int(project.id)
    task = sdk.tasks.create(pid, "Check the contrast", {"text": "<p>With <b>bold</b> text</p>"})
    sub = sdk.tasks.create(pid, "Check the labels", {"id_parent": int(task.id)})
    sdk.comments.create(int(task.id), "A first comment")
    sdk.costs.create(int(task.id), {"time": "0:45", "email_user_from": own_server.owner_email})
    link = own_server.cli("users", "reset-link", "--account", _account(own_server),
                           "--email", own_server.owner_email).strip()
    with running_receiver() as receiver:
        hook = sdk.webhook.create(receiver.url, ["post_task"])
        for locale in ("en-US", "uk-UA"):
            context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale=locale)
            try:
                page = context.new_page()
                page.set_default_timeout(15_000)
                for path in ("/login", "/password/forgot"):
                    _check(page, url + path)
                sign_in_page = context.new_page()  # the reset link stays unused: only looked at
                _check(sign_in_page, link)
                sign_in_page.close()
                _check(page, url + "/nowhere", status=404)
                sign_in(page, own_server) if locale == "en-US" else _sign_in_uk(page, own_server)
                for path in ("/projects", "/projects?status=archive", "/projects/new", f"/project/{pid}/edit",
                             f"/project/{pid}/members", f"/project/{pid}/", f"/project/{pid}/board",
                             f"/project/{pid}/tasks/new", f"/project/{pid}/{task.id}/",
                             f"/project/{pid}/{task.id}/{sub.id}/", f"/project/{pid}/{task.id}/edit",
                             f"/project/{pid}/{task.id}/delete", "/reports", "/people", "/settings",
                             f"/settings/webhooks/{hook}", "/me"):
                    _check(page, url + path)
                for path in ("/nowhere", f"/project/{pid + 10_000}/", f"/project/{pid}/999999999/",
                             "/settings/webhooks/999999999"):
                    _check(page, url + path, status=404)
            finally:
                context.close()
        sdk.webhook.delete(hook)


def _sign_in_uk(page: Any, server: Server) -> None:
    page.goto(server.url + "/login")
    page.get_by_label("Електронна пошта").fill(server.owner_email)
    page.get_by_label("Пароль").fill(server.owner_password)
    with page.expect_navigation():
        page.get_by_role("button", name="Увійти").click()
    assert "/login" not in page.url


def test_the_keyboard_skips_to_the_content_and_moves_a_card(page: Any, own_server: Server) -> None:
    sdk = Client(own_server.url).set_api_key(own_server.api_key)
    status = {t.title: str(t.id) for t in sdk.tasks.tags({"group": "Status"})}
    pid = int(sdk.projects.create(f"Keys {secrets.token_hex(3)}").id)
    tid = str(sdk.tasks.create(pid, "Move me by keyboard", {"tags": "To do"}).id)
    sign_in(page, own_server)
    page.goto(f"{own_server.url}/project/{pid}/board")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    # From the content on, Tab goes through the board in reading order until the card's "Move to" list.
    move_to = page.get_by_label("Move Move me by keyboard to")
    for _ in range(60):
        page.keyboard.press("Tab")
        if move_to.evaluate("e => e === document.activeElement"):
            break
        assert page.evaluate("!!document.activeElement.closest('main')"), "focus left the content"
    else:
        raise AssertionError("the card's Move to list was not reached with Tab")
    for _ in range(6):
        page.keyboard.press("ArrowDown")  # to the last status: Done
    assert move_to.evaluate("e => e.selectedOptions[0].textContent") == "Done"
    page.keyboard.press("Tab")  # the Move button
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.locator(f'section[data-tag="{status["Done"]}"] li[data-task="{tid}"]').wait_for()
    assert sdk.tasks.get(int(tid)).tags == {status["Done"]: "Done"}
