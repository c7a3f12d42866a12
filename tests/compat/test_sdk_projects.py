"""Projects through the official Python SDK (unmodified) and through raw md5-signed Postman-style requests."""

from __future__ import annotations

import hashlib
import secrets
import urllib.parse
from typing import Any

import httpx
import pytest

from tests.compat.conftest import Server


def _unique(prefix: str) -> str:
    return f"{prefix} {secrets.token_hex(4)}"


def _user(sdk: Any, first: str) -> str:
    email = f"{first.lower()}.{secrets.token_hex(3)}@sdk.example.com"
    sdk.members.create(email, {"first_name": first, "last_name": "Sdk"})
    return email


def postman_get(server: Server, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Sign like the Postman pre-request script: md5 of the raw `k=v&...` of enabled params + key, then POST."""
    raw = "&".join(f"{k}={v}" for k, v in pairs)
    digest = hashlib.md5((raw + server.api_key).encode()).hexdigest()
    # Postman percent-encodes what a URL cannot carry (spaces) and leaves `@ , [ ]` as typed.
    wire = "&".join(f"{k}={urllib.parse.quote(v, safe='@,[]:/.')}" for k, v in pairs)
    resp = httpx.post(f"{server.url}/api/admin/v2?{wire}&hash={digest}", timeout=30)
    assert resp.status_code == 200
    return resp.json()  # type: ignore[no-any-return]


def test_sdk_creates_reads_updates_and_lists_a_project(sdk: Any) -> None:
    manager = _user(sdk, "Kate")
    member = _user(sdk, "Frank")
    title = _unique("SDK project")
    created = sdk.projects.create(title, {
        "email_manager": manager, "members": [member], "datestart": "2025-01-01", "dateend": "31.12.2025",
        "max_time": 90, "max_money": 1500.5, "company": _unique("SDK folder"), "text": "About",
        "options.allow_close": 1, "options.timer_only": True, "extra": "options,users,text",
    })
    assert created.name == title and created.status == "active"
    assert isinstance(created.id, str) and created.page == f"/project/{created.id}/"
    assert created.user_to is not None and created.user_to.email == manager
    assert (created.date_start, created.date_end) == ("2025-01-01", "2025-12-31")
    assert created.options["allow_close"] == 1 and created.options["timer_only"] == 1
    assert {u.email for u in created.users} >= {manager, member}

    fetched = sdk.projects.get(int(created.id), {"extra": "text"})
    assert fetched.id == created.id and fetched.max_money == 1500.5

    updated = sdk.projects.update(int(created.id), {"title": title + " v2", "email_manager": "NOONE",
                                                    "members": [member], "extra": "users"})
    assert updated.name == title + " v2" and updated.user_to is not None and updated.user_to.id == "0"
    assert [u.email for u in updated.users] == [member]

    listed = sdk.projects.list({"filter": "active"})
    assert created.id in [p.id for p in listed]


def test_sdk_refuses_two_exclusive_options(sdk: Any) -> None:
    from worksection.exceptions.response_exception import ResponseException

    with pytest.raises(ResponseException, match="Only one parameter"):
        sdk.projects.create(_unique("Bad"), {"options.time_today": 1, "options.timer_only": 1})


def test_sdk_closes_and_activates_a_project(sdk: Any) -> None:
    from worksection.exceptions.response_exception import ResponseException

    pid = int(sdk.projects.create(_unique("Closing")).id)
    sdk.projects.close(pid)
    assert sdk.projects.get(pid).status == "archive"
    assert pid in [int(p.id) for p in sdk.projects.list({"filter": "archived"})]
    with pytest.raises(ResponseException, match="Project is already closed"):
        sdk.projects.close(pid)
    sdk.projects.activate(pid)
    assert sdk.projects.get(pid).status == "active"
    with pytest.raises(ResponseException, match="Project is already active"):
        sdk.projects.activate(pid)


def test_sdk_adds_and_removes_members(sdk: Any) -> None:
    a, b = _user(sdk, "Ann"), _user(sdk, "Bob")
    pid = int(sdk.projects.create(_unique("Team")).id)
    sdk.projects.add_members(pid, [a, b])
    assert {u.email for u in sdk.projects.get(pid, {"extra": "users"}).users} >= {a, b}
    sdk.projects.remove_members(pid, [b])
    emails = {u.email for u in sdk.projects.get(pid, {"extra": "users"}).users}
    assert a in emails and b not in emails


def test_sdk_lists_and_creates_project_groups(sdk: Any) -> None:
    title = _unique("Folder")
    group = sdk.projects.create_group(title)
    assert group.title == title and group.type == "folder" and isinstance(group.id, str)
    assert sdk.projects.create_group(title).id == group.id
    groups = sdk.projects.groups()
    assert group.id in [g.id for g in groups]
    assert any(g.type == "company" for g in groups)


def test_a_postman_style_md5_request_creates_and_reads_a_project(sdk: Any, server: Server) -> None:
    a, b = _user(sdk, "Raw"), _user(sdk, "Pm")
    title = _unique("Postman project")
    body = postman_get(server, [("action", "post_project"), ("title", title), ("members", f"{a}, {b}"),
                                ("datestart", "01.02.2021"), ("extra", "options, users"),
                                ("options.allow_close", "1")])
    assert body["status"] == "ok", body
    data = body["data"]
    assert data["name"] == title and data["date_start"] == "2021-02-01" and data["options"]["allow_close"] == 1
    assert {u["email"] for u in data["users"]} >= {a, b}
    got = postman_get(server, [("action", "get_project"), ("id_project", data["id"])])
    assert got["data"]["id"] == data["id"]
    bad = postman_get(server, [("action", "get_project"), ("id_project", "999999999")])
    assert bad == {"status": "error", "status_code": 4, "message": "Project is invalid"}
