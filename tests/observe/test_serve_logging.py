"""What `localsection serve` writes: exactly one access line per request on stdout (uvicorn's own access log is
off), every line in the chosen format (JSON here), and nothing per request when the access log is off."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import httpx

from tests.observe.conftest import LiveServer, live_server, new_account


def test_one_json_line_per_request_and_uvicorn_logs_in_json_too(observed_server: LiveServer) -> None:
    from worksection.client import Client

    acct = new_account(observed_server)
    sdk = Client(acct.url).set_api_key(acct.api_key)
    sdk.members.list()
    sdk.projects.list()
    missing = f"/nothing-{secrets.token_hex(4)}"
    assert httpx.get(observed_server.url + missing, timeout=30).status_code == 404

    lines = observed_server.access_lines(until=lambda lines: any(line["path"] == missing for line in lines))
    mine = [line for line in lines if line["account"] == acct.name]
    assert [(line["action"], line["scheme"], line["caller"], line["status"]) for line in mine] == [
        ("get_users", "admin_header", "admin key", 200), ("get_projects", "admin_header", "admin key", 200)]
    assert [line["status"] for line in lines if line["path"] == missing] == [404]
    assert all(line["level"] == "info" and line["time"].endswith("Z") and line["duration_ms"] >= 0 for line in mine)
    stdout = observed_server.stdout.read_text()
    assert "HTTP/1.1" not in stdout  # no uvicorn access line
    assert acct.api_key not in stdout + observed_server.stderr.read_text()
    started = [json.loads(line) for line in observed_server.stderr.read_text().splitlines() if line.startswith("{")]
    assert any(line["logger"] == "uvicorn.error" and "Started server process" in line["message"] for line in started)


def test_no_access_line_when_the_access_log_is_off(tmp_path: Path) -> None:
    with live_server(tmp_path, {"LOCALSECTION_ACCESS_LOG": "0"}) as srv:
        for _ in range(3):
            assert httpx.get(f"{srv.url}/livez", timeout=30).status_code == 200
        assert httpx.get(f"{srv.url}/api/admin/v2?action=get_users&hash=x", timeout=30).json()["status_code"] == 2
    stdout = srv.stdout.read_text()
    assert "/livez" not in stdout and "access" not in stdout and "get_users" not in stdout
    assert "localsection is serving the Worksection API" in stdout
    # text format: `<time> INFO uvicorn.error: Started server process [pid]`
    assert any(" INFO uvicorn.error: Started server process" in line for line in srv.stderr.read_text().splitlines())
