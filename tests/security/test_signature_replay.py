"""Issue 11, findings 1-2: a captured md5 signature authorizes only what it signed (PROTOCOL.md §2.1).

Each test is the attack as it was run against main: a signature seen once is replayed with other parameters.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from tests.helpers import ADMIN_PATH, Api
from tests.test_files import upload
from tests.test_transport import app_with

HASH_ERROR = {"status": "error", "status_code": 2, "message": "Action hash is missed or invalid"}


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def emails(api: Api) -> list[str]:
    return sorted(u["email"] for u in api.ok("get_users"))


def projects(api: Api) -> list[str]:
    return [p["name"] for p in api.ok("get_projects")]


def captured_get_users(api: Api) -> str:
    """The hash of the URL an eavesdropper saw: GET ?action=get_users&hash=H (legacy md5(action + key) too)."""
    query = "action=get_users"
    seen = api.client.get(f"{ADMIN_PATH}?{query}&hash={md5(query + api.api_key)}", headers={"Host": api.host})
    assert seen.json()["status"] == "ok"
    return md5(query + api.api_key)


def test_a_json_body_cannot_turn_a_get_users_signature_into_add_user(api: Api) -> None:
    h = captured_get_users(api)
    resp = api.client.post(f"{ADMIN_PATH}?action=add_user&email=evil@x.test&role=admin&hash={h}",
                           json={"action": "action=get_users"}, headers={"Host": api.host})
    assert resp.json() == HASH_ERROR
    assert emails(api) == [api.owner_email]


def test_a_form_body_cannot_turn_a_get_users_signature_into_post_project(api: Api) -> None:
    h = captured_get_users(api)
    resp = api.client.post(f"{ADMIN_PATH}?action=post_project&title=Evil&hash={h}",
                           content="action=action%3Dget_users",
                           headers={"Host": api.host, "Content-Type": "application/x-www-form-urlencoded"})
    assert resp.json() == HASH_ERROR
    assert projects(api) == []


def test_legacy_page_plus_action_signs_only_the_dispatched_action(api: Api) -> None:
    """md5(action + key) is the old clients' scheme: it still works for the action it names, and only that one."""
    legacy = md5("get_users" + api.api_key)
    ok = api.client.get(f"{ADMIN_PATH}?action=get_users&hash={legacy}", headers={"Host": api.host}).json()
    assert ok["status"] == "ok"
    replay = api.client.post(f"{ADMIN_PATH}?action=add_user&email=evil@x.test&hash={legacy}",
                             json={"action": "get_users"}, headers={"Host": api.host}).json()
    assert replay == HASH_ERROR
    body_only = api.client.post(f"{ADMIN_PATH}?hash={legacy}", data={"action": "add_user", "email": "e@x.test"},
                                headers={"Host": api.host}).json()
    assert body_only == HASH_ERROR
    assert emails(api) == [api.owner_email]


def test_legacy_md5_can_be_switched_off(api: Api) -> None:
    strict = app_with(api, legacy_md5=False)
    legacy = md5("get_users" + api.api_key)
    assert strict.client.get(f"{ADMIN_PATH}?action=get_users&hash={legacy}",
                             headers={"Host": api.host}).json() == HASH_ERROR
    query = "action=get_users"
    full = strict.client.get(f"{ADMIN_PATH}?{query}&hash={md5(query + api.api_key)}", headers={"Host": api.host})
    assert full.json()["status"] == "ok"


def test_the_v1_admin_path_answers_like_v2_with_the_legacy_signature(api: Api) -> None:
    legacy = md5("get_users" + api.api_key)
    for path in ("/api/admin", "/api/admin/"):
        body = api.client.get(f"{path}?action=get_users&hash={legacy}", headers={"Host": api.host}).json()
        assert [u["email"] for u in body["data"]] == [api.owner_email]
        assert api.client.get(f"{path}?action=get_users&hash=0", headers={"Host": api.host}).json() == HASH_ERROR


# -- finding 2: the body may not override what a query-only signature covered ----------------------------------


def two_files(api: Api) -> tuple[int, int]:
    project = api.ok("post_project", title="P")["id"]
    ids = []
    for title, name, content in (("a", "one.txt", b"file one"), ("b", "secret.txt", b"the secret")):
        task = api.ok("post_task", id_project=project, title=title, files=upload(api, (name, content)))
        ids.append(int(api.ok("get_files", id_task=task["id"])[0]["id"]))
    return ids[0], ids[1]


def signed(api: Api, query: str) -> str:
    return f"{query}&hash={md5(query + api.api_key)}"


def test_a_body_id_file_cannot_replace_the_signed_one(api: Api) -> None:
    one, secret = two_files(api)
    url = f"{ADMIN_PATH}?{signed(api, f'action=download&id_file={one}')}"
    assert api.client.get(url, headers={"Host": api.host}).content == b"file one"
    replay = api.client.post(url, data={"id_file": str(secret)}, headers={"Host": api.host})
    assert replay.json() == HASH_ERROR
    replay_json = api.client.post(url, json={"id_file": secret}, headers={"Host": api.host})
    assert replay_json.json() == HASH_ERROR


def test_a_body_parameter_needs_a_signature_that_covers_the_body(api: Api) -> None:
    url = f"{ADMIN_PATH}?{signed(api, 'action=add_user_group&title=Readers')}"
    resp = api.client.post(url, data={"client": "1"}, headers={"Host": api.host}).json()
    assert resp == HASH_ERROR
    assert "Readers" not in [g["title"] for g in api.ok("get_user_groups")]
    # Signing query and body together (C3) is how a client authorizes body parameters.
    digest = md5("action=add_user_group&title=Readers&client=1" + api.api_key)
    both = api.client.post(f"{ADMIN_PATH}?action=add_user_group&title=Readers&hash={digest}", data={"client": "1"},
                           headers={"Host": api.host}).json()
    assert both["status"] == "ok"


def test_the_browser_link_serves_only_the_file_the_signature_names(api: Api) -> None:
    one, secret = two_files(api)
    query = signed(api, f"action=download&id_file={one}")
    assert api.client.get(f"/download/{one}/?{query}", headers={"Host": api.host}).content == b"file one"
    other = api.client.get(f"/download/{secret}/?{query}", headers={"Host": api.host})
    assert other.json() == HASH_ERROR
    unsigned_id = api.client.get(f"/download/{secret}/?{signed(api, 'action=download')}", headers={"Host": api.host})
    assert unsigned_id.json() == HASH_ERROR
    other_action = api.client.get(f"/download/{one}/?{signed(api, 'action=get_users')}", headers={"Host": api.host})
    assert other_action.json() == HASH_ERROR


def test_a_download_signature_cannot_be_moved_to_another_action(api: Api) -> None:
    one, _ = two_files(api)
    sig = md5(f"action=download&id_file={one}" + api.api_key)
    body: dict[str, Any] = api.client.get(f"{ADMIN_PATH}?action=get_users&id_file={one}&hash={sig}",
                                          headers={"Host": api.host}).json()
    assert body == HASH_ERROR


def test_unsigned_requests_are_refused_on_every_admin_path(api: Api) -> None:
    for path in ("/api/admin/v2", "/api/admin/v2/", "/api/admin", "/api/admin/"):
        resp = api.client.post(f"{path}?action=add_user", json={"email": "e@x.test"}, headers={"Host": api.host})
        assert isinstance(resp, httpx.Response) and resp.json() == HASH_ERROR
    assert emails(api) == [api.owner_email]
