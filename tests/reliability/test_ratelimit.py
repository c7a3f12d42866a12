"""Rate limit (PROTOCOL.md §9.1): off by default; when configured, excess requests get 429 + Retry-After."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from starlette.testclient import TestClient

from localsection.app import create_app
from localsection.state import AppState
from tests.helpers import Api


@pytest.fixture
def limited(api: Api) -> Iterator[Api]:
    """The same account served by an app whose limit is 2 requests/s with bursts of 3."""
    settings = api.state.settings.with_(rate_limit_per_second=2.0, rate_limit_burst=3)
    state = AppState(settings, api.state.db)
    with TestClient(create_app(state=state), base_url="http://testserver") as client:
        yield Api(state, client, api.account, api.account_id, api.api_key, api.owner_id, api.owner_email,
                  api.owner_password)


def test_without_configuration_a_burst_of_requests_is_never_limited(api: Api,
                                                                      figure: Callable[[str], None]) -> None:
    statuses = [api.client.post("/api/admin/v2?action=get_users", headers={
        "Host": api.host, "Authorization": api.admin_header("get_users")}).status_code for _ in range(40)]
    figure(f"rate limit off: 40 back-to-back requests, {statuses.count(429)} answered 429")
    assert statuses == [200] * 40


def test_when_configured_excess_requests_get_429_with_retry_after(limited: Api,
                                                                    figure: Callable[[str], None]) -> None:
    answers = [limited.client.post("/api/admin/v2?action=get_users", headers={
        "Host": limited.host, "Authorization": limited.admin_header("get_users")}) for _ in range(10)]
    statuses = [r.status_code for r in answers]
    refused = [r for r in answers if r.status_code == 429]
    figure(f"rate limit 2/s burst 3: 10 back-to-back requests, {len(refused)} answered 429")
    assert statuses[:3] == [200, 200, 200]
    assert len(refused) >= 6
    assert refused[0].json() == {"status": "error", "message": "Too many requests"}
    assert int(refused[0].headers["Retry-After"]) >= 1


def test_the_limit_is_per_credential_so_another_account_is_not_slowed(limited: Api, other: Api) -> None:
    for _ in range(10):
        limited.client.post("/api/admin/v2?action=get_users", headers={
            "Host": limited.host, "Authorization": limited.admin_header("get_users")})
    resp = limited.client.post("/api/admin/v2?action=get_users", headers={
        "Host": other.host, "Authorization": other.admin_header("get_users")})
    assert resp.status_code == 200
