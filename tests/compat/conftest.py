"""A real `localsection serve` process on a free port, driven over real HTTP (official SDK, httpx)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.helpers import stop_process


@dataclass
class Server:
    url: str
    api_key: str
    owner_email: str
    owner_password: str
    data_dir: Path
    env: dict[str, str]

    def cli(self, *args: str) -> str:
        """Run `localsection ARGS` against this server's data (same database)."""
        out = subprocess.run([sys.executable, "-m", "localsection", *args], env=self.env, check=True,
                             capture_output=True, text=True, timeout=120)
        return out.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: Path, extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], Server]:
    port = free_port()
    env = {**os.environ, "LOCALSECTION_DATA_DIR": str(data_dir), "LOCALSECTION_PORT": str(port),
           "LOCALSECTION_HOST": "127.0.0.1", "LOCALSECTION_ALLOW_PRIVATE_WEBHOOKS": "1",
           "LOCALSECTION_DURABILITY": "normal", **(extra_env or {})}
    if "LOCALSECTION_DATABASE_URL" not in (extra_env or {}):
        env.pop("LOCALSECTION_DATABASE_URL", None)
    init = subprocess.run([sys.executable, "-m", "localsection", "init", "--json"], env=env, check=True,
                          capture_output=True, text=True, timeout=120)
    creds = json.loads(init.stdout)
    proc = subprocess.Popen([sys.executable, "-m", "localsection", "serve"], env=env, text=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("server did not start: " + (proc.stderr.read() if proc.stderr else ""))
    return proc, Server(url, creds["api_key"], creds["owner"]["email"], creds["owner"]["password"], data_dir, env)


@contextmanager
def running_server(data_dir: Path, extra_env: dict[str, str] | None = None) -> Iterator[Server]:
    """start_server for the length of a block; the process is terminated (killed after 10 s) afterwards."""
    proc, srv = start_server(data_dir, extra_env)
    try:
        yield srv
    finally:
        stop_process(proc, timeout=10)


@contextmanager
def emulator_server(backend: str, data_dir: Path, database: str) -> Iterator[Server]:
    """A real server with the emulator's control API on `backend` ("sqlite", or "postgres": a temporary PostgreSQL
    database named after `database`), for the length of a block."""
    from localsection.dev import temporary_postgres_database
    from tests.conftest import PG_URL

    env = {"LOCALSECTION_EMULATOR": "1"}
    with ExitStack() as stack:
        if backend == "postgres":
            url = stack.enter_context(temporary_postgres_database(PG_URL, database))
            assert url is not None
            env["LOCALSECTION_DATABASE_URL"] = url
        yield stack.enter_context(running_server(data_dir, env))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server on SQLite for the compat suite."""
    with running_server(tmp_path_factory.mktemp("compat-data")) as srv:
        yield srv


@pytest.fixture
def sdk(server: Server):  # type: ignore[no-untyped-def]
    """The official SDK (worksection-api-client 2.1.2) with the admin API key."""
    from worksection.client import Client

    return Client(server.url).set_api_key(server.api_key)
