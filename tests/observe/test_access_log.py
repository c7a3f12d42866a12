"""The access log: one line per request with action, account, scheme, caller, status and duration — and never a
secret, whatever the scheme that carried it (md5 `hash`, Admin header, bearer token, OAuth client secret, code and
refresh token, the sign-in password, a webhook's http_pass)."""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from localsection.observe import accesslog
from localsection.observe.record import RequestRecord
from localsection.state import AppState
from tests.helpers import ADMIN_PATH, Api
from tests.observe.conftest import Lines
from tests.test_oauth_flow import Browser
from tests.webhook_receiver import running_receiver


def access_json(lines: Lines) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines.json if '"logger":"localsection.access"' in line]


def test_every_scheme_leaves_one_line_per_request_and_no_line_holds_a_secret(
        backend: AppState, api: Api, log_lines: Lines) -> None:
    secrets_seen: list[str] = [api.api_key, api.owner_password]
    # md5 `hash` in the query string
    query = "action=get_users"
    signed = hashlib.md5((query + api.api_key).encode()).hexdigest()
    secrets_seen.append(signed)
    assert api.client.get(f"{ADMIN_PATH}?{query}&hash={signed}", headers={"Host": api.host}).json()["status"] == "ok"
    # the Admin header (the official SDK's scheme), with a webhook carrying http_pass
    http_pass = "hp-" + secrets.token_hex(8)
    secrets_seen += [http_pass, api.admin_header("add_webhook").split("_", 1)[1]]
    with running_receiver() as receiver:
        api.ok("add_webhook", url=receiver.url, events="post_task", http_user="bot", http_pass=http_pass)
    # a bearer token, in the header and as access_token
    token = api.token()
    secrets_seen.append(token)
    assert api.user_call(token, "me")["status"] == "ok"
    assert api.client.get(f"/api/oauth2?action=me&access_token={token}", headers={"Host": api.host}).json()[
        "status"] == "ok"
    # the OAuth flow: sign-in form (password), code + client_secret, refresh_token
    browser = Browser(backend, api)
    client_id, client_secret = browser.register()
    code = browser.code(client_id)
    pair = browser.token(client_id, client_secret, code)
    renewed = browser.refresh(client_id, client_secret, pair["refresh_token"])
    assert "access_token" in renewed, renewed
    secrets_seen += [client_secret, code, pair["access_token"], pair["refresh_token"], renewed["access_token"],
                     renewed["refresh_token"]]

    everything = "\n".join(log_lines.text + log_lines.json)
    for secret in secrets_seen:
        assert secret not in everything
    lines = access_json(log_lines)
    by_scheme = {(line["scheme"], line["caller"], line["action"] or line["path"]) for line in lines}
    assert ("md5", "admin key", "get_users") in by_scheme
    assert ("admin_header", "admin key", "add_webhook") in by_scheme
    assert ("bearer", api.owner_email, "me") in by_scheme
    assert ("password", api.owner_email, "/oauth2/login") in by_scheme
    assert ("session", api.owner_email, "/oauth2/authorize") in by_scheme
    assert ("client", client_id, "/oauth2/token") in by_scheme
    assert ("client", client_id, "/oauth2/refresh") in by_scheme
    assert all(line["account"] == api.account for line in lines)
    assert all(line["status"] in (200, 302, 303) and line["duration_ms"] > 0 for line in lines)
    # one line per request: 5 API calls (get_users, add_webhook, me twice... ) plus the pages and token calls
    api_lines = [line for line in lines if line["action"]]
    assert [line["action"] for line in api_lines] == ["get_users", "add_webhook", "me", "me"]


def test_a_refused_call_is_logged_with_its_error_code_and_no_caller(api: Api, log_lines: Lines) -> None:
    wrong = hashlib.md5(b"action=get_users" + b"not the key").hexdigest()
    body = api.client.get(f"{ADMIN_PATH}?action=get_users&hash={wrong}", headers={"Host": api.host}).json()
    assert body["status_code"] == 2
    (line,) = access_json(log_lines)
    assert line["outcome"] == "error_2" and line["code"] == 2 and line["caller"] == "" and line["scheme"] == "md5"
    assert line["account"] == api.account and line["action"] == "get_users"
    (text,) = log_lines.access()
    assert "outcome=error_2" in text and "caller=-" in text and wrong not in text


def test_an_expired_token_is_an_http_401_outcome(api: Api, log_lines: Lines) -> None:
    assert api.user_call("not.a.token", "me")["_http"] == 401
    (line,) = access_json(log_lines)
    assert line["status"] == 401 and line["outcome"] == "http_401" and line["scheme"] == "bearer"
    assert "not.a.token" not in "\n".join(log_lines.text)


def test_pages_outside_the_api_are_logged_too_and_a_hostile_path_cannot_forge_a_line(
        api: Api, log_lines: Lines) -> None:
    assert api.client.get("/livez").status_code == 200
    assert api.client.get("/no/such%0Afake access%20line").status_code == 404  # the ASGI path is decoded
    text = log_lines.access()
    assert len(text) == 2 and all("\n" not in line for line in text)
    assert 'path="/livez" status=200 outcome=ok' in text[0]
    assert 'path="/no/such\\nfake access line" status=404 outcome=http_404' in text[1]


def test_the_access_line_is_built_only_when_the_logger_is_on(log_lines: Lines) -> None:
    rec = RequestRecord("GET", "/x")
    rec.http_status = 200
    accesslog.log.setLevel("WARNING")
    accesslog.emit(rec)
    assert log_lines.text == []
    accesslog.log.setLevel("INFO")
    accesslog.emit(rec)
    assert len(log_lines.access()) == 1
