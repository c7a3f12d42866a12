"""Browser tests: Playwright for Python driving Debian's chromium against a real `localsection serve` process.

Playwright's own browser download is not reachable here: chromium is launched by its path, CHROMIUM. Without it
the browser tests skip with the reason, unless LOCALSECTION_TEST_REQUIRE_BROWSER=1 (CI), where they fail.

Fixtures and helpers for page tests:
- `live_server` (session): a real server on a free port (tests/compat/conftest.py `running_server`), SQLite;
  `.url`, `.owner_email`, `.owner_password`, `.api_key`, `.cli(...)`.
- `page`: a fresh browser context and page (1280x800, English).
- `signed_in_page`: `page` signed in as the owner, on the page sign-in leads to.
- `sign_in(page, server, email, password)`, `assert_no_critical_axe(page)`, `screenshot(page, name)`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import Server, running_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# The README's screenshots are taken by the browser tests: into docs/screenshots with `make screenshots`
# (LOCALSECTION_TEST_SCREENSHOTS=docs), otherwise into a temporary folder, so a test run leaves the tree as it was.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
REQUIRE = bool(os.environ.get("LOCALSECTION_TEST_REQUIRE_BROWSER"))


def _check_browser() -> None:
    if CHROMIUM.exists():
        return
    reason = f"{CHROMIUM} is missing (apt-get install chromium); browser tests need Debian's chromium"
    if REQUIRE:
        pytest.fail(f"LOCALSECTION_TEST_REQUIRE_BROWSER is set but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    _check_browser()
    with running_server(tmp_path_factory.mktemp("browser-data")) as srv:
        yield srv


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Module scope, not session: Playwright's sync API keeps an event loop running in this thread while it is
    open, and a later test of this worker that calls asyncio.run() (the API's streaming tests) would fail."""
    _check_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page: Any, server: Server, email: str | None = None, password: str | None = None) -> None:
    """Fill in and submit the sign-in form; waits until the browser has left /login."""
    page.goto(server.url + "/login")
    page.get_by_label("E-mail").fill(email or server.owner_email)
    page.get_by_label("Password").fill(password or server.owner_password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert "/login" not in page.url, page.content()[:500]


@pytest.fixture
def signed_in_page(page: Any, live_server: Server) -> Any:
    """A page signed in as the owner of the server's account."""
    sign_in(page, live_server)
    return page


def assert_no_critical_axe(page: Any) -> None:
    """Run axe-core (shipped by axe-playwright-python, no network) on the page; fail on any critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    critical = [v for v in results.response["violations"] if v.get("impact") == "critical"]
    assert not critical, results.generate_report()


def screenshot(page: Any, name: str) -> Path:
    """Save <name>.png: in docs/screenshots (the README shows these) when LOCALSECTION_TEST_SCREENSHOTS=docs,
    else in a temporary folder (still taken, so a page that cannot be rendered fails either way)."""
    if os.environ.get("LOCALSECTION_TEST_SCREENSHOTS") == "docs":
        folder = DOCS_SCREENSHOTS
    else:
        folder = Path(tempfile.gettempdir()) / f"localsection-screenshots-{os.getpid()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
