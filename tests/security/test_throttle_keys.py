"""Attack (issue 11, item 7): behind a reverse proxy every sign-in came from the proxy's address, so 20 failures
from anyone locked out every user. The throttle now keys (account, e-mail) and the client address separately,
and reads the client address from `X-Forwarded-For` only when the peer is a trusted proxy."""

from __future__ import annotations

import pytest
from starlette.types import ASGIApp

from localsection.accounts import set_password
from localsection.state import AppState
from localsection.web import throttle
from tests.helpers import Api
from tests.security.signin import SignInForm, app_for, register_app

PROXY = "10.0.0.2"


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "BASE_DELAY", 0.0)


@pytest.fixture
def small_ip_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "PER_IP", 4)  # the default (20) works the same way, only slower to reach


def with_member(backend: AppState, api: Api, email: str = "kate@example.com") -> str:
    api.add_user(email)
    with backend.db.session() as s:
        set_password(s, api.account, email, "kate-pass-1")
    return email


def via_proxy(app: ASGIApp, api: Api, query: str, client: str) -> SignInForm:
    """A browser at `client` reaching us through the proxy, which appends the client to X-Forwarded-For."""
    return SignInForm(app, api, query, peer=PROXY, headers={"X-Forwarded-For": f"198.18.0.1, {client}"})


def test_a_locked_e_mail_locks_neither_another_e_mail_nor_the_same_e_mail_elsewhere(backend: AppState, api: Api,
                                                                                   other: Api) -> None:
    kate = with_member(backend, api)
    app = app_for(backend)
    form = SignInForm(app, api, register_app(backend, api))
    for _ in range(throttle.PER_ACCOUNT_EMAIL):
        assert form.submit(api.owner_email, "wrong").status_code == 401
    assert form.submit(api.owner_email, "owner-pass-1").status_code == 429
    fresh = SignInForm(app, api, register_app(backend, api), peer="203.0.113.50")
    assert fresh.submit(api.owner_email, "owner-pass-1").status_code == 429  # the e-mail is locked everywhere
    assert fresh.submit(kate, "kate-pass-1").status_code == 303
    # The same e-mail address in another account is another key.
    other_form = SignInForm(app, other, register_app(backend, other), peer="203.0.113.51")
    assert other_form.submit(other.owner_email, "owner-pass-1").status_code == 303


def test_one_address_guessing_many_e_mails_is_locked_but_other_addresses_are_not(
        backend: AppState, api: Api, small_ip_limit: None) -> None:
    app = app_for(backend)
    query = register_app(backend, api)
    guesser = SignInForm(app, api, query, peer="203.0.113.9")
    for i in range(throttle.PER_IP):
        assert guesser.submit(f"guess{i}@example.com", "x").status_code == 401
    assert guesser.submit(api.owner_email, "owner-pass-1").status_code == 429
    assert SignInForm(app, api, query, peer="203.0.113.10").submit(api.owner_email, "owner-pass-1").status_code == 303


def test_behind_a_trusted_proxy_one_guessing_client_does_not_lock_out_the_others(backend: AppState,
                                                                                api: Api, small_ip_limit: None) -> None:
    app = app_for(backend, trusted_proxies=f"127.0.0.1, {PROXY}/31")
    query = register_app(backend, api)
    attacker = via_proxy(app, api, query, "192.0.2.66")
    for i in range(throttle.PER_IP):
        assert attacker.submit(f"guess{i}@example.com", "x").status_code == 401
    assert attacker.submit(api.owner_email, "owner-pass-1").status_code == 429
    # The attacker cannot get a fresh key by writing another address to the left of what the proxy appends.
    spoofing = SignInForm(app, api, query, peer=PROXY, headers={"X-Forwarded-For": "198.18.0.77, 192.0.2.66"})
    assert spoofing.submit(api.owner_email, "owner-pass-1").status_code == 429
    assert via_proxy(app, api, query, "192.0.2.67").submit(api.owner_email, "owner-pass-1").status_code == 303


def test_without_trusting_the_proxy_x_forwarded_for_is_ignored(backend: AppState, api: Api,
                                                               small_ip_limit: None) -> None:
    app = app_for(backend)  # trusted_proxies empty: the peer address is the client
    query = register_app(backend, api)
    for i in range(throttle.PER_IP):
        rotating = SignInForm(app, api, query, peer="203.0.113.20", headers={"X-Forwarded-For": f"192.0.2.{i}"})
        assert rotating.submit(f"guess{i}@example.com", "x").status_code == 401
    last = SignInForm(app, api, query, peer="203.0.113.20", headers={"X-Forwarded-For": "192.0.2.200"})
    assert last.submit(api.owner_email, "owner-pass-1").status_code == 429


def test_addresses_of_one_ipv6_64_network_share_a_key() -> None:
    assert throttle.address_key("2001:db8:1:2::1") == throttle.address_key("2001:db8:1:2:ffff::9")
    assert throttle.address_key("2001:db8:1:2::1") != throttle.address_key("2001:db8:1:3::1")
    assert throttle.address_key("::ffff:192.0.2.1") == throttle.address_key("192.0.2.1") == "ip:192.0.2.1"
