"""The SMTP sender: retries and backoff, giving up, SMTP down or stalled, mail off, secrets kept out of logs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from localsection import clock
from localsection.config import ConfigError, Settings
from localsection.notify import BadMail, send_mail
from localsection.notify import sender as mail_sender
from localsection.notify.smtp import parse
from tests.factories import make_project, make_task
from tests.helpers import Api
from tests.notify.conftest import SMTP_PASSWORD, SmtpServer, addr, mail_settings, outbox, sender


@pytest.fixture
def restore_clock() -> Iterator[None]:
    before = clock.offset()
    yield
    clock.reset()
    clock.shift(before)


def queue_direct(api: Api, *recipients: str, subject: str = "Hello") -> None:
    with api.ctx() as ctx:
        for to in recipients:
            send_mail(ctx, to, subject, "Plain words.", html="<p>Plain words.</p>")


def test_send_mail_queues_through_the_outbox_and_arrives_with_text_and_html(
        api: Api, smtp_server: SmtpServer) -> None:
    to = addr(api, "reset")
    queue_direct(api, to, subject="Reset your\r\npassword")
    [row] = outbox(api)
    assert (row.kind, row.state, row.subject) == ("direct", "pending", "Reset your password")
    assert sender(api, smtp_server).drain() == 1
    [msg] = smtp_server.inbox.to(to)
    assert msg["Subject"] == "Reset your password" and msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_body(("plain",)).get_content().strip() == "Plain words."  # type: ignore[union-attr]
    assert "<p>Plain words.</p>" in msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    [row] = outbox(api)
    assert (row.state, row.attempts, row.last_error) == ("sent", 1, "") and row.sent_at is not None
    assert (row.text_body, row.html_body) == ("", None)  # it may have held a reset link: gone once sent


def test_send_mail_refuses_what_is_not_one_address_and_queues_nothing(api: Api) -> None:
    for bad in ("", "nobody", "a@b.c, d@e.f", "x@y.z\r\nBcc: all@evil.example", "Name <a@b.c>", "a" * 250 + "@b.cc"):
        with pytest.raises(BadMail), api.ctx() as ctx:
            send_mail(ctx, bad, "s", "t")
    assert outbox(api) == []


def test_smtp_down_is_retried_with_backoff_and_delivered_when_it_is_back(
        api: Api, smtp_server: SmtpServer, restore_clock: None) -> None:
    to = addr(api, "patient")
    queue_direct(api, to)
    smtp_server.stop()
    s = sender(api, smtp_server, mail_retry_base=30.0)
    assert s.run_once() == 1
    [row] = outbox(api)
    assert (row.state, row.attempts) == ("pending", 1)
    assert "connecting to 127.0.0.1" in row.last_error and row.locked_until is None
    assert 29 <= (row.next_attempt_at - clock.now()).total_seconds() <= 31
    assert s.run_once() == 0  # not due yet
    clock.shift(31)
    assert s.run_once() == 1  # second failure: now 60 s away
    [row] = outbox(api)
    assert row.attempts == 2 and 59 <= (row.next_attempt_at - clock.now()).total_seconds() <= 61
    smtp_server.start()
    assert s.run_once() == 0 and smtp_server.inbox.to(to) == []
    clock.shift(61)
    assert s.run_once() == 1
    assert len(smtp_server.inbox.to(to)) == 1
    [row] = outbox(api)
    assert (row.state, row.attempts, row.last_error) == ("sent", 3, "")


def test_an_email_is_given_up_after_the_last_attempt_and_a_refused_recipient_at_once(
        api: Api, smtp_server: SmtpServer, restore_clock: None) -> None:
    gone, fine = addr(api, "gone"), addr(api, "fine")
    smtp_server.inbox.refuse.add(gone)
    queue_direct(api, gone, fine)
    s = sender(api, smtp_server, mail_max_attempts=2)
    assert s.run_once() == 2
    rows = {r.recipient: r for r in outbox(api)}
    assert (rows[gone].state, rows[gone].attempts) == ("failed", 1) and "550" in rows[gone].last_error
    assert rows[gone].text_body == ""
    assert rows[fine].state == "sent"
    later = addr(api, "later")
    queue_direct(api, later)
    smtp_server.stop()
    assert s.run_once() == 1
    clock.shift(40)
    assert s.run_once() == 1
    row = {r.recipient: r for r in outbox(api)}[later]
    assert (row.state, row.attempts) == ("failed", 2) and "connecting" in row.last_error
    clock.shift(3600)
    assert s.run_once() == 0  # given up for good


def test_a_claimed_email_is_not_claimed_again_while_its_lease_runs(api: Api, smtp_server: SmtpServer) -> None:
    queue_direct(api, addr(api, "one"), addr(api, "two"))
    settings = mail_settings(api, smtp_server)
    first = mail_sender.claim(api.state.db, settings)
    assert len(first.items) == 2
    assert mail_sender.claim(api.state.db, settings).items == []  # a second worker finds nothing to take
    mail_sender.record(api.state.db, settings, first, [mail_sender.Result(i.id) for i in first.items])
    assert {r.state for r in outbox(api)} == {"sent"}


def test_workers_claiming_at_the_same_time_never_take_the_same_email(api: Api, smtp_server: SmtpServer) -> None:
    queue_direct(api, *(addr(api, f"many{n}") for n in range(60)))
    settings = mail_settings(api, smtp_server)
    taken: list[list[int]] = [[], [], []]
    start = threading.Barrier(3)

    def worker(n: int) -> None:
        start.wait()
        while batch := mail_sender.claim(api.state.db, settings, limit=7).items:
            taken[n] += [item.id for item in batch]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    every = [i for ids in taken for i in ids]
    assert len(every) == len(set(every)) == 60


def test_without_smtp_nothing_is_sent_nothing_is_lost_and_one_info_line_says_so(
        api: Api, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture) -> None:
    pid = make_project(api)
    to = addr(api, "waiting")
    api.add_user(to)
    api.ok("update_project", id_project=pid, members=to)
    api.ok("post_task", id_project=pid, title="Queued", email_user_to=to)
    off = sender(api, None)
    with caplog.at_level(logging.INFO, logger="localsection.mail"):
        off.start()
        off.stop()
    assert [r.getMessage() for r in caplog.records if r.name == "localsection.mail"] == [
        "mail is off: LOCALSECTION_SMTP_URL is not set; e-mails stay queued in mail_outbox"]
    assert off.drain() == 0
    assert [(r.recipient, r.state, r.attempts) for r in outbox(api)] == [(to, "pending", 0)]
    assert sender(api, smtp_server).drain() == 1  # configured later: it goes out
    assert smtp_server.inbox.to(to)[0]["Subject"] == "[Project] Owner assigned you: Queued"


def test_a_stalled_smtp_server_never_slows_a_request_and_its_mail_goes_out_once_it_answers(
        api: Api, smtp_server: SmtpServer) -> None:
    pid = make_project(api)
    tid = make_task(api, pid, "Busy")
    to = addr(api, "follower")
    api.add_user(to)
    api.ok("update_project", id_project=pid, members=to)
    api.ok("subscribe", id_task=tid, email_user=to)
    smtp_server.inbox.stall.set()
    background = sender(api, smtp_server, mail_timeout=30.0)
    background.start()
    try:
        api.ok("post_comment", id_task=tid, text="first")
        deadline = time.monotonic() + 10
        while not any(r.locked_until for r in outbox(api)) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert any(r.locked_until for r in outbox(api)), "the sender never claimed the e-mail"
        started = time.monotonic()
        for n in range(5):
            api.ok("post_comment", id_task=tid, text=f"more {n}")
        assert time.monotonic() - started < 2.0  # five writes while the sender waits on the SMTP server
        assert smtp_server.inbox.to(to) == []
        smtp_server.inbox.stall.clear()
        deadline = time.monotonic() + 15
        while len(smtp_server.inbox.to(to)) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        background.stop()
    quoted = [m.get_body(("plain",)).get_content().split("> ")[1].splitlines()[0]  # type: ignore[union-attr]
              for m in smtp_server.inbox.to(to)]
    assert sorted(quoted) == ["first", *(f"more {n}" for n in range(5))]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # loopback only
def test_no_log_line_and_no_stored_error_contains_the_smtp_password(
        api: Api, smtp_auth_server: SmtpServer, caplog: pytest.LogCaptureFixture, restore_clock: None) -> None:
    to = addr(api, "secretive")
    queue_direct(api, to)
    wrong = smtp_auth_server.url.replace(SMTP_PASSWORD, SMTP_PASSWORD + "-wrong")
    with caplog.at_level(logging.DEBUG):
        bad = mail_sender.Sender(api.state.db, mail_settings(api, None).with_(smtp_url=wrong, mail_max_attempts=1))
        bad.start()
        bad.stop()
        bad.run_once()  # authentication fails: given up, with a warning
        [row] = outbox(api)
        assert row.state == "failed" and "535" in row.last_error
        queue_direct(api, to, subject="Second")
        good = sender(api, smtp_auth_server)
        good.start()  # logs the URL it sends through; its thread may send the e-mail before stop()
        good.stop()
        good.drain()
    assert [m["Subject"] for m in smtp_auth_server.inbox.to(to)] == ["Second"]
    assert "mailer:***@127.0.0.1" in caplog.text  # the URL is logged, redacted
    assert SMTP_PASSWORD not in caplog.text
    assert all(SMTP_PASSWORD not in r.last_error for r in outbox(api))
    assert SMTP_PASSWORD not in repr(parse(smtp_auth_server.url))


def test_a_bad_smtp_url_is_one_line_naming_the_variable_without_the_password(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALSECTION_SMTP_URL", f"http://mailer:{SMTP_PASSWORD}@mail.example.com")
    with pytest.raises(ConfigError) as exc:
        Settings.from_env()
    assert "LOCALSECTION_SMTP_URL" in str(exc.value) and SMTP_PASSWORD not in str(exc.value)
    assert "\n" not in str(exc.value)


def test_smtp_urls_choose_tls_and_ports() -> None:
    plain = parse("smtp://mail.example.com")
    submission = parse("smtp://u:p%40ss@mail.example.com:587")
    forced = parse("smtp://mail.example.com?starttls=1")
    implicit = parse("smtps://u:p@mail.example.com")
    assert plain is not None and (plain.port, plain.starttls, plain.implicit_tls, plain.user) == (25, False, False, "")
    assert submission is not None and (submission.port, submission.starttls, submission.password) == (587, True,
                                                                                                       "p@ss")
    assert forced is not None and (forced.port, forced.starttls) == (587, True)
    assert implicit is not None and (implicit.port, implicit.starttls, implicit.implicit_tls) == (465, False, True)
    assert parse("") is None


def test_housekeeping_expires_old_unsent_mail_and_drops_finished_rows(
        api: Api, smtp_server: SmtpServer, restore_clock: None) -> None:
    queue_direct(api, addr(api, "old"))
    sender(api, smtp_server).drain()
    queue_direct(api, addr(api, "unsent"))
    settings = mail_settings(api, None)
    clock.shift(6 * 86400)
    mail_sender.purge(api.state.db, settings)
    assert sorted(r.state for r in outbox(api)) == ["pending", "sent"]
    clock.shift(2 * 86400)
    mail_sender.purge(api.state.db, settings)
    assert [r.state for r in outbox(api)] == ["expired"]
    clock.shift(8 * 86400)
    mail_sender.purge(api.state.db, settings)
    assert outbox(api) == []
