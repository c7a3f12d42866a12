"""Fixtures of the observability tests: log lines captured as `serve` formats them, and a real server (emulator,
metrics, JSON logs)."""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from localsection.observe.accesslog import ACCESS_LOGGER, JsonFormatter, TextFormatter
from tests.compat.conftest import free_port
from tests.helpers import stop_process

CLIENT_SIDE = ("httpx", "httpcore")


class Lines(logging.Handler):
    """A handler keeping each record formatted both ways."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.text: list[str] = []
        self.json: list[str] = []
        self._text, self._json = TextFormatter(), JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(CLIENT_SIDE):
            return  # the test's own HTTP client logs the URLs it calls, secrets included: not the server's log
        self.text.append(self._text.format(record))
        self.json.append(self._json.format(record))

    def access(self) -> list[str]:
        return [line for line in self.text if line[24:32] == " access "]

    def clear(self) -> None:
        self.text.clear()
        self.json.clear()


@pytest.fixture
def log_lines() -> Iterator[Lines]:
    """Every access line and every other log record (root and localsection.*, INFO and up) while the test runs."""
    lines = Lines()
    access, root, ours = logging.getLogger(ACCESS_LOGGER), logging.getLogger(), logging.getLogger("localsection")
    saved = (access.level, access.propagate, root.level, ours.level)
    access.addHandler(lines)
    access.setLevel(logging.INFO)
    access.propagate = False
    root.addHandler(lines)
    root.setLevel(logging.INFO)
    ours.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        access.removeHandler(lines)
        root.removeHandler(lines)
        access.setLevel(saved[0])
        access.propagate = saved[1]
        root.setLevel(saved[2])
        ours.setLevel(saved[3])


@dataclass
class LiveServer:
    url: str
    api_key: str
    stdout: Path  # the access lines
    stderr: Path
    env: dict[str, str]

    def access_lines(self, until: Callable[[list[dict[str, Any]]], bool] = lambda _: True) -> list[dict[str, Any]]:
        """The JSON access lines written so far, once `until(lines)` holds (or after 10 s): a line is written just
        after its answer is sent, so a client can look before the server wrote it."""
        deadline = time.monotonic() + 10
        while True:
            lines = [json.loads(line) for line in self.stdout.read_text().splitlines() if line.startswith("{")]
            lines = [line for line in lines if line.get("logger") == ACCESS_LOGGER]
            if until(lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)


@contextmanager
def live_server(tmp: Path, extra_env: dict[str, str], *args: str) -> Iterator[LiveServer]:
    """`localsection serve ARGS` on a free port (SQLite in `tmp` unless the env names a database), stdout and
    stderr in files."""
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LOCALSECTION_")},
           "LOCALSECTION_DATA_DIR": str(tmp / "data"), "LOCALSECTION_PORT": str(port),
           "LOCALSECTION_DURABILITY": "normal", "LOCALSECTION_ALLOW_PRIVATE_WEBHOOKS": "1", **extra_env}
    creds = json.loads(subprocess.run([sys.executable, "-m", "localsection", "init", "--json"], env=env, check=True,
                                      capture_output=True, text=True, timeout=120).stdout)
    out, err = tmp / "stdout.log", tmp / "stderr.log"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "localsection", "serve", *args], env=env, stdout=stdout,
                                stderr=stderr)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"{url}/livez", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("server did not start: " + err.read_text())
            time.sleep(0.1)
        yield LiveServer(url, creds["api_key"], out, err, env)
    finally:
        stop_process(proc)


@pytest.fixture(scope="session")
def observed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real server with the emulator (journal), metrics on (loopback only) and JSON logs."""
    with live_server(tmp_path_factory.mktemp("observed"), {"LOCALSECTION_EMULATOR": "1", "LOCALSECTION_METRICS": "on",
                                                           "LOCALSECTION_LOG_FORMAT": "json"}) as srv:
        yield srv


@dataclass
class EmulatedAccount:
    name: str
    url: str
    api_key: str
    owner_email: str
    owner_password: str


def new_account(server: LiveServer) -> EmulatedAccount:
    """A fresh account through the control API, reached by path."""
    name = "o" + secrets.token_hex(5)
    made = httpx.post(f"{server.url}/_localsection/accounts", json={"name": name}, timeout=30).json()
    return EmulatedAccount(made["account"], made["url"], made["api_key"], made["owner"]["email"],
                           made["owner"]["password"])
