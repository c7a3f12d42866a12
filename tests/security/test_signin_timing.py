"""Attack (issue 11, item 10): sign-in answered a member without a password 0.1 s sooner than anyone else, which
told an attacker which e-mails are members. Every sign-in now costs exactly one argon2 verification — against a
fixed dummy hash when there is nothing to verify against. Counted, not timed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from localsection import passwords
from localsection.accounts import set_password
from localsection.models import User
from localsection.state import AppState
from localsection.web import throttle
from tests.helpers import Api
from tests.security.signin import SignInForm, app_for, register_app


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The hashes each argon2 verification was run against, in order."""
    seen: list[str] = []
    real = passwords._check

    def counting(stored: str, password: str) -> bool:
        seen.append(stored)
        return real(stored, password)

    monkeypatch.setattr(passwords, "_check", counting)
    monkeypatch.setattr(throttle, "BASE_DELAY", 0.0)
    yield seen


def test_verify_password_runs_argon2_once_even_without_a_hash(checks: list[str]) -> None:
    real = passwords.hash_password("right")
    for stored in (None, "", "not-an-argon2-hash"):
        assert passwords.verify_password(stored, "anything") is False
    assert passwords.verify_password(real, "wrong") is False
    assert passwords.verify_password(real, "right") is True
    assert checks == [passwords.dummy_hash()] * 3 + [real, real]


def test_the_dummy_hash_is_argon2id_with_the_real_parameters_and_matches_nothing() -> None:
    dummy, real = passwords.dummy_hash(), passwords.hash_password("x")
    assert dummy == passwords.dummy_hash()  # made once per process
    assert dummy.rsplit("$", 2)[0] == real.rsplit("$", 2)[0]  # $argon2id$v=19$m=...,t=...,p=...
    assert not passwords.verify_password(dummy, "") and not passwords.verify_password(dummy, "localsection")


def test_every_kind_of_failed_sign_in_costs_exactly_one_verification(backend: AppState, api: Api,
                                                                     checks: list[str]) -> None:
    api.add_user("no.password@example.com")  # invited, never set a password
    api.add_user("has.password@example.com")
    with backend.db.session() as s:
        set_password(s, api.account, "has.password@example.com", "secret-pass-1")
        hashes = s.scalars(select(User.password_hash).where(User.account_id == api.account_id,
                                                            User.email == "no.password@example.com")).all()
        assert hashes == [None]
    form = SignInForm(app_for(backend), api, register_app(backend, api))
    dummy = passwords.dummy_hash()
    cases = [("no.password@example.com", True), ("nobody@example.com", True), ("", True),
             ("has.password@example.com", False), (api.owner_email, False)]
    for email, expects_dummy in cases:
        before = len(checks)
        resp = form.submit(email, "wrong-guess")
        assert resp.status_code == 401 and "Wrong e-mail or password" in resp.text
        assert len(checks) == before + 1, email
        assert (checks[-1] == dummy) is expects_dummy, email
    assert form.submit("has.password@example.com", "secret-pass-1").status_code == 303
    assert len(checks) == len(cases) + 1 and checks[-1] != dummy
