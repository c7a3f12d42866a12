"""Attack (issue 11, item 7): 60 concurrent wrong passwords for one e-mail got 12 password checks before the
lock (limit 5). Check and count are now one step: a slot is reserved before the slow check."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from localsection import clock, passwords
from localsection.state import AppState
from localsection.web import throttle
from tests.helpers import Api
from tests.security.signin import SignInForm, app_for, register_app

ATTACKERS = 60


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Counts password checks; each one is slowed to 0.2 s so that the concurrent attempts surely overlap
    (60 real argon2 verifications at once would also need 60 x 64 MiB)."""
    seen: list[str] = []
    lock = threading.Lock()
    real = passwords._check

    def slow(stored: str, password: str) -> bool:
        with lock:
            seen.append(password)
        time.sleep(0.2)
        return real(stored, password) if password == "owner-pass-1" else False

    monkeypatch.setattr(passwords, "_check", slow)
    monkeypatch.setattr(throttle, "BASE_DELAY", 0.0)
    yield seen


def test_sixty_concurrent_wrong_passwords_get_exactly_the_limit_of_checks(backend: AppState, api: Api,
                                                                          checks: list[str]) -> None:
    app = app_for(backend)
    query = register_app(backend, api)
    forms = [SignInForm(app, api, query, peer=f"198.51.100.{i}") for i in range(ATTACKERS)]  # many addresses
    start = threading.Barrier(ATTACKERS)

    def attack(form: SignInForm) -> int:
        start.wait()
        return form.submit(api.owner_email, "guess").status_code

    with ThreadPoolExecutor(ATTACKERS) as pool:
        statuses = list(pool.map(attack, forms))
    assert len(checks) == throttle.PER_ACCOUNT_EMAIL
    assert sorted(statuses) == [401] * throttle.PER_ACCOUNT_EMAIL + [429] * (ATTACKERS - throttle.PER_ACCOUNT_EMAIL)
    # Locked: even the right password is not checked.
    assert forms[0].submit(api.owner_email, "owner-pass-1").status_code == 429
    assert len(checks) == throttle.PER_ACCOUNT_EMAIL
    # Every reserved slot was given back: once the window has passed, the owner signs in.
    clock.shift(throttle.WINDOW + 1)
    try:
        assert forms[1].submit(api.owner_email, "owner-pass-1").status_code == 303
    finally:
        clock.shift(-(throttle.WINDOW + 1))


def test_a_slot_held_by_an_attempt_still_being_checked_refuses_a_concurrent_one_briefly() -> None:
    guard = throttle.LoginThrottle()
    attempt = guard.attempt_keys(1, "Kate@Example.com", "192.0.2.1")
    held = [guard.reserve(attempt) for _ in range(throttle.PER_ACCOUNT_EMAIL)]
    assert held == [0] * throttle.PER_ACCOUNT_EMAIL
    assert guard.reserve(guard.attempt_keys(1, "kate@example.com ", "192.0.2.99")) == 1  # same e-mail, 1 s
    guard.succeeded(attempt)
    assert guard.reserve(attempt) == 0  # the slot given back on success is free again
    for _ in range(throttle.PER_ACCOUNT_EMAIL):
        guard.abandoned(attempt)
    assert guard.in_flight() == 0


def test_a_crash_during_the_check_gives_its_slot_back(backend: AppState, api: Api,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(throttle, "BASE_DELAY", 0.0)
    real = passwords._check

    def broken(stored: str, password: str) -> bool:
        raise MemoryError("argon2 could not allocate")

    form = SignInForm(app_for(backend), api, register_app(backend, api))
    monkeypatch.setattr(passwords, "_check", broken)
    for _ in range(throttle.PER_ACCOUNT_EMAIL + 2):
        with pytest.raises(MemoryError):
            form.submit(api.owner_email, "owner-pass-1")
    monkeypatch.setattr(passwords, "_check", real)
    # Crashed attempts count as nothing: the limit is still whole.
    for _ in range(throttle.PER_ACCOUNT_EMAIL - 1):
        assert form.submit(api.owner_email, "wrong").status_code == 401
    assert form.submit(api.owner_email, "owner-pass-1").status_code == 303
