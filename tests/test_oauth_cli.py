"""`localsection apps create/list/delete` and `localsection tokens issue`, run against the test database."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import jwt
import pytest
from typer.testing import CliRunner

from localsection import cli
from localsection.models import OAuthApp
from localsection.state import AppState
from tests.helpers import Api
from tests.test_oauth_flow import REDIRECT, Browser, postman_example


@pytest.fixture
def run(backend: AppState) -> Any:
    """Invoke the CLI with this backend's data directory and database."""
    env = {"LOCALSECTION_DATA_DIR": str(backend.settings.data_dir),
           "LOCALSECTION_DATABASE_URL": backend.settings.database_url}
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True) -> Any:
        result = runner.invoke(cli.app, list(args), env=env)
        assert (result.exit_code == 0) is ok, result.output
        return json.loads(result.stdout) if ok and "--json" in args else result

    return invoke


def test_apps_create_prints_a_32_hex_client_id_and_a_secret_stored_only_as_a_hash(run: Any, api: Api,
                                                                                 backend: AppState) -> None:
    created = run("apps", "create", "--account", api.account, "--name", "Acme Sync", "--redirect-uri", REDIRECT,
                  "--redirect-uri", "http://localhost:8080/cb", "--json")
    assert list(created) == ["client_id", "client_secret"] and re.fullmatch(r"[0-9a-f]{32}", created["client_id"])
    with backend.db.session(write=False) as s:
        row = s.query(OAuthApp).filter_by(client_id=created["client_id"]).one()
        assert row.secret_hash == hashlib.sha256(created["client_secret"].encode()).hexdigest()
        assert row.redirect_uris == [REDIRECT, "http://localhost:8080/cb"]
    listed = run("apps", "list", "--account", api.account, "--json")
    assert [a["client_id"] for a in listed] == [created["client_id"]]
    assert created["client_secret"] not in json.dumps(listed)


def test_an_app_created_on_the_command_line_completes_the_browser_flow(run: Any, api: Api,
                                                                        backend: AppState) -> None:
    created = run("apps", "create", "--account", api.account, "--name", "CLI app", "--redirect-uri", REDIRECT,
                  "--json")
    browser = Browser(backend, api)
    body = browser.token(created["client_id"], created["client_secret"], browser.code(created["client_id"]))
    assert browser.api_call(body["access_token"], "me")["status"] == "ok"


def test_apps_create_refuses_plain_http_redirects_except_to_localhost(run: Any, api: Api) -> None:
    result = run("apps", "create", "--account", api.account, "--name", "x", "--redirect-uri",
                 "http://app.example.com/cb", ok=False)
    assert result.exit_code == 2 and "https" in result.output
    assert run("apps", "list", "--account", api.account, "--json") == []


def test_apps_delete_removes_the_app_and_its_tokens_stop_working(run: Any, api: Api, backend: AppState) -> None:
    created = run("apps", "create", "--account", api.account, "--name", "Gone", "--redirect-uri", REDIRECT,
                  "--json")
    body = run("tokens", "issue", "--account", api.account, "--email", api.owner_email, "--scopes", "users_read",
               "--client-id", created["client_id"], "--json")
    run("apps", "delete", created["client_id"], "--account", api.account)
    assert run("apps", "list", "--account", api.account, "--json") == []
    assert api.user_call(body["access_token"], "me")["_http"] == 401


def test_apps_cannot_be_deleted_through_another_account(run: Any, api: Api, other: Api) -> None:
    created = run("apps", "create", "--account", api.account, "--name", "Mine", "--redirect-uri", REDIRECT,
                  "--json")
    result = run("apps", "delete", created["client_id"], "--account", other.account, ok=False)
    assert result.exit_code == 2
    assert len(run("apps", "list", "--account", api.account, "--json")) == 1


def test_tokens_issue_prints_the_token_endpoint_body_with_only_the_asked_scopes(run: Any, api: Api) -> None:
    body = run("tokens", "issue", "--account", api.account, "--email", api.owner_email, "--scopes",
               "users_read,tasks_read", "--json")
    token_keys = list(postman_example("oauth2_token", "success"))
    assert list(body) == [*token_keys, "client_id", "client_secret"]
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["scopes"] == [
        "tasks_read", "users_read"]
    assert api.user_call(body["access_token"], "get_users")["status"] == "ok"
    assert api.user_call(body["access_token"], "get_projects")["status_code"] == 20


def test_tokens_issued_for_a_named_app_can_be_refreshed_with_its_secret(run: Any, api: Api,
                                                                        backend: AppState) -> None:
    created = run("apps", "create", "--account", api.account, "--name", "Tests", "--redirect-uri", REDIRECT,
                  "--json")
    body = run("tokens", "issue", "--account", api.account, "--email", api.owner_email, "--scopes", "users_read",
               "--client-id", created["client_id"], "--json")
    renewed = Browser(backend, api).refresh(created["client_id"], created["client_secret"], body["refresh_token"])
    assert renewed["access_token"] and api.user_call(renewed["access_token"], "me")["status"] == "ok"


def test_tokens_issue_refuses_unknown_users_scopes_and_foreign_apps(run: Any, api: Api, other: Api) -> None:
    foreign = run("apps", "create", "--account", other.account, "--name", "Theirs", "--redirect-uri", REDIRECT,
                  "--json")
    for args in (["--email", "nobody@example.com", "--scopes", "users_read"],
                 ["--email", api.owner_email, "--scopes", "users_read,root_access"],
                 ["--email", other.owner_email, "--scopes", "users_read"],
                 ["--email", api.owner_email, "--scopes", "users_read", "--client-id", foreign["client_id"]]):
        assert run("tokens", "issue", "--account", api.account, *args, ok=False).exit_code == 2


def test_a_token_issued_without_an_app_refreshes_with_the_client_credentials_it_prints(
        run: Any, api: Api, backend: AppState) -> None:
    first = run("tokens", "issue", "--account", api.account, "--email", api.owner_email, "--scopes", "users_read",
                "--json")
    second = run("tokens", "issue", "--account", api.account, "--email", api.owner_email, "--json")
    assert (second["client_id"], second["client_secret"]) == (first["client_id"], first["client_secret"])
    listed = run("apps", "list", "--account", api.account, "--json")
    assert [(a["client_id"], a["name"]) for a in listed] == [(first["client_id"], "localsection CLI")]
    browser = Browser(backend, api)
    renewed = browser.refresh(first["client_id"], first["client_secret"], first["refresh_token"])
    assert api.user_call(renewed["access_token"], "me")["status"] == "ok"
    assert jwt.decode(renewed["access_token"], options={"verify_signature": False})["scopes"] == ["users_read"]
    assert browser.refresh(second["client_id"], second["client_secret"], second["refresh_token"])["access_token"]


def test_the_cli_app_of_another_data_directory_is_left_alone(run: Any, api: Api, backend: AppState,
                                                             tmp_path: Any) -> None:
    first = run("tokens", "issue", "--account", api.account, "--email", api.owner_email, "--json")
    elsewhere = {"LOCALSECTION_DATA_DIR": str(tmp_path),
                 "LOCALSECTION_DATABASE_URL": backend.settings.effective_database_url}
    result = CliRunner().invoke(cli.app, ["tokens", "issue", "--account", api.account, "--email", api.owner_email,
                                          "--json"], env=elsewhere)
    assert result.exit_code == 0, result.output
    other = json.loads(result.stdout.splitlines()[-1])
    assert other["client_id"] != first["client_id"]
    assert (tmp_path / "cli_oauth_apps.json").stat().st_mode & 0o777 == 0o600
    renewed = Browser(backend, api).refresh(first["client_id"], first["client_secret"], first["refresh_token"])
    assert renewed["access_token"]
