"""`localsection serve`: the banner comes once the port answers, shows the real port, and `--port 0` works."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from localsection.dev import temporary_postgres_database
from tests.conftest import BACKENDS, PG_URL

ENTRY_POINT = str(Path(sys.executable).with_name("localsection"))


def start(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LOCALSECTION_")}
    clean.update({"LOCALSECTION_DATA_DIR": str(data_dir), "LOCALSECTION_DURABILITY": "normal",
                  "LOCALSECTION_LOG_LEVEL": "warning", **(env or {})})
    return subprocess.Popen([ENTRY_POINT, "serve", *args], env=clean, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def banner(proc: subprocess.Popen[str], timeout: float = 60) -> dict[str, str]:
    """The banner's `key: value` lines, read as the server prints them."""
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line, f"serve exited before its banner: {proc.stderr.read() if proc.stderr else ''}"
        lines.append(line.rstrip("\n"))
        if line.startswith("  owner password:"):
            break
    assert lines[0] == "localsection is serving the Worksection API and its web app"
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}


def stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_port_0_serves_on_a_free_port_shown_in_a_banner_printed_once_it_answers(tmp_path: Path) -> None:
    proc = start(tmp_path / "data", "--port", "0")
    try:
        shown = banner(proc)
        url = shown["URL"]
        port = int(re.fullmatch(r"http://127\.0\.0\.1:(\d+)", url).group(1))  # type: ignore[union-attr]
        assert port != 0
        # The banner comes after startup: the very first request is answered, no retry needed.
        assert httpx.get(f"{url}/livez", timeout=5).json() == {"status": "ok"}
        query = "action=get_users"
        signed = hashlib.md5((query + shown["admin API key"]).encode()).hexdigest()
        users = httpx.get(f"{url}/api/admin/v2/?{query}&hash={signed}", timeout=5).json()
        assert [u["email"] for u in users["data"]] == [shown["owner e-mail"]]
        # Links the server builds use the real port too.
        assert users["data"][0]["avatar"].startswith(f"{url}/avatars/")
    finally:
        stop(proc)
    # Ctrl-C stops it cleanly: exit status 0, no traceback, the port is closed.
    assert proc.returncode == 0
    assert proc.stderr is not None and "Traceback" not in proc.stderr.read()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/livez", timeout=2)


def test_keep_alive_answers_are_not_held_back_by_nagle(tmp_path: Path) -> None:
    """An answer goes out in two writes (head, body): with Nagle on, each waited ~40 ms for the delayed ACK."""
    proc = start(tmp_path / "data", "--port", "0")
    try:
        url = banner(proc)["URL"]
        with httpx.Client(timeout=5) as client:
            client.get(f"{url}/livez")
            took = []
            for _ in range(15):
                start_at = time.perf_counter()
                assert client.get(f"{url}/livez").status_code == 200
                took.append(time.perf_counter() - start_at)
        assert sorted(took)[len(took) // 2] < 0.025, f"median {sorted(took)[len(took) // 2] * 1000:.0f} ms"
    finally:
        stop(proc)


@pytest.mark.skipif("postgres" not in BACKENDS, reason="PostgreSQL does not answer")
def test_several_workers_serve_one_postgresql_database(tmp_path: Path) -> None:
    with temporary_postgres_database(PG_URL, "ls_serve") as url:
        assert url is not None
        proc = start(tmp_path / "data", "--port", "0", "--workers", "2", env={"LOCALSECTION_DATABASE_URL": url})
        try:
            shown = banner(proc)
            answers = {httpx.get(f"{shown['URL']}/livez", timeout=5).status_code for _ in range(4)}
            assert answers == {200}
        finally:
            stop(proc)
