"""Transport (PROTOCOL.md §1): paths, methods, parameter merging, envelopes, status codes, caps, headers."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from localsection import clock
from localsection.api.endpoint import apply_legacy_page
from localsection.api.params import Params
from localsection.app import create_app
from localsection.errors import ApiError
from localsection.state import AppState
from tests.helpers import ADMIN_PATH, USER_PATH, Api

CONTACT = {"email": "brian.dragonfly@gmail.com", "name": "Brian Dragonfly"}


def admin(api: Api, method: str, action: str | None, path: str = ADMIN_PATH, query: str = "",
          **kwargs: Any) -> httpx.Response:
    """A raw request signed with the SDK's Admin header for `action` (the action goes in the query)."""
    qs = "&".join(s for s in ((f"action={action}" if action is not None else ""), query) if s)
    headers = {"Host": api.host, "Authorization": api.admin_header(action or ""), **kwargs.pop("headers", {})}
    resp: httpx.Response = api.client.request(method, f"{path}?{qs}", headers=headers, follow_redirects=False,
                                              **kwargs)
    return resp


def md5_url(api: Api, query: str, path: str = ADMIN_PATH) -> str:
    """A URL signed the Postman way: md5 over the raw, unencoded `k=v&...` string plus the key."""
    return f"{path}?{query}&hash={hashlib.md5((query + api.api_key).encode()).hexdigest()}"


def app_with(api: Api, **settings: Any) -> Api:
    """The same account served by an app built with changed settings (same database)."""
    state = AppState(api.state.settings.with_(**settings), api.state.db)
    return dataclasses.replace(api, client=TestClient(create_app(state=state), base_url="http://testserver"))


# -- paths and methods ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/admin/v2", "/api/admin/v2/"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_admin_path_answers_get_and_post_with_and_without_trailing_slash(api: Api, path: str, method: str) -> None:
    resp = admin(api, method, "get_users", path=path)
    assert resp.status_code == 200
    assert resp.json()["data"][0]["email"] == api.owner_email


@pytest.mark.parametrize("path", ["/api/oauth2", "/api/oauth2/"])
def test_user_path_answers_with_and_without_trailing_slash(api: Api, path: str) -> None:
    resp = api.client.get(f"{path}?action=me", follow_redirects=False,
                          headers={"Host": api.host, "Authorization": f"Bearer {api.token()}"})
    assert resp.status_code == 200
    assert resp.json()["data"]["email"] == api.owner_email


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_get_405_with_a_json_body(api: Api, method: str) -> None:
    resp = admin(api, method, "get_users")
    assert resp.status_code == 405
    assert resp.json() == {"status": "error", "message": "Method not allowed"}


def test_unknown_path_is_404_json(api: Api) -> None:
    resp = api.client.get("/api/admin/v3?action=get_users", headers={"Host": api.host})
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/json")
    assert resp.json()["status"] == "error"


def test_api_responses_carry_the_worksection_headers(api: Api) -> None:
    resp = admin(api, "GET", "get_users")
    assert resp.headers["content-type"] == "application/json; charset=utf-8"
    assert resp.headers["cache-control"] == "no-store, no-cache, must-revalidate"
    assert resp.headers["pragma"] == "no-cache"
    assert resp.headers["expires"] == "Thu, 19 Nov 1981 08:52:00 GMT"
    assert resp.headers["x-frame-options"] == "SAMEORIGIN"
    assert resp.headers["access-control-allow-origin"] == "*"


# -- where parameters come from -------------------------------------------------------------------


def test_form_body_is_merged_with_the_query_and_overrides_it(api: Api) -> None:
    resp = admin(api, "POST", "add_contact", query="email=brian%40x.com&title=from-query",
                 data={"name": "Brian Dragonfly", "title": "from-body"})
    data = resp.json()["data"]
    assert (data["email"], data["name"], data["title"]) == ("brian@x.com", "Brian Dragonfly", "from-body")


def test_multipart_text_fields_are_parameters(api: Api) -> None:
    resp = admin(api, "POST", "add_contact", query="email=m%40x.com",
                 data={"name": "Multi Part", "phone": "12 34"}, files={"attachment": ("a.txt", b"hello")})
    data = resp.json()["data"]
    assert (data["name"], data["phone"]) == ("Multi Part", "12 34")


def test_json_body_numbers_and_booleans_are_normalised_to_strings(api: Api) -> None:
    resp = admin(api, "POST", "add_contact", json={**CONTACT, "phone": 12345, "title": True, "phone2": 1.0})
    data = resp.json()["data"]
    assert (data["phone"], data["title"], data["phone2"]) == ("12345", "1", "1")


def test_a_body_naming_another_action_than_the_query_is_refused_and_changes_nothing(api: Api) -> None:
    resp = admin(api, "POST", "get_users", json={"action": "add_user", "email": "x@y.com"})
    assert resp.json() == {"status": "error", "status_code": 2, "message": "Action hash is missed or invalid"}
    assert [u["email"] for u in api.ok("get_users")] == [api.owner_email]


def test_a_body_repeating_the_querys_action_is_accepted(api: Api) -> None:
    resp = admin(api, "POST", "get_users", json={"action": "get_users"})
    assert [u["email"] for u in resp.json()["data"]] == [api.owner_email]


def test_the_action_may_come_from_the_body_alone(api: Api) -> None:
    resp = api.client.post(ADMIN_PATH, data={"action": "get_users"},
                           headers={"Host": api.host, "Authorization": api.admin_header("get_users")})
    assert resp.json()["status"] == "ok"


def test_repeated_key_keeps_the_last_value(api: Api) -> None:
    body = admin(api, "GET", "add_contact", query="email=a%40b.co&name=A+B&title=first&title=second").json()
    assert body["data"]["title"] == "second"


def test_key_without_equals_sign_is_an_empty_value(api: Api) -> None:
    body = admin(api, "GET", "add_user_group", query="title").json()
    assert body == {"status": "error", "status_code": 10, "message": "Field is required", "message_details": "title"}


def test_empty_optional_parameter_counts_as_not_given(api: Api) -> None:
    body = admin(api, "POST", "add_contact", json={**CONTACT, "group": "", "title": ""}).json()
    assert body["data"]["group"] == "DEFAULT"
    assert body["data"]["title"] == ""


def test_unparseable_json_body_is_treated_as_empty(api: Api) -> None:
    resp = admin(api, "POST", "get_users", content=b"{not json", headers={"Content-Type": "application/json"})
    assert resp.json()["status"] == "ok"


def test_empty_body_with_a_json_content_type_is_legal(api: Api) -> None:
    resp = admin(api, "POST", "get_users", content=b"", headers={"Content-Type": "application/json; charset=utf-8"})
    assert resp.json()["status"] == "ok"


def test_plus_in_a_postman_query_decodes_to_a_space_and_the_signature_still_matches(api: Api) -> None:
    # Postman sends the literal `+` and %-encodes spaces, but hashes the raw, unencoded values.
    signed = "action=add_contact&email=brian.dragonfly@gmail.com&name=Brian Dragonfly&phone=+1 345 234 23 67"
    digest = hashlib.md5((signed + api.api_key).encode()).hexdigest()
    wire = signed.replace(" ", "%20")
    body = api.client.get(f"{ADMIN_PATH}?{wire}&hash={digest}", headers={"Host": api.host}).json()
    assert body["status"] == "ok", body
    assert body["data"]["phone"] == "1 345 234 23 67"


def test_nul_characters_in_values_are_dropped_instead_of_failing(api: Api) -> None:
    body = admin(api, "POST", "add_user_group", json={"title": "Night\u0000Shift"}).json()
    assert body["data"]["title"] == "NightShift"


def test_json_arrays_become_comma_lists_for_list_params_and_lists_for_todo() -> None:
    p = Params()
    p.add_json({"members": ["a@x.com", "b@x.com"], "extra": ["text", "files"], "todo": ["one", "two"],
                "files": [{"id": "1"}], "data": {"a@x.com": {"2024-01-01": "vacation"}}, "id_task": 7})
    assert p.values["members"] == "a@x.com,b@x.com"
    assert p.extra() == {"text", "files"}
    assert p.multi("todo") == ["one", "two"]
    assert p.raw("files") == [{"id": "1"}]
    assert p.raw("data") == {"a@x.com": {"2024-01-01": "vacation"}}
    assert p.text("id_task") == "7"


def test_repeated_bracket_keys_collect_a_list_and_todo_equals_todo_brackets() -> None:
    p = Params()
    p.add_pairs([("todo[]", "draft"), ("todo[]", "final"), ("title", "a"), ("title", "b")])
    assert p.multi("todo") == ["draft", "final"]
    assert p.text("title") == "b"


@pytest.mark.parametrize("key", ["options.allow_close", "options_allow_close", "options[allow_close]"])
def test_every_spelling_of_an_option_lands_in_the_options_map(key: str) -> None:
    p = Params()
    p.add_pairs([(key, "1")])
    assert p.values["options"] == {"allow_close": "1"}


def test_a_json_options_object_is_kept_as_an_object() -> None:
    p = Params()
    p.add_json({"options": {"allow_close": 1}})
    assert p.values["options"] == {"allow_close": 1}


# -- envelopes and codes --------------------------------------------------------------------------


def test_unknown_action_is_code_0_with_http_200(api: Api) -> None:
    resp = admin(api, "GET", "no_such_action")
    assert resp.status_code == 200
    assert resp.json() == {"status": "error", "status_code": 0, "message": "Action is invalid"}


def test_missing_action_is_code_1(api: Api) -> None:
    resp = admin(api, "GET", None)
    assert resp.status_code == 200
    assert resp.json() == {"status": "error", "status_code": 1, "message": "Action is required"}


def test_list_actions_always_carry_a_data_list(api: Api) -> None:
    body = admin(api, "GET", "get_contacts").json()
    assert body == {"status": "ok", "data": []}


def test_legacy_page_parameter_maps_to_project_and_task_ids() -> None:
    p = Params(values={"page": "/project/193/"})
    apply_legacy_page(p)
    assert p.values["id_project"] == "193"
    p = Params(values={"page": "/project/8562/331894/331914/"})
    apply_legacy_page(p)
    assert p.values["id_task"] == "331914"


def test_unparseable_legacy_page_is_code_3(api: Api) -> None:
    body = admin(api, "GET", "get_users", query="page=/tasks/1/").json()
    assert body == {"status": "error", "status_code": 3, "message": "Page is invalid"}


def test_action_alias_from_the_postman_typo_is_served(api: Api) -> None:
    body = admin(api, "GET", "add_project_groups", query="title=Folder").json()
    assert body.get("status_code") != 0, body


# -- the user path's 401s ------------------------------------------------------------------------


def _user_get(api: Api, headers: dict[str, str], query: str = "action=get_users") -> httpx.Response:
    resp: httpx.Response = api.client.get(f"{USER_PATH}?{query}", headers={"Host": api.host, **headers})
    return resp


def test_user_path_without_a_token_is_401_access_token_is_missing(api: Api) -> None:
    resp = _user_get(api, {})
    assert resp.status_code == 401
    assert resp.json() == {"status": "error", "message": "Access token is missing",
                           "errorDescription": "Access token is missing"}


def test_user_path_with_a_garbage_token_is_401_access_token_is_invalid(api: Api) -> None:
    resp = _user_get(api, {"Authorization": "Bearer not.a.jwt"})
    assert resp.status_code == 401
    assert resp.json()["errorDescription"] == "Access token is invalid"


def test_user_path_with_an_expired_token_is_401_with_the_exact_sdk_text(api: Api) -> None:
    clock.shift(-2 * 86400)
    try:
        token = api.token()
    finally:
        clock.shift(2 * 86400)
    resp = _user_get(api, {"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    assert resp.json() == {"status": "error", "message": "Access token is expired",
                           "errorDescription": "Access token is expired"}


def test_access_token_parameter_is_accepted_on_the_user_path(api: Api) -> None:
    resp = _user_get(api, {}, query=f"action=get_users&access_token={api.token()}")
    assert resp.json()["status"] == "ok"


# -- size caps -----------------------------------------------------------------------------------


def test_an_8_kb_url_works(api: Api) -> None:
    resp = admin(api, "GET", "get_users", query="pad=" + "x" * 8192)
    assert resp.status_code == 200
    assert resp.json()["status"] == "ok"


def test_a_url_over_the_cap_is_414_json(api: Api) -> None:
    resp = admin(api, "GET", "get_users", query="pad=" + "x" * (api.state.settings.max_url_bytes + 1))
    assert resp.status_code == 414
    assert resp.json() == {"status": "error", "message": "Request URL is too long"}


def test_a_body_over_the_cap_is_413_json(api: Api) -> None:
    small = app_with(api, max_params_bytes=1000)
    resp = admin(small, "POST", "add_contact", json={**CONTACT, "title": "x" * 2000})
    assert resp.status_code == 413
    assert resp.json() == {"status": "error", "message": "Request body is too large"}


def test_a_chunked_body_over_the_cap_is_413_json(api: Api) -> None:
    small = app_with(api, max_params_bytes=1000)

    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"title=" + b"x" * 500

    resp = admin(small, "POST", "add_user_group", content=chunks(),
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 413
    assert resp.json()["message"] == "Request body is too large"


# -- health --------------------------------------------------------------------------------------


def test_livez_and_readyz_answer_ok(client: TestClient) -> None:
    assert client.get("/livez").json() == {"status": "ok"}
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok"}


def test_readyz_is_503_json_when_the_database_is_unreachable(backend: AppState) -> None:
    settings = backend.settings.with_(database_url="postgresql://nobody@127.0.0.1:1/none")
    resp = TestClient(create_app(state=AppState(settings))).get("/readyz")
    assert resp.status_code == 503
    assert resp.json()["status"] == "error"


# -- rate limit (§9.1) ---------------------------------------------------------------------------


def test_without_a_configured_rate_many_quick_requests_all_pass(api: Api) -> None:
    assert all(admin(api, "GET", "get_user_groups").status_code == 200 for _ in range(12))


def test_with_a_rate_the_excess_is_429_with_retry_after(api: Api) -> None:
    limited = app_with(api, rate_limit_per_second=0.5, rate_limit_burst=2)
    codes = [admin(limited, "GET", "get_user_groups").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    resp = admin(limited, "GET", "get_user_groups")
    assert resp.json() == {"status": "error", "message": "Too many requests"}
    assert int(resp.headers["retry-after"]) >= 1


def test_rate_buckets_are_per_credential(api: Api) -> None:
    limited = app_with(api, rate_limit_per_second=0.5, rate_limit_burst=1)
    assert admin(limited, "GET", "get_users").status_code == 200
    assert admin(limited, "GET", "get_users").status_code == 429
    token_resp = limited.client.get(f"{USER_PATH}?action=get_users",
                                    headers={"Host": api.host, "Authorization": f"Bearer {api.token()}"})
    assert token_resp.status_code == 200


def test_a_server_bug_still_answers_json(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from localsection.actions import members

    def boom(*_: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setattr(members, "_teams", boom)
    resp = admin(api, "GET", "get_users")
    assert resp.status_code == 500
    assert resp.json() == {"status": "error", "message": "Internal server error"}


def test_api_error_envelope_has_details_only_when_given() -> None:
    assert ApiError(10, "Field is required", "email").body() == {
        "status": "error", "status_code": 10, "message": "Field is required", "message_details": "email"}
    assert "message_details" not in json.dumps(ApiError(0, "Action is invalid").body())
