"""The pytest plugin (entry point `pytest11: localsection`): fixtures only, nothing runs unless a test asks.

* `localsection_server` (session): a `localsection serve --emulator` process on a free port with its own
  temporary data directory, started on first use and stopped at the end of the session. Under pytest-xdist every
  worker starts its own (the server's clock is process-wide, so workers never see each other's clock moves).
* `localsection` (function): a fresh account on that server, reached by path (`.url` is `…/a/<name>`), deleted
  after the test with the faults, snapshots and clock moves the test made through it. The marker
  `@pytest.mark.localsection(realistic=True, owner_email=...)` sets how it is made.

Options (command line, ini file or environment, in that order of precedence):
  --localsection-url / localsection_url / LOCALSECTION_TEST_URL: use a server already running (a container, say)
      instead of starting one; it must have the emulator switched on.
  --localsection-database-url / localsection_database_url / LOCALSECTION_TEST_DATABASE_URL: run the server on
      PostgreSQL; `{worker}` in it is replaced by the xdist worker id (`gw0`, …, `main` without xdist), so each
      worker gets a database of its own (created when missing).
  --localsection-env KEY=VALUE (repeatable) / localsection_env (ini, one per line): LOCALSECTION_* settings for
      the started server, e.g. LOCALSECTION_REALISTIC=1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from localsection.testing.client import Account, LocalsectionServer


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("localsection", "localsection (a local Worksection API server for tests)")
    group.addoption("--localsection-url", default=None,
                    help="use this running localsection server (emulator on) instead of starting one")
    group.addoption("--localsection-database-url", default=None,
                    help="PostgreSQL URL for the started server; {worker} becomes the xdist worker id")
    group.addoption("--localsection-env", action="append", default=[], metavar="KEY=VALUE",
                    help="a LOCALSECTION_* setting for the started server (repeat), e.g. LOCALSECTION_REALISTIC=1")
    parser.addini("localsection_url", "use this running localsection server (emulator on)", default="")
    parser.addini("localsection_database_url", "PostgreSQL URL for the started server ({worker}: xdist worker id)",
                  default="")
    parser.addini("localsection_env", "LOCALSECTION_* settings for the started server, KEY=VALUE per line",
                  type="linelist", default=[])


def _server_env(config: pytest.Config) -> dict[str, str]:
    """--localsection-env and the localsection_env ini lines (the command line wins), checked."""
    env: dict[str, str] = {}
    for item in [*config.getini("localsection_env"), *config.getoption("--localsection-env")]:
        key, sep, value = str(item).partition("=")
        key = key.strip()
        if not sep or not key.startswith("LOCALSECTION_"):
            raise pytest.UsageError(f"localsection: {item!r} is not a LOCALSECTION_*=VALUE setting")
        env[key] = value.strip()
    return env


def pytest_configure(config: pytest.Config) -> None:
    """Declares the marker and checks the options, so a typo stops the run at once rather than in a test."""
    config.addinivalue_line("markers", "localsection(realistic=False, owner_email=None): how the `localsection` "
                                       "fixture makes the test's account")
    _server_env(config)


def _worker_id(config: pytest.Config) -> str:
    """This process's xdist worker id (`gw0`, …), or `main` without xdist (read from the config, not the
    environment, which a pytest run inside a worker inherits)."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput.get("workerid", "main")) if isinstance(workerinput, dict) else "main"


def _setting(config: pytest.Config, name: str, env: str) -> str:
    value = config.getoption(f"--{name.replace('_', '-')}") or config.getini(name) or os.environ.get(env, "")
    return str(value).strip()


class _RunningServer:
    """A server someone else started (`--localsection-url`): the same surface as LocalsectionServer, no stop."""

    def __init__(self, url: str) -> None:
        from localsection.testing.client import ControlClient

        self.url = url.rstrip("/")
        self.control = ControlClient(self.url)

    def new_account(self, name: str | None = None, owner_email: str | None = None,
                    realistic: bool | None = None) -> Account:
        from localsection.testing.client import Account, free_name

        return Account(self.control, self.control.create_account(name or free_name(), owner_email, realistic))

    def stop(self) -> None:
        self.control.close()


@pytest.fixture(scope="session")
def localsection_server(request: pytest.FixtureRequest,
                        tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalsectionServer]:
    """A localsection server with the emulator on, for the whole session (one per xdist worker)."""
    from localsection.testing.client import LocalsectionServer

    config = request.config
    url = _setting(config, "localsection_url", "LOCALSECTION_TEST_URL")
    if url:
        running = _RunningServer(url)
        yield running  # type: ignore[misc]  # duck-typed: url, control, new_account, stop
        running.stop()
        return
    worker = _worker_id(config)
    database_url = _setting(config, "localsection_database_url", "LOCALSECTION_TEST_DATABASE_URL")
    data_dir = tmp_path_factory.mktemp(f"localsection-{worker}")
    server = LocalsectionServer.start(data_dir=data_dir, env=_server_env(config),
                                      database_url=database_url.replace("{worker}", worker) or None)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def localsection(request: pytest.FixtureRequest, localsection_server: LocalsectionServer) -> Iterator[Account]:
    """A fresh account on the session's server, reached by path; removed after the test.

    `@pytest.mark.localsection(realistic=True, owner_email="boss@acme.test")` on a test (or its class or module)
    sets how the account is made."""
    marker = request.node.get_closest_marker("localsection")
    options = dict(marker.kwargs) if marker is not None else {}
    unknown = sorted(set(options) - {"realistic", "owner_email"})
    if unknown or (marker is not None and marker.args):
        raise pytest.UsageError(f"@pytest.mark.localsection takes realistic= and owner_email= only, not "
                                f"{', '.join(unknown) or 'positional arguments'}")
    account = localsection_server.new_account(owner_email=options.get("owner_email"),
                                              realistic=options.get("realistic"))
    try:
        yield account
    finally:
        account.cleanup()
