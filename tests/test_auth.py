"""Admin authentication (PROTOCOL.md §2.1-§2.2), token scopes and who may call what (§2.5-§2.6)."""

from __future__ import annotations

import hashlib
import time
import urllib.parse
from typing import Any

import pytest

from localsection.api.auth import md5_candidates
from localsection.api.params import Params
from tests.helpers import ADMIN_PATH, USER_PATH, Api
from tests.test_transport import app_with

HASH_ERROR = {"status": "error", "status_code": 2, "message": "Action hash is missed or invalid"}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def get(api: Api, query: str) -> dict[str, Any]:
    resp = api.client.get(f"{ADMIN_PATH}?{query}", headers={"Host": api.host})
    assert resp.status_code == 200
    return resp.json()  # type: ignore[no-any-return]


# -- md5 `hash` parameter: one test per way a client builds the signed string -------------------------


def test_seed_example_signature_is_one_of_the_candidates() -> None:
    query = "action=get_tasks&id_project=26"
    p = Params(raw_query=query + "&hash=ec3ab2c28f21b4a07424f8ed688d6644",
               query_pairs=[("action", "get_tasks"), ("id_project", "26"),
                            ("hash", "ec3ab2c28f21b4a07424f8ed688d6644")])
    p.add_pairs(p.query_pairs)
    candidates = [c for c, _ in md5_candidates(p, "get_tasks")]
    assert query in candidates
    assert md5(query + "7776461cd931e7b1c8e9632ff8e979ce") == "ec3ab2c28f21b4a07424f8ed688d6644"


def test_c1_url_encoded_raw_query_as_sent_is_accepted(api: Api) -> None:
    query = "action=add_user_group&title=Sales%20Team%20%2B%201"
    body = get(api, f"{query}&hash={md5(query + api.api_key)}")
    assert body["data"]["title"] == "Sales Team + 1"


def test_c2_postman_raw_unencoded_values_in_listed_order_are_accepted(api: Api) -> None:
    signed = "action=add_user_group&title=Sales Team&client=1"
    wire = urllib.parse.quote(signed, safe="=&")
    body = get(api, f"{wire}&hash={md5(signed + api.api_key)}")
    assert body["data"] == {**body["data"], "title": "Sales Team", "client": 1}


def test_c3_query_and_form_body_pairs_together_are_accepted(api: Api) -> None:
    digest = md5("action=add_user_group&title=Ops Team" + api.api_key)
    resp = api.client.post(f"{ADMIN_PATH}?action=add_user_group&hash={digest}", data={"title": "Ops Team"},
                           headers={"Host": api.host})
    assert resp.json()["data"]["title"] == "Ops Team"


def test_c4_old_php_sdk_multipart_body_with_http_build_query_encoding_is_accepted(api: Api) -> None:
    params = {"action": "add_contact", "email": "ann.lee@example.com", "name": "Ann Lee~"}
    signed = "action=add_contact&email=ann.lee%40example.com&name=Ann+Lee%7E"  # PHP http_build_query
    resp = api.client.post(ADMIN_PATH, headers={"Host": api.host},
                           files={**{k: (None, v) for k, v in params.items()},
                                  "hash": (None, md5(signed + api.api_key))})
    assert resp.json()["data"]["name"] == "Ann Lee~"


def test_c5_rfc3986_encoded_body_is_accepted(api: Api) -> None:
    signed = "action=add_user_group&title=Data%20Team"
    resp = api.client.post(ADMIN_PATH, headers={"Host": api.host},
                           data={"action": "add_user_group", "title": "Data Team", "hash": md5(signed + api.api_key)})
    assert resp.json()["data"]["title"] == "Data Team"


def test_c6_legacy_md5_of_action_and_key_is_accepted(api: Api) -> None:
    body = get(api, f"action=get_users&hash={md5('get_users' + api.api_key)}")
    assert body["status"] == "ok"


def test_c6_legacy_md5_of_page_action_and_key_is_accepted(api: Api) -> None:
    page = "/project/1/"
    body = get(api, f"action=get_users&page={page}&hash={md5(page + 'get_users' + api.api_key)}")
    assert body["status"] == "ok"


def test_uppercase_hex_hash_is_accepted(api: Api) -> None:
    body = get(api, f"action=get_users&hash={md5('action=get_users' + api.api_key).upper()}")
    assert body["status"] == "ok"


def test_wrong_hash_is_code_2_with_http_200_and_nothing_changes(api: Api) -> None:
    bad = md5("action=add_user_group&title=Nope" + "0" * 32)
    assert get(api, f"action=add_user_group&title=Nope&hash={bad}") == HASH_ERROR
    assert "Nope" not in [t["title"] for t in api.ok("get_user_groups")]


def test_missing_hash_and_no_header_is_code_2(api: Api) -> None:
    assert get(api, "action=get_users") == HASH_ERROR


def test_a_hash_signed_for_other_parameters_is_refused(api: Api) -> None:
    digest = md5("action=get_users" + api.api_key)
    assert get(api, f"action=add_user_group&title=X&hash={digest}") == HASH_ERROR


# -- "Authorization: Admin <t>_<hmac>" ----------------------------------------------------------


def _with_header(api: Api, header: str, action: str = "get_users") -> tuple[int, dict[str, Any]]:
    resp = api.client.post(f"{ADMIN_PATH}?action={action}", headers={"Host": api.host, "Authorization": header})
    return resp.status_code, resp.json()


def test_admin_header_with_a_good_signature_is_accepted(api: Api) -> None:
    status, body = _with_header(api, api.admin_header("get_users"))
    assert (status, body["status"]) == (200, "ok")


@pytest.mark.parametrize("header", [
    "Admin 1700000000_deadbeef",
    "Admin not-a-token",
    "Admin ",
    "Admin 12x_abc",
])
def test_admin_header_that_fails_verification_is_401_admin_token_is_invalid(api: Api, header: str) -> None:
    status, body = _with_header(api, header)
    assert status == 401
    assert body == {"status": "error", "message": "Admin token is invalid",
                    "errorDescription": "Admin token is invalid"}


def test_admin_header_signed_for_another_action_is_invalid(api: Api) -> None:
    status, body = _with_header(api, api.admin_header("get_contacts"), action="get_users")
    assert (status, body["message"]) == (401, "Admin token is invalid")


def test_admin_header_signed_with_another_key_is_invalid(api: Api) -> None:
    status, _ = _with_header(api, api.admin_header("get_users", key="f" * 32))
    assert status == 401


@pytest.mark.parametrize("skew", [-301, 301])
def test_admin_header_outside_the_300_second_window_is_401_outdated(api: Api, skew: int) -> None:
    status, body = _with_header(api, api.admin_header("get_users", t=int(time.time()) + skew))
    assert status == 401
    assert body == {"status": "error", "message": "Admin token is outdated",
                    "errorDescription": "Admin token is outdated"}


def test_admin_header_inside_the_window_is_accepted(api: Api) -> None:
    status, _ = _with_header(api, api.admin_header("get_users", t=int(time.time()) - 280))
    assert status == 200


def test_admin_header_window_is_configurable(api: Api) -> None:
    strict = app_with(api, admin_token_window=10)
    status, body = _with_header(strict, strict.admin_header("get_users", t=int(time.time()) - 60))
    assert (status, body["message"]) == (401, "Admin token is outdated")


def test_the_header_decides_when_both_header_and_hash_are_present(api: Api) -> None:
    good_hash = md5("action=get_users" + api.api_key)
    resp = api.client.get(f"{ADMIN_PATH}?action=get_users&hash={good_hash}",
                          headers={"Host": api.host, "Authorization": "Admin 1_bad"})
    assert resp.status_code == 401
    resp = api.client.get(f"{ADMIN_PATH}?action=get_users&hash=bad",
                          headers={"Host": api.host, "Authorization": api.admin_header("get_users")})
    assert resp.json()["status"] == "ok"


def test_a_bearer_token_on_the_admin_path_is_code_2(api: Api) -> None:
    status, body = _with_header(api, f"Bearer {api.token()}")
    assert (status, body) == (200, HASH_ERROR)


def test_the_admin_key_on_the_user_path_is_401_missing_token(api: Api) -> None:
    resp = api.client.get(f"{USER_PATH}?action=get_users&hash={md5('action=get_users' + api.api_key)}",
                          headers={"Host": api.host})
    assert resp.status_code == 401
    assert resp.json()["message"] == "Access token is missing"


# -- who the caller is ---------------------------------------------------------------------------


def test_admin_key_requests_act_as_the_owner(api: Api) -> None:
    me = api.ok("get_users", is_me_only=1)
    assert (me["email"], me["role"]) == (api.owner_email, "owner")
    owner_team = next(u for u in api.ok("get_users") if u["email"] == api.owner_email)["group"]
    assert api.add_user("new.hire@example.com")["group"] == owner_team


def test_me_with_the_admin_key_is_code_0_user_method_only(api: Api) -> None:
    assert api.error("me") == {"status": "error", "status_code": 0, "message": "Action is invalid",
                               "message_details": "user method: access token only"}


def test_me_with_a_token_is_the_token_users_profile_without_rate(api: Api) -> None:
    api.add_user("kate.greenway@ws.com", title="QA")
    body = api.user_call(api.token("kate.greenway@ws.com", scopes=[]), "me")
    assert body["_http"] == 200
    assert list(body["data"]) == ["id", "first_name", "last_name", "name", "title", "avatar", "group",
                                  "department", "role", "email"]
    data = body["data"]
    assert (data["email"], data["title"], data["role"]) == ("kate.greenway@ws.com", "QA", "user")


def test_a_token_without_the_scope_is_code_20_with_the_scope_named(api: Api) -> None:
    body = api.user_call(api.token(scopes=["tasks_read"]), "get_users")
    assert (body["_http"], body["status_code"], body["message"], body["message_details"]) == (
        200, 20, "Access denied", "users_read")


def test_a_token_with_the_scope_may_call_the_action(api: Api) -> None:
    body = api.user_call(api.token(scopes=["users_read"]), "get_users")
    assert body["status"] == "ok"


def test_a_reader_token_cannot_add_users(api: Api) -> None:
    api.add_user("reader@example.com", role="reader")
    body = api.user_call(api.token("reader@example.com"), "add_user", email="someone@example.com")
    assert (body["status_code"], body["message_details"]) == (20, "role")
    assert "someone@example.com" not in [u["email"] for u in api.ok("get_users")]


def test_a_plain_user_token_cannot_hand_out_admin_roles(api: Api) -> None:
    api.add_user("plain@example.com")
    body = api.user_call(api.token("plain@example.com"), "add_user", email="boss@example.com", role="admin")
    assert (body["status_code"], body["message_details"]) == (20, "role")


def test_rotating_the_key_makes_the_old_key_stop_working(api: Api) -> None:
    from localsection import accounts

    old = api.api_key
    with api.state.db.session() as s:
        new = accounts.rotate_key(s, api.account).api_key
    assert new != old
    assert get(api, f"action=get_users&hash={md5('action=get_users' + old)}") == HASH_ERROR
    assert get(api, f"action=get_users&hash={md5('action=get_users' + new)}")["status"] == "ok"
    status, _ = _with_header(api, api.admin_header("get_users", key=old))
    assert status == 401
