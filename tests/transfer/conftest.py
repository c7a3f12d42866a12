"""A second, fresh server of the OTHER database kind (round trips cross SQLite <-> PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from localsection import bootstrap
from localsection.app import create_app
from localsection.config import Settings
from localsection.db import Database
from localsection.dev import temporary_postgres_database
from localsection.state import AppState
from tests.conftest import BACKENDS, PG_URL
from tests.helpers import Api


@dataclass
class Target:
    state: AppState
    client: TestClient
    kind: str

    def api_for(self, source: Api, name: str | None = None) -> Api:
        """The same account (same key, ids, owner) as seen through this server."""
        from dataclasses import replace

        return replace(source, state=self.state, client=self.client, account=name or source.account)


def fresh_state(kind: str, data_dir: Path, stack: ExitStack) -> AppState:
    if kind == "postgres":
        url = stack.enter_context(temporary_postgres_database(PG_URL, "ls_xfer"))
        assert url is not None
        settings = Settings(data_dir=data_dir, database_url=url, durability="normal")
    else:
        settings = Settings(data_dir=data_dir, durability="normal")
    settings = settings.with_(allow_private_webhooks=True, run_webhook_worker=False)
    state = AppState(settings, Database(settings))
    bootstrap.upgrade(state.db)
    stack.callback(state.db.dispose)
    return state


@pytest.fixture
def other_target(backend: AppState, tmp_path: Path) -> Iterator[Target]:
    """A fresh, migrated server on the other database (the same kind when only SQLite runs)."""
    kind = "postgres" if backend.db.dialect == "sqlite" and "postgres" in BACKENDS else "sqlite"
    with ExitStack() as stack:
        state = fresh_state(kind, tmp_path / "target-data", stack)
        client = stack.enter_context(TestClient(create_app(state=state), base_url="http://testserver"))
        yield Target(state, client, kind)
