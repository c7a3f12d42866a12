"""Every misconfiguration ends the real `localsection` command in exactly one line on stderr and exit status 2.

Each row runs the installed entry point in a subprocess with a clean LOCALSECTION_* environment and checks
what an operator sees: status 2, one line naming the problem, no traceback, nothing on stdout, nothing changed.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ENTRY_POINT = str(Path(sys.executable).with_name("localsection"))


def localsection(data_dir: Path, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 60) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSECTION_")}
    clean.update({"LOCALSECTION_DATA_DIR": str(data_dir), "LOCALSECTION_DURABILITY": "normal", **(env or {})})
    return subprocess.run([ENTRY_POINT, *args], env=clean, capture_output=True, text=True, timeout=timeout,
                          check=False, cwd=data_dir.parent)


@dataclass
class Case:
    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    says: list[str] = field(default_factory=list)  # every one of these appears in the line
    setup: Callable[[Path], None] | None = None  # prepares the data directory (tmp_path / "data")


def _file_where_the_data_dir_goes(data: Path) -> None:
    data.write_text("not a directory")


CASES = [
    Case("port not a number", ["init"], {"LOCALSECTION_PORT": "abc"},
         ["LOCALSECTION_PORT", "'abc'", "whole number from 0 to 65535", "default (8000)"]),
    Case("durability fast", ["init"], {"LOCALSECTION_DURABILITY": "fast"},
         ["LOCALSECTION_DURABILITY", "'fast'", "one of full, normal"]),
    Case("log level chatty", ["serve"], {"LOCALSECTION_LOG_LEVEL": "chatty"},
         ["LOCALSECTION_LOG_LEVEL", "'chatty'", "critical, error, warning, info, debug, trace"]),
    Case("rate limit lots", ["accounts", "list"], {"LOCALSECTION_RATE_LIMIT": "lots"},
         ["LOCALSECTION_RATE_LIMIT", "'lots'", "a number of at least 0"]),
    Case("clock offset abc", ["accounts", "list"], {"LOCALSECTION_CLOCK_OFFSET": "abc"},
         ["LOCALSECTION_CLOCK_OFFSET", "'abc'", "a number"]),
    Case("database URL with a bad port", ["serve"],
         {"LOCALSECTION_DATABASE_URL": "postgresql://app:hunter2@db:port/app"},
         ["LOCALSECTION_DATABASE_URL", "app:***@db", "port is not a number"]),
    Case("PostgreSQL not listening", ["serve"],
         {"LOCALSECTION_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/app", "LOCALSECTION_DB_WAIT_SECONDS": "0"},
         ["cannot connect to PostgreSQL at 127.0.0.1:1", "Connection refused", "LOCALSECTION_DATABASE_URL"]),
    Case("PostgreSQL host unknown", ["accounts", "list"],
         {"LOCALSECTION_DATABASE_URL": "postgresql://postgres@no-such-host.invalid:5432/app"},
         ["cannot connect to PostgreSQL at no-such-host.invalid:5432"]),
    Case("data dir is a file", ["init"], {}, ["LOCALSECTION_DATA_DIR", "is a file, not a directory"],
         _file_where_the_data_dir_goes),
    Case("data dir cannot be created", ["db", "upgrade"], {"LOCALSECTION_DATA_DIR": "/sys/localsection-data"},
         ["LOCALSECTION_DATA_DIR=/sys/localsection-data", "not a writable directory"]),
    Case("OAuth key file missing", ["serve"], {"LOCALSECTION_OAUTH_PRIVATE_KEY_FILE": "/nonexistent/key.pem"},
         ["LOCALSECTION_OAUTH_PRIVATE_KEY_FILE=/nonexistent/key.pem", "no such file"]),
    Case("OAuth key file not a key", ["tokens", "issue", "--account", "x", "--email", "a@b.c"],
         {"LOCALSECTION_OAUTH_PRIVATE_KEY_FILE": "/etc/hostname"}, ["not a readable PEM RSA private key"]),
    Case("several workers on SQLite", ["serve", "--workers", "2"], {},
         ["--workers 2 needs PostgreSQL", "LOCALSECTION_DATABASE_URL"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_misconfiguration_ends_in_one_line_and_exit_status_2(case: Case, tmp_path: Path) -> None:
    data = tmp_path / "data"
    if case.setup is not None:
        case.setup(data)
    before = sorted(tmp_path.rglob("*"))
    out = localsection(data, *case.args, env=case.env)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    lines = out.stderr.splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: ")
    for text in case.says:
        assert text in lines[0]
    assert "hunter2" not in out.stderr
    assert out.stdout == ""
    assert sorted(tmp_path.rglob("*")) == before, "a refused command must not create anything"


@pytest.fixture
def taken_port() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock.getsockname()[1]
    sock.close()


def test_serve_on_a_port_in_use_says_so_in_one_line(tmp_path: Path, taken_port: int) -> None:
    data = tmp_path / "data"
    assert localsection(data, "db", "upgrade").returncode == 0
    out = localsection(data, "serve", "--port", str(taken_port))
    assert out.returncode == 2
    assert out.stderr.splitlines() == [
        f"error: port {taken_port} is already in use on 127.0.0.1: stop the other server or choose another port "
        "(--port or LOCALSECTION_PORT)"]
    assert out.stdout == ""


def test_db_upgrade_waits_for_postgresql_then_fails_in_one_line(tmp_path: Path) -> None:
    out = localsection(tmp_path / "data", "db", "upgrade",
                       env={"LOCALSECTION_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/app",
                            "LOCALSECTION_DB_WAIT_SECONDS": "1.5"})
    assert out.returncode == 2
    waiting, error = out.stderr.splitlines()
    assert waiting == "waiting for PostgreSQL at 127.0.0.1:1… (up to 1.5 s)"
    assert error.startswith("error: cannot connect to PostgreSQL at 127.0.0.1:1 after waiting 1.5 s")
