"""Reliability suites: a quick size by default (CI, `make test`), the full size with LOCALSECTION_SOAK=1
(`make soak`) or `pytest tests/reliability --soak`. Every suite records its figure (writes lost, 5xx count,
leaks ...); they are printed together at the end of the run under "reliability figures".
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from localsection.dev import temporary_postgres_database
from tests.compat.conftest import Server, start_server
from tests.conftest import BACKENDS, PG_URL
from tests.helpers import stop_process

_FIGURES: list[str] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--soak", action="store_true", default=False, help="run the reliability suites at full size")


def soak_enabled(config: pytest.Config | None = None) -> bool:
    if os.environ.get("LOCALSECTION_SOAK", "").strip() in ("1", "true", "yes"):
        return True
    return bool(config is not None and config.getoption("--soak", default=False))


@pytest.fixture(scope="session")
def soak(pytestconfig: pytest.Config) -> bool:
    """True at full size."""
    return soak_enabled(pytestconfig)


@pytest.fixture(scope="session")
def size(soak: bool) -> Callable[[int, int], int]:
    """size(quick, full): the figure for this run's size."""
    return lambda quick, full: full if soak else quick


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record one quotable line (e.g. 'crash: 5 rounds, 3,200 acknowledged writes, 0 lost')."""

    def record(line: str) -> None:
        size_name = "full" if soak_enabled(request.config) else "quick"
        _FIGURES.append(f"[{size_name}] {request.node.name}: {line}")
        print(line)

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES:
        terminalreporter.section("reliability figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)


@contextmanager
def live_server(kind: str, data_dir: Path, extra_env: dict[str, str] | None = None,
                database_url: str | None = None) -> Iterator[tuple[subprocess.Popen[str], Server]]:
    """A real `localsection serve` on SQLite in data_dir, or on PostgreSQL (a fresh database unless given)."""
    env = dict(extra_env or {})
    with fresh_database(kind, database_url) as url:
        if url:
            env["LOCALSECTION_DATABASE_URL"] = url
        proc, server = start_server(data_dir, env)
        try:
            yield proc, server
        finally:
            stop_process(proc)


@contextmanager
def fresh_database(kind: str, given: str | None = None) -> Iterator[str | None]:
    """None for SQLite; for PostgreSQL the URL of a new database, dropped afterwards."""
    if kind != "postgres" or given:
        yield given
        return
    with temporary_postgres_database(PG_URL, "ls_rel") as url:
        yield url


@pytest.fixture(params=BACKENDS)
def server_kind(request: pytest.FixtureRequest) -> str:
    """Each live-server suite runs on SQLite and, when it answers, PostgreSQL."""
    return str(request.param)
