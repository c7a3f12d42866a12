"""Writing e-mails to the outbox, in the caller's transaction: notifications and `send_mail` for any other mail."""

from __future__ import annotations

import email.utils
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from localsection import clock
from localsection.ctx import Ctx
from localsection.db import core
from localsection.models import MailOutboxItem
from localsection.notify.kinds import DIRECT
from localsection.notify.messages import SUBJECT_CHARS, one_line

MAX_ADDRESS = 254  # RFC 5321 path limit
MAX_BODY_CHARS = 200_000

_INSERT = insert(MailOutboxItem)


class BadMail(ValueError):
    """An e-mail that cannot be queued: no single valid recipient, or a body too large."""


def queue(db: Session, rows: list[dict[str, Any]]) -> None:
    """Insert outbox rows (dicts of MailOutboxItem columns; state, attempts and times are filled in)."""
    if not rows:
        return
    now = clock.now()
    core(db).execute(_INSERT, [{"state": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now,
                                "last_error": "", **row} for row in rows])


def check_address(address: str) -> str:
    """One plain address (no display name, no list, no line breaks), at most MAX_ADDRESS characters."""
    value = address.strip()
    if not value or len(value) > MAX_ADDRESS or any(c in value for c in "\r\n,;<>\"() \t"):
        raise BadMail(f"not a single e-mail address: {address[:80]!r}")
    _, parsed = email.utils.parseaddr(value)
    local, at, domain = parsed.rpartition("@")
    if parsed != value or not at or not local or "." not in domain:
        raise BadMail(f"not a single e-mail address: {address[:80]!r}")
    return value


def send_mail(target: Ctx | Session, to: str, subject: str, text: str, *, html: str | None = None,
              account_id: int | None = None, user_id: int | None = None) -> None:
    """Queue one e-mail in the caller's transaction (sent by the background sender once SMTP is configured).

    For mail that is not a notification, e.g. a password reset: user preferences do not apply. `target` is a
    domain context (its account is recorded) or a session. Raises BadMail for a bad address or an oversized
    body; the subject is folded to one line.
    """
    recipient = check_address(to)
    if len(text) > MAX_BODY_CHARS or (html is not None and len(html) > MAX_BODY_CHARS):
        raise BadMail("e-mail body too large")
    if isinstance(target, Ctx):
        db, account_id = target.db, account_id if account_id is not None else target.account_id
    else:
        db = target
    queue(db, [{"account_id": account_id, "user_id": user_id, "recipient": recipient,
                "subject": one_line(subject)[:SUBJECT_CHARS], "text_body": text, "html_body": html, "kind": DIRECT,
                "task_id": None, "comment_id": None}])
