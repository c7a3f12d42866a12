"""An emulator app (control API on) over the session's database, and accounts reached through it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from localsection.api.emulation import Emulation, emulation_for
from localsection.app import create_app
from localsection.state import AppState
from tests.conftest import new_account_name
from tests.helpers import Api


@pytest.fixture(scope="module")
def emu_state(backend: AppState) -> AppState:
    return AppState(backend.settings.with_(emulator=True), backend.db)


@pytest.fixture(scope="module")
def ctl(emu_state: AppState) -> TestClient:
    """The emulator app (no lifespan: the shared engine stays open)."""
    return TestClient(create_app(state=emu_state), base_url="http://testserver")


@pytest.fixture
def emu(emu_state: AppState) -> Iterator[Emulation]:
    """The emulator's fault rules and realistic switches, emptied after each test."""
    state = emulation_for(emu_state)
    yield state
    state.clear_faults()
    state.realistic_accounts = set()
    state.realistic_at_creation = set()


@pytest.fixture
def acct(emu_state: AppState, ctl: TestClient, emu: Emulation) -> Api:
    """A fresh account whose API calls go through the emulator app."""
    return Api.create(emu_state, ctl, new_account_name())


@pytest.fixture
def acct2(emu_state: AppState, ctl: TestClient, emu: Emulation) -> Api:
    return Api.create(emu_state, ctl, new_account_name())
