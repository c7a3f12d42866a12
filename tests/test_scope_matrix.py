"""Every action x every one of the 17 scopes: a token holding only that scope is refused with 20 exactly as the
scope table of PROTOCOL.md §2.5 says (and §2.6 for the user-only and admin-only actions).

The table is read from the protocol's machine-readable action catalogue, kept as test data in
`tests/data/actions.json` (see tests/data/README.md)."""

from __future__ import annotations

import asyncio
import functools
import re
from typing import Any

import httpx
import pytest

from localsection.api.registry import all_actions
from localsection.tokens import ALL_SCOPES
from tests.helpers import USER_PATH, Api
from tests.postman import action_catalogue

ACTIONS = [a for a in action_catalogue() if not a["action"].startswith("oauth2_")]
SCOPE_WORD = re.compile(r"^(\w+)")


@functools.cache
def spec_scopes() -> dict[str, str | None]:
    """action -> scope from actions.json (None = any valid token)."""
    out: dict[str, str | None] = {}
    for item in ACTIONS:
        m = SCOPE_WORD.match(item["scope"])
        out[item["action"]] = m.group(1) if m and m.group(1) in ALL_SCOPES else None
    return out


def expected_denied(action: str, scope: str | None) -> bool:
    """Whether a token holding only `scope` (None: no scope at all) gets 20 on `action` (owner's token)."""
    wanted = spec_scopes()[action]
    return wanted is not None and scope != wanted


def test_the_registry_declares_exactly_the_scopes_of_the_protocol_table() -> None:
    registry = {name: spec.scope for name, spec in all_actions().items()}
    assert registry == spec_scopes()
    # The catalogue really names scopes: each of the 17 guards some action, and only `me` needs none.
    assert set(registry.values()) == {*ALL_SCOPES, None}
    assert [name for name, scope in registry.items() if scope is None] == ["me"]


def test_user_only_and_admin_only_flags_follow_who_may_call_what() -> None:
    actions = all_actions()
    auth = {a["action"]: a["auth"] for a in ACTIONS}
    assert sorted(n for n, s in actions.items() if s.user_only) == sorted(n for n, a in auth.items() if a == ["user"])
    assert sorted(n for n, s in actions.items() if s.admin_only) == ["get_timers", "stop_timer"]


def call_all(api: Api, calls: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """POST each (token, action) in order straight to the ASGI app (no test-client thread hop per call)."""

    async def run() -> list[dict[str, Any]]:
        transport = httpx.ASGITransport(app=api.client.app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{api.host}") as client:
            out = []
            for token, action in calls:
                resp = await client.post(f"{USER_PATH}?action={action}", headers={"Authorization": f"Bearer {token}"})
                out.append(resp.json())
            return out

    return asyncio.run(run())


def test_every_action_with_a_token_of_each_single_scope_is_refused_exactly_as_the_table_says(
        api: Api, capsys: pytest.CaptureFixture[str]) -> None:
    tokens: dict[str | None, str] = {scope: api.token(scopes=[scope]) for scope in ALL_SCOPES}
    tokens[None] = api.token(scopes=[])
    cases = [(action, scope) for action in sorted(spec_scopes()) for scope in tokens]
    bodies = call_all(api, [(tokens[scope], action) for action, scope in cases])
    wrong: list[str] = []
    for (action, scope), body in zip(cases, bodies, strict=True):
        denied = body.get("status_code") == 20
        refusal = (body.get("message"), body.get("message_details"))
        if denied != expected_denied(action, scope) or (denied and refusal != ("Access denied", spec_scopes()[action])):
            wrong.append(f"{action} with {scope}: {body}")
    with capsys.disabled():
        print(f"\nscope matrix: {len(spec_scopes())} actions x {len(tokens)} scope sets, {len(cases)} cases checked, "
              f"{len(wrong)} wrong")
    assert wrong == []
    assert len(cases) == len(ACTIONS) * 18


def test_a_token_with_every_scope_reaches_every_action(api: Api) -> None:
    token = api.token()
    refused = [a for a in spec_scopes() if api.user_call(token, a).get("status_code") == 20]
    assert refused == []


def test_timer_admin_actions_also_need_an_owner_or_account_admin(api: Api) -> None:
    for email, role in (("boss@example.com", "admin"), ("plain@example.com", "user"),
                        ("lead@example.com", "manager")):
        api.add_user(email, role=role)
    outcomes = {}
    for email in ("boss@example.com", "plain@example.com", "lead@example.com"):
        token = api.token(email, scopes=["administrative"])
        for action in ("get_timers", "stop_timer"):
            body = api.user_call(token, action, timer="999999999")
            outcomes[(email.split("@")[0], action)] = (body.get("status_code"), body.get("message_details"))
    assert outcomes == {
        ("boss", "get_timers"): (None, None), ("boss", "stop_timer"): (7, None),
        ("plain", "get_timers"): (20, "role"), ("plain", "stop_timer"): (20, "role"),
        ("lead", "get_timers"): (20, "role"), ("lead", "stop_timer"): (20, "role"),
    }


def test_webhook_actions_need_the_administrative_scope_but_no_particular_role(api: Api) -> None:
    api.add_user("plain@example.com")
    granted = api.token("plain@example.com", scopes=["administrative"])
    assert api.user_call(granted, "get_webhooks") == {"_http": 200, "status": "ok", "data": []}
    assert api.user_call(granted, "delete_webhook", id="1")["message"] == "WebHook not found"
    denied = api.user_call(api.token("plain@example.com", scopes=["projects_read"]), "get_webhooks")
    assert (denied["status_code"], denied["message_details"]) == (20, "administrative")


def test_user_only_actions_refuse_the_admin_key(api: Api) -> None:
    user_only = sorted(n for n, s in all_actions().items() if s.user_only)
    assert user_only == ["delete_my_timer", "get_my_timer", "me", "start_my_timer", "stop_my_timer"]
    for action in user_only:
        body = api.call(action)
        assert (body["status_code"], body["message"], body["message_details"]) == (
            0, "Action is invalid", "user method: access token only")
