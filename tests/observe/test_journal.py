"""The emulator's request journal (`GET`/`DELETE /_localsection/requests`): every call an integration made, as the
official SDK made it, with its action, auth scheme, caller and redacted parameters; filters; clearing; absent
without the emulator."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from localsection.app import create_app
from localsection.observe.journal import Journal
from localsection.observe.record import RequestRecord
from localsection.state import AppState
from tests.observe.conftest import LiveServer, new_account
from tests.webhook_receiver import running_receiver


def journal(server: LiveServer, **filters: Any) -> list[dict[str, Any]]:
    resp = httpx.get(f"{server.url}/_localsection/requests", params=filters, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()["requests"]  # type: ignore[no-any-return]


def test_calls_made_with_the_official_sdk_appear_with_action_scheme_caller_and_redacted_params(
        observed_server: LiveServer) -> None:
    from worksection.client import Client

    acct = new_account(observed_server)
    sdk = Client(acct.url).set_api_key(acct.api_key)
    assert acct.owner_email in [u.email for u in sdk.members.list()]
    project = sdk.projects.create("Journal project", {"email_manager": acct.owner_email})
    sdk.tasks.create(int(project.id), "Journal task", {"priority": 7})
    http_pass = "hp-" + secrets.token_hex(8)
    with running_receiver() as receiver:
        sdk.webhook.create(receiver.url, ["post_task"], {"http_user": "bot", "http_pass": http_pass})

    entries = journal(observed_server, account=acct.name)
    assert [e["action"] for e in entries] == ["get_users", "post_project", "post_task", "add_webhook"]
    for e in entries:
        assert e["scheme"] == "admin_header" and e["caller"] == "admin key" and e["account"] == acct.name
        assert e["method"] == "POST" and e["path"] == f"/a/{acct.name}/api/admin/v2"
        assert e["http_status"] == 200 and e["status"] == "ok" and e["status_code"] is None and e["duration_ms"] > 0
    assert entries[1]["params"]["title"] == "Journal project"
    assert entries[2]["params"]["title"] == "Journal task" and entries[2]["params"]["priority"] in (7, "7")
    assert entries[3]["params"]["http_pass"] == "[redacted]" and entries[3]["params"]["http_user"] == "bot"
    assert http_pass not in json.dumps(entries)
    times = [e["time"] for e in entries]
    assert times == sorted(times) and [e["id"] for e in entries] == sorted(e["id"] for e in entries)  # newest last


def test_md5_and_bearer_calls_are_journaled_with_their_scheme_and_secrets_redacted(
        observed_server: LiveServer) -> None:
    acct = new_account(observed_server)
    query = "action=get_users"
    signed = hashlib.md5((query + acct.api_key).encode()).hexdigest()
    assert httpx.get(f"{acct.url}/api/admin/v2/?{query}&hash={signed}", timeout=30).json()["status"] == "ok"
    refused = httpx.get(f"{acct.url}/api/admin/v2/?{query}&hash=0123", timeout=30).json()
    assert refused["status_code"] == 2
    token = json.loads(observed_server_cli(observed_server, "tokens", "issue", "--account", acct.name, "--email",
                                           acct.owner_email, "--scopes", "users_read", "--json"))["access_token"]
    assert httpx.get(f"{acct.url}/api/oauth2", params={"action": "me", "access_token": token},
                     timeout=30).json()["status"] == "ok"

    ok, bad, me = journal(observed_server, account=acct.name)
    assert (ok["scheme"], ok["caller"], ok["params"]["hash"]) == ("md5", "admin key", "[redacted]")
    assert (bad["scheme"], bad["caller"], bad["status"], bad["status_code"], bad["outcome"]) == (
        "md5", "", "error", 2, "error_2")
    assert (me["scheme"], me["caller"], me["action"]) == ("bearer", acct.owner_email, "me")
    assert me["params"]["access_token"] == "[redacted]"
    dumped = json.dumps([ok, bad, me])
    assert signed not in dumped and token not in dumped and acct.api_key not in dumped


def observed_server_cli(server: LiveServer, *args: str) -> str:
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "localsection", *args], env=server.env, check=True,
                          capture_output=True, text=True, timeout=120).stdout


def test_filters_by_account_action_since_and_limit(observed_server: LiveServer) -> None:
    from worksection.client import Client

    first, second = new_account(observed_server), new_account(observed_server)
    Client(first.url).set_api_key(first.api_key).members.list()
    before = dt.datetime.now(dt.UTC)
    Client(second.url).set_api_key(second.api_key).members.list()
    Client(second.url).set_api_key(second.api_key).projects.list()
    Client(first.url).set_api_key(first.api_key).projects.list()

    assert [e["action"] for e in journal(observed_server, account=first.name)] == ["get_users", "get_projects"]
    assert [e["action"] for e in journal(observed_server, account=second.name, action="get_projects")] == [
        "get_projects"]
    since = journal(observed_server, since=before.isoformat())
    assert [(e["account"], e["action"]) for e in since if e["account"] in (first.name, second.name)] == [
        (second.name, "get_users"), (second.name, "get_projects"), (first.name, "get_projects")]
    newest = journal(observed_server, limit=1)
    assert len(newest) == 1 and newest[0]["account"] == first.name and newest[0]["action"] == "get_projects"
    # the control API's own requests are not journaled
    assert not [e for e in journal(observed_server) if e["path"].startswith("/_localsection")]


@pytest.mark.parametrize(("query", "names"), [("limit=0", "limit"), ("limit=abc", "limit"),
                                               ("since=yesterday", "since"), ("color=red", "color")])
def test_bad_filters_are_a_400_naming_the_parameter(observed_server: LiveServer, query: str, names: str) -> None:
    resp = httpx.get(f"{observed_server.url}/_localsection/requests?{query}", timeout=30)
    assert resp.status_code == 400 and names in resp.json()["message"]


def test_delete_clears_the_journal(observed_server: LiveServer) -> None:
    from worksection.client import Client

    acct = new_account(observed_server)
    Client(acct.url).set_api_key(acct.api_key).members.list()
    assert journal(observed_server, account=acct.name)
    cleared = httpx.delete(f"{observed_server.url}/_localsection/requests", timeout=30).json()
    assert cleared["status"] == "ok" and cleared["cleared"] >= 1
    assert journal(observed_server) == []
    Client(acct.url).set_api_key(acct.api_key).members.list()
    assert [e["action"] for e in journal(observed_server)] == ["get_users"]


def test_the_journal_is_absent_without_the_emulator(client: TestClient) -> None:
    assert client.get("/_localsection/requests").status_code == 404
    assert client.delete("/_localsection/requests").status_code == 404


def test_the_journal_keeps_only_the_newest_entries_of_its_size(backend: AppState) -> None:
    app = create_app(state=AppState(backend.settings.with_(emulator=True, journal_size=3), backend.db))
    with TestClient(app) as http:
        for i in range(5):
            http.get(f"/livez?n={i}")
        entries = http.get("/_localsection/requests").json()["requests"]
    assert [e["params"] for e in entries] == [{"n": "2"}, {"n": "3"}, {"n": "4"}]


def test_a_journal_entry_redacts_nested_and_url_secrets() -> None:
    rec = RequestRecord("POST", "/api/admin/v2")
    rec.params = {"url": "https://bot:hunter2@example.com/hook", "data": {"password": "p", "list": [{"token": "t"}]},
                  "text": "x" * 5000}
    box = Journal(10)
    box.add(rec)
    (entry,) = box.entries()
    assert entry["params"]["url"] == "https://bot:***@example.com/hook"
    assert entry["params"]["data"] == {"password": "[redacted]", "list": [{"token": "[redacted]"}]}
    assert len(entry["params"]["text"]) < 2100 and entry["params"]["text"].endswith("(3000 more)")
