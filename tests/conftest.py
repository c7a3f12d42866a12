"""Test fixtures: every test runs on SQLite and (when it answers) PostgreSQL, in an account of its own.

Accounts isolate all data, so tests share one migrated database per backend and never see each
other's rows: each test creates fresh accounts.
"""

from __future__ import annotations

import functools
import os
import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from localsection import accounts, actions, bootstrap
from localsection.app import create_app
from localsection.config import Settings
from localsection.db import Database
from localsection.dev import sqlalchemy_url, temporary_postgres_database
from localsection.state import AppState
from tests.helpers import Api

actions.load_all()  # the registry is filled as create_app fills it; some tests read it before any app exists

# Every test creates accounts whose owners share one password: hash it once (argon2 costs ~0.1-0.5 s a call).
accounts.hash_password = functools.lru_cache(maxsize=32)(accounts.hash_password)  # type: ignore[assignment]

PG_URL = os.environ.get("LOCALSECTION_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_available() -> bool:
    if os.environ.get("LOCALSECTION_TEST_SKIP_POSTGRES"):
        return False
    try:
        engine = create_engine(sqlalchemy_url(PG_URL), connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


BACKENDS = ["sqlite"] + (["postgres"] if _postgres_available() else [])
if os.environ.get("LOCALSECTION_TEST_REQUIRE_POSTGRES") and "postgres" not in BACKENDS:
    raise RuntimeError(f"PostgreSQL is required but does not answer at {PG_URL}")


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppState]:
    """A migrated database (fresh SQLite file, or a fresh PostgreSQL database) with its AppState."""
    data_dir: Path = tmp_path_factory.mktemp(f"data-{request.param}")
    with ExitStack() as stack:
        if request.param == "postgres":
            url = stack.enter_context(temporary_postgres_database(PG_URL, "ls_test"))
            assert url is not None, f"PostgreSQL stopped answering at {PG_URL}"
            settings = Settings(data_dir=data_dir, database_url=url, durability="normal")
        else:
            settings = Settings(data_dir=data_dir, durability="normal")
        settings = settings.with_(allow_private_webhooks=True, run_webhook_worker=False)
        state = AppState(settings, Database(settings))
        bootstrap.upgrade(state.db)
        yield state
        state.db.dispose()


REDIS_URL = os.environ.get("LOCALSECTION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The real Redis on 127.0.0.1:6379. Without it the test is skipped, unless LOCALSECTION_TEST_REQUIRE_REDIS=1
    (CI) makes that a failure."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        problem = f"Redis does not answer at {REDIS_URL} ({type(exc).__name__})"
        if os.environ.get("LOCALSECTION_TEST_REQUIRE_REDIS") == "1":
            pytest.fail(problem + " and LOCALSECTION_TEST_REQUIRE_REDIS=1")
        pytest.skip(problem + ": start redis-server to run the tests that need it")
    return REDIS_URL


@pytest.fixture(scope="session")
def client(backend: AppState) -> Iterator[TestClient]:
    app = create_app(state=backend)
    with TestClient(app, base_url="http://testserver") as c:
        yield c


def new_account_name() -> str:
    return "t" + secrets.token_hex(6)


@pytest.fixture
def api(backend: AppState, client: TestClient) -> Api:
    """A fresh account, called through the admin API in-process (Admin HMAC header)."""
    return Api.create(backend, client, new_account_name())


@pytest.fixture
def other(backend: AppState, client: TestClient) -> Api:
    """A second, unrelated account (isolation tests)."""
    return Api.create(backend, client, new_account_name())
