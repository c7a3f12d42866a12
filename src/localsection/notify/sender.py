"""The mail sender: claims due outbox rows, sends them over SMTP, records the outcome, retries with backoff.

A claim takes up to BATCH due rows (PostgreSQL: FOR UPDATE SKIP LOCKED, so several worker processes never take
the same row; SQLite: the single writer's short transaction) and leases them (`locked_until`), then commits:
the SMTP conversation happens outside any transaction, over one connection per batch. Each outcome is recorded
only while the lease is still ours. A failure backs off (mail_retry_base × 2^(n−1), capped at mail_retry_max);
the mail_max_attempts-th failure, or a recipient the server refuses for good (5xx), gives the row up as
`failed`, its last error kept. A crash between sending and recording sends that row again after the lease
(at least once; the Message-ID stays the same).

Without LOCALSECTION_SMTP_URL nothing is claimed: rows stay `pending` (one INFO line says mail is off) and go
out once SMTP is configured, unless they expired first (mail_retention_days, housekeeping).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import smtplib
import threading
from dataclasses import dataclass

from sqlalchemy import case, delete, or_, select, update

from localsection import clock
from localsection.config import Settings
from localsection.db import Database
from localsection.models import MailOutboxItem
from localsection.notify import smtp
from localsection.notify.kinds import DIRECT

log = logging.getLogger("localsection.mail")

BATCH = 20  # rows claimed (and sent over one connection) at a time
_ERROR_CHARS = 500


def precise_now() -> dt.datetime:
    """Naive UTC with microseconds (leases, backoff)."""
    return dt.datetime.fromtimestamp(clock.unix(), dt.UTC).replace(tzinfo=None)


def backoff(settings: Settings, attempts: int) -> float:
    """Seconds before the next try after the n-th failed attempt."""
    return float(min(settings.mail_retry_max, settings.mail_retry_base * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Claim:
    items: list[smtp.Outgoing]
    lease: dt.datetime


@dataclass(frozen=True)
class Result:
    id: int
    error: str | None = None  # None: accepted by the server
    permanent: bool = False  # give up now (the server refused the recipient for good)
    tried: bool = True  # False: never handed to the server (the connection broke before): no attempt counted


def claim(db: Database, settings: Settings, limit: int = BATCH) -> Claim:
    """Lease up to `limit` due pending rows, oldest due first."""
    with db.session(write=True) as s:
        now = precise_now()
        q = (select(MailOutboxItem)
             .where(MailOutboxItem.state == "pending", MailOutboxItem.next_attempt_at <= now,
                    or_(MailOutboxItem.locked_until.is_(None), MailOutboxItem.locked_until < now))
             .order_by(MailOutboxItem.next_attempt_at, MailOutboxItem.id).limit(limit))
        if db.dialect == "postgresql":
            q = q.with_for_update(skip_locked=True)
        rows = list(s.scalars(q))
        # Covers connecting plus every message of the batch at the per-operation timeout, with room to spare.
        lease = now + dt.timedelta(seconds=60 + settings.mail_timeout * 4 * (len(rows) + 1))
        for row in rows:
            row.locked_until = lease
        items = [smtp.Outgoing(r.id, r.recipient, r.subject, r.text_body, r.html_body, r.created_at, r.attempts)
                 for r in rows]
        return Claim(items, lease)


def _refused_for_good(exc: smtplib.SMTPRecipientsRefused) -> bool:
    return bool(exc.recipients) and all(code >= 500 for code, _ in exc.recipients.values())


def _describe(exc: BaseException) -> str:
    """An SMTP or network error in one line (server replies and errno texts: never our password)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{code} {msg.decode(errors='replace')}" for code, msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        msg = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {msg}"
    return f"{exc.__class__.__name__}: {exc}"


def deliver(config: smtp.SmtpConfig, settings: Settings, items: list[smtp.Outgoing]) -> list[Result]:
    """Send the items over one connection; one Result per item."""
    try:
        conn = config.connect(settings.mail_timeout)
    except (OSError, smtplib.SMTPException) as exc:
        error = f"connecting to {config.host}:{config.port}: {_describe(exc)}"[:_ERROR_CHARS]
        return [Result(item.id, error) for item in items]
    results: list[Result] = []
    from_header = smtp.sender(settings)
    envelope_from = email.utils.parseaddr(from_header)[1]
    try:
        for n, item in enumerate(items):
            try:
                conn.send_message(smtp.message(item, from_header), from_addr=envelope_from,
                                  to_addrs=[item.recipient])
                results.append(Result(item.id))
            except smtplib.SMTPRecipientsRefused as exc:
                results.append(Result(item.id, _describe(exc)[:_ERROR_CHARS], permanent=_refused_for_good(exc)))
            except (ValueError, UnicodeError) as exc:  # a message that cannot be built is never going to be
                results.append(Result(item.id, _describe(exc)[:_ERROR_CHARS], permanent=True))
            except (OSError, smtplib.SMTPException) as exc:
                results.append(Result(item.id, _describe(exc)[:_ERROR_CHARS]))
                broken = isinstance(exc, smtplib.SMTPServerDisconnected) or not isinstance(exc, smtplib.SMTPException)
                if broken:
                    # The connection is gone: the rest were never handed over, and count no attempt.
                    results += [Result(later.id, "connection lost", tried=False) for later in items[n + 1:]]
                    break
    finally:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            conn.close()
    return results


def record(db: Database, settings: Settings, claimed: Claim, results: list[Result]) -> None:
    """Store the outcomes of a claim, in one transaction, for the rows whose lease is still ours."""
    attempts = {item.id: item.attempts for item in claimed.items}
    with db.session(write=True) as s:
        now = precise_now()
        for result in results:
            ours = (MailOutboxItem.id == result.id, MailOutboxItem.locked_until == claimed.lease)
            done = attempts[result.id] + (1 if result.tried else 0)
            if result.error is None:
                values: dict[str, object] = {"state": "sent", "sent_at": now, "next_attempt_at": now,
                                             "last_error": ""}
            elif not result.tried:
                values = {"last_error": result.error}
            elif result.permanent or done >= settings.mail_max_attempts:
                values = {"state": "failed", "next_attempt_at": now, "last_error": result.error}
                log.warning("mail %s to %s given up after %s attempt(s): %s", result.id,
                            _recipient(claimed, result.id), done, result.error)
            else:
                values = {"next_attempt_at": now + dt.timedelta(seconds=backoff(settings, done)),
                          "last_error": result.error}
            if "state" in values:
                values.update(_FORGET_DIRECT_BODY)
            s.execute(update(MailOutboxItem).where(*ours).values(locked_until=None, attempts=done, **values))


# Once a `send_mail` e-mail is done with (sent or given up), its body goes: it may hold a secret (a password reset
# link) that has no business staying in the database. Notifications keep theirs until housekeeping drops the row.
_FORGET_DIRECT_BODY = {
    "text_body": case((MailOutboxItem.kind == DIRECT, ""), else_=MailOutboxItem.text_body),
    "html_body": case((MailOutboxItem.kind == DIRECT, None), else_=MailOutboxItem.html_body),
}


def _recipient(claimed: Claim, item_id: int) -> str:
    return next((i.recipient for i in claimed.items if i.id == item_id), "")


def purge(db: Database, settings: Settings) -> None:
    """Expire pending rows older than mail_retention_days; drop finished rows older than that."""
    cutoff = precise_now() - dt.timedelta(days=settings.mail_retention_days)
    with db.session(write=True) as s:
        s.execute(update(MailOutboxItem).where(MailOutboxItem.state == "pending",
                                               MailOutboxItem.next_attempt_at < cutoff,
                                               MailOutboxItem.created_at < cutoff)
                  .values(state="expired", next_attempt_at=precise_now(), last_error="expired unsent"))
        s.execute(delete(MailOutboxItem).where(MailOutboxItem.state.in_(("sent", "failed", "expired")),
                                               MailOutboxItem.next_attempt_at < cutoff))


class Sender:
    """Sends due e-mails until stopped: one thread beside the webhook worker (inside `serve`, or `worker`).

    `run_once` / `drain` send round by round (tests, CLI). Without SMTP configured it does nothing: `start`
    logs one INFO line and starts no thread.
    """

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.config = smtp.parse(settings.smtp_url)
        self.stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Claim one batch and send it; returns the number of rows claimed."""
        if self.config is None:
            return 0
        claimed = claim(self.db, self.settings)
        if not claimed.items:
            return 0
        record(self.db, self.settings, claimed, deliver(self.config, self.settings, claimed.items))
        return len(claimed.items)

    def drain(self, max_rounds: int = 100) -> int:
        """Send until nothing is due; returns the rows claimed."""
        total = 0
        for _ in range(max_rounds):
            n = self.run_once()
            if n == 0:
                break
            total += n
        return total

    def run_forever(self) -> None:
        while not self.stopping.is_set():
            claimed = 0
            try:
                claimed = self.run_once()
            except Exception:
                log.exception("mail sender round failed")
            if claimed < BATCH:
                self.stopping.wait(self.settings.mail_poll_interval)

    def start(self) -> None:
        if self.config is None:
            log.info("mail is off: LOCALSECTION_SMTP_URL is not set; e-mails stay queued in mail_outbox")
            return
        log.info("mail: sending through %s as %s", self.config.shown, smtp.sender(self.settings))
        self._thread = threading.Thread(target=self.run_forever, name="ls-mail-sender", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self.stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
