"""Attack (issue 11, item 11): an authorization code survived a failed redemption (wrong redirect_uri or wrong
client secret), so whoever intercepted it could keep guessing. Any redemption attempt now burns the code
(RFC 9700): a second attempt, even with every parameter right, gets no token.

The refusal of a used code is the real service's answer (PROTOCOL.md §2.4, PMO): `invalid_request`,
"Authorization code has been revoked"."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select

from localsection.models import OAuthRefreshToken
from localsection.state import AppState
from tests.helpers import Api
from tests.test_oauth_flow import REDIRECT, Browser, pkce_pair

USED = {"error": "invalid_request", "errorDescription": "Authorization code has been revoked",
        "error_description": "Authorization code has been revoked"}


@pytest.fixture
def browser(backend: AppState, api: Api) -> Browser:
    return Browser(backend, api)


def refresh_tokens(backend: AppState) -> int:
    with backend.db.session(write=False) as s:
        return int(s.scalar(select(func.count()).select_from(OAuthRefreshToken)) or 0)


Attempt = Callable[[Browser, str, str, str, str], dict[str, Any]]
FAILED_ATTEMPTS: dict[str, tuple[Attempt, str]] = {
    "wrong redirect_uri": (lambda b, cid, sec, code, _v: b.token(cid, sec, code, REDIRECT + "/evil",
                                                                 code_verifier=_v), "invalid_grant"),
    "wrong client secret": (lambda b, cid, sec, code, _v: b.token(cid, "f" * len(sec), code, code_verifier=_v),
                            "invalid_client"),
    "no client secret": (lambda b, cid, sec, code, _v: b.token(cid, "", code, code_verifier=_v), "invalid_client"),
    "wrong PKCE verifier": (lambda b, cid, sec, code, _v: b.token(cid, sec, code, code_verifier=pkce_pair()[0]),
                            "invalid_grant"),
    "missing PKCE verifier": (lambda b, cid, sec, code, _v: b.token(cid, sec, code), "invalid_request"),
}


@pytest.mark.parametrize("how", sorted(FAILED_ATTEMPTS))
def test_a_failed_redemption_burns_the_code_for_the_right_parameters_too(backend: AppState, browser: Browser,
                                                                        how: str) -> None:
    client_id, secret = browser.register()
    verifier, challenge = pkce_pair()
    code = browser.code(client_id, code_challenge=challenge, code_challenge_method="S256")
    attempt, error = FAILED_ATTEMPTS[how]
    issued_before = refresh_tokens(backend)
    first = attempt(browser, client_id, secret, code, verifier)
    assert first.get("error") == error and "access_token" not in first, first
    second = browser.token(client_id, secret, code, code_verifier=verifier)
    assert second == USED
    assert refresh_tokens(backend) == issued_before


def test_a_code_tried_by_another_client_is_burnt_for_its_own(backend: AppState, browser: Browser) -> None:
    client_id, secret = browser.register()
    thief_id, thief_secret = browser.register(name="Thief")
    code = browser.code(client_id)
    stolen = browser.token(thief_id, thief_secret, code)
    assert stolen.get("errorDescription") == "Authorization code was not issued to this client"
    assert browser.token(client_id, secret, code) == USED


def test_a_good_code_still_redeems_once_and_a_replay_revokes_its_tokens(browser: Browser) -> None:
    client_id, secret = browser.register()
    code = browser.code(client_id)
    first = browser.token(client_id, secret, code)
    assert "access_token" in first
    assert browser.token(client_id, secret, code) == USED
    assert browser.api_call(first["access_token"], "me")["_http"] == 401


def test_concurrent_redemptions_of_one_code_give_one_token_at_most(backend: AppState, browser: Browser) -> None:
    client_id, secret = browser.register()
    code = browser.code(client_id)
    start = threading.Barrier(6)

    def redeem(_: int) -> dict[str, Any]:
        start.wait()
        return browser.token(client_id, secret, code)

    with ThreadPoolExecutor(6) as pool:
        bodies = list(pool.map(redeem, range(6)))
    winners = [b for b in bodies if "access_token" in b]
    assert len(winners) <= 1
    assert all(b == USED for b in bodies if "access_token" not in b)
    if winners:  # whoever lost saw a second use: the winner's tokens are revoked too
        assert browser.api_call(winners[0]["access_token"], "me")["_http"] == 401
