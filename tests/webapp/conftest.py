"""Fixtures of the web app tests: a fresh app per test (its own sign-in throttle) over the shared databases,
and browsers (WebClient) for the test's account. Every test runs on SQLite and PostgreSQL (tests/conftest.py)."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from localsection.app import create_app
from localsection.state import AppState
from tests.helpers import Api
from tests.webapp.helpers import WebClient, web_client


@pytest.fixture
def web_app(backend: AppState) -> Starlette:
    """The app (no lifespan: the shared database stays open)."""
    return create_app(state=backend)


@pytest.fixture
def web(web_app: Starlette, api: Api) -> WebClient:
    """A browser on the account's host, not signed in."""
    return web_client(web_app, api)


@pytest.fixture
def owner_web(web: WebClient) -> WebClient:
    """A browser signed in as the account's owner."""
    web.sign_in()
    return web
