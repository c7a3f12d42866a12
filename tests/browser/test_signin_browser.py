"""In chromium: sign in, see the layout and the profile, pass axe; the screenshots for the README."""

from __future__ import annotations

from typing import Any

from tests.browser.conftest import assert_no_critical_axe, screenshot, sign_in
from tests.compat.conftest import Server


def test_sign_in_and_the_profile_in_a_real_browser(page: Any, live_server: Server) -> None:
    page.goto(live_server.url + "/")
    assert page.url.endswith("/login")
    assert page.get_by_role("heading", name="Sign in").is_visible()
    assert_no_critical_axe(page)
    screenshot(page, "login")

    page.get_by_label("E-mail").fill(live_server.owner_email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().strip() == "Wrong e-mail or password."

    sign_in(page, live_server)
    page.goto(live_server.url + "/me")
    nav = page.get_by_role("navigation", name="Main")
    for label in ("Projects", "People", "Reports", "Settings"):
        assert nav.get_by_role("link", name=label).is_visible()
    assert page.get_by_role("heading", name="Your profile").is_visible()
    assert page.get_by_text("This browser").is_visible()
    # the stylesheet and script loaded under the strict CSP (no inline code anywhere)
    assert page.evaluate("getComputedStyle(document.querySelector('.topbar')).backgroundColor") == "rgb(24, 34, 52)"
    assert_no_critical_axe(page)
    screenshot(page, "profile")

    # the language switch submits itself with JS (the button stays for no-JS use)
    with page.expect_navigation():
        page.get_by_label("Language of the pages").select_option("uk")
    assert page.get_by_role("heading", name="Ваш профіль").is_visible()
    with page.expect_navigation():
        page.get_by_label("Мова сторінок").select_option("")

    # keyboard: the skip link is the first stop and leads to the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"

    # sign out through the user menu
    page.locator("details.usermenu summary").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Sign out", exact=True).click()
    assert page.url.endswith("/login")
    page.goto(live_server.url + "/me")
    assert "/login?next=" in page.url
