"""Forgot password, reset links (one-time, one hour, ending every session), the profile's password change, and
`localsection users reset-link`."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.applications import Starlette

from localsection import clock
from localsection.models import PasswordReset, User
from localsection.passwords import verify_password
from localsection.webapp import resets
from tests.helpers import Api
from tests.webapp.helpers import WebClient, add_user, text_of, web_client

LINK = re.compile(r"(http://\S+/password/reset/(\S+))$")


@pytest.fixture
def restore_clock() -> Iterator[None]:
    yield
    clock.reset()


def _ask_for_link(web: WebClient, email: str, caplog: pytest.LogCaptureFixture) -> tuple[str, str | None]:
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="localsection.mail"):
        resp = web.form("/password/forgot", {"email": email})
    assert resp.status_code == 303
    shown = text_of(web.get(resp.headers["location"]).text)
    links = [m.group(1) for r in caplog.records if r.name == "localsection.mail"
             for m in [LINK.search(r.getMessage())] if m]
    return shown, (links[0] if links else None)


def test_forgot_password_gives_the_same_answer_for_any_email_and_logs_a_link_only_for_users(
        web: WebClient, other: Api, caplog: pytest.LogCaptureFixture) -> None:
    known, link = _ask_for_link(web, web.api.owner_email, caplog)
    assert link is not None and link.startswith(f"http://{web.api.host}/password/reset/")
    unknown, none = _ask_for_link(web, "nobody@example.com", caplog)
    foreign, none2 = _ask_for_link(web, other.owner_email, caplog)  # a user of another account
    assert none is None and none2 is None
    assert known == unknown == foreign
    assert "If that e-mail belongs to a user here" in known
    with web.api.state.db.session(write=False) as s:  # stored hashed only
        stored = s.scalars(select(PasswordReset.token_hash).where(
            PasswordReset.account_id == web.api.account_id)).all()
    assert len(stored) == 1 and link.rsplit("/", 1)[1] not in stored[0]


def test_a_reset_link_sets_the_password_once_and_ends_every_session(web_app: Starlette, web: WebClient,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    signed_in = web_client(web_app, web.api)
    signed_in.sign_in()
    _, link = _ask_for_link(web, web.api.owner_email, caplog)
    assert link is not None
    path = link.split(web.api.host, 1)[1]
    short = web.form(path, {"password": "short", "confirm": "short"})
    assert short.status_code == 400 and "Password is too short" in text_of(short.text)
    differ = web.form(path, {"password": "new-secret-1", "confirm": "new-secret-2"})
    assert differ.status_code == 400 and "The two passwords differ." in text_of(differ.text)
    done = web.form(path, {"password": "new-secret-1", "confirm": "new-secret-1"})
    assert done.status_code == 303 and done.headers["location"] == "/login"
    assert "Your new password is set" in text_of(web.get("/login").text)
    assert signed_in.get("/me").status_code == 303  # the old session is over
    with web.api.state.db.session(write=False) as s:
        owner = s.get(User, web.api.owner_id)
        assert owner is not None and verify_password(owner.password_hash, "new-secret-1")
    again = web.get(path)
    assert again.status_code == 404 and "This link does not work" in text_of(again.text)
    assert web.form("/login", {"email": web.api.owner_email, "password": web.api.owner_password}).status_code == 401
    web.sign_in(password="new-secret-1")


def test_a_reset_link_expires_after_an_hour(web: WebClient, caplog: pytest.LogCaptureFixture,
                                            restore_clock: None) -> None:
    _, link = _ask_for_link(web, web.api.owner_email, caplog)
    assert link is not None
    path = link.split(web.api.host, 1)[1]
    clock.shift(resets.RESET_TTL.total_seconds() + 1)
    assert web.get(path).status_code == 404
    assert web.get("/password/reset/" + "x" * 500).status_code == 404


def test_a_reset_link_works_only_in_its_own_account(web_app: Starlette, web: WebClient, other: Api,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    _, link = _ask_for_link(web, web.api.owner_email, caplog)
    assert link is not None
    assert web_client(web_app, other).get(link.split(web.api.host, 1)[1]).status_code == 404


def test_changing_the_password_needs_the_current_one_and_signs_out_the_other_sessions(
        web_app: Starlette, owner_web: WebClient) -> None:
    phone = web_client(web_app, owner_web.api)
    phone.sign_in()
    wrong = owner_web.form("/me", {"action": "password", "current": "nope", "new": "brand-new-1",
                                   "confirm": "brand-new-1"})
    assert wrong.status_code == 400 and "Current password is wrong" in text_of(wrong.text)
    assert phone.get("/me").status_code == 200  # nothing changed
    ok = owner_web.form("/me", {"action": "password", "current": owner_web.api.owner_password,
                                "new": "brand-new-1", "confirm": "brand-new-1"})
    assert ok.status_code == 303
    assert "Password changed" in text_of(owner_web.get("/me").text)
    assert phone.get("/me").status_code == 303


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "localsection", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_cli_prints_a_reset_link_and_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    import json
    import os

    env = {**os.environ, "LOCALSECTION_DATA_DIR": str(tmp_path), "LOCALSECTION_DURABILITY": "normal"}
    env.pop("LOCALSECTION_DATABASE_URL", None)
    creds = json.loads(_cli(env, "init", "--json").stdout)
    out = _cli(env, "users", "reset-link", "--account", "localsection", "--email", creds["owner"]["email"])
    assert out.returncode == 0, out.stderr
    assert re.fullmatch(r"http://\S+/password/reset/[A-Za-z0-9_-]{40,}\n", out.stdout)
    for args in (["--account", "localsection", "--email", "ghost@example.com"],
                 ["--account", "nope", "--email", creds["owner"]["email"]]):
        bad = _cli(env, "users", "reset-link", *args)
        assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr, bad.stderr


def test_a_user_without_a_password_gets_no_link(web: WebClient, caplog: pytest.LogCaptureFixture) -> None:
    add_user(web.api, "invited@example.com", password=None)
    _, link = _ask_for_link(web, "invited@example.com", caplog)
    assert link is None


def test_with_smtp_configured_the_reset_link_is_mailed_not_logged(web: WebClient, caplog: pytest.LogCaptureFixture,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from localsection.models import MailOutboxItem

    state = web.api.state
    monkeypatch.setattr(state, "settings", state.settings.model_copy(update={"smtp_url": "smtp://127.0.0.1:2525"}))
    shown, logged = _ask_for_link(web, web.api.owner_email, caplog)
    assert logged is None and "If that e-mail belongs to a user here" in shown
    with state.db.session(write=False) as s:
        mails = s.scalars(select(MailOutboxItem).where(MailOutboxItem.account_id == web.api.account_id)).all()
    assert [m.recipient for m in mails] == [web.api.owner_email]
    link = LINK.search(mails[0].text_body.split("\n\n")[1].splitlines()[1])
    assert link is not None and link.group(1).startswith(f"http://{web.api.host}/password/reset/")
    assert web.get(link.group(1)).status_code == 200  # the mailed link opens the reset form
