"""The emulator's clock seen through the official SDK: moving it 25 h expires an OAuth access token, the SDK
refreshes by itself, and admin-key calls (the `Admin` header, checked against real time) keep working."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.compat.conftest import Server, running_server
from tests.compat.test_sdk_oauth import browse_to_code, sdk_oauth_client


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(Path(tmp_path_factory.mktemp("emulator")), {"LOCALSECTION_EMULATOR": "1"}) as srv:
        yield srv


def test_a_25_hour_clock_move_expires_the_token_the_sdk_refreshes_and_admin_calls_go_on(emulator: Server) -> None:
    from worksection.client import Client

    url = emulator.url
    user = sdk_oauth_client(emulator, "localsection", url, ["users_read", "projects_read"])
    oauth = user.get_oauth()
    token = oauth.fetch_access_token_by_auth_code(browse_to_code(emulator, oauth.get_authorization_url("sdk-state-42")))
    user.set_access_token(token)
    admin = Client(url).set_api_key(emulator.api_key)
    assert user.user.profile().email == emulator.owner_email

    moved = httpx.post(f"{url}/_localsection/clock", json={"advance": 25 * 3600}).json()
    try:
        assert moved["offset_seconds"] == 25 * 3600
        assert user.user.profile().email == emulator.owner_email  # 401 expired -> refreshed -> retried
        assert user.get_access_token() != token["access_token"]
        project = admin.projects.create("After the move", {})  # the Admin header is checked on real time
        assert project.name == "After the move"
    finally:
        httpx.post(f"{url}/_localsection/clock", json={"advance": -25 * 3600})
