"""SMTP with the standard library: the LOCALSECTION_SMTP_URL, building a message, one connection per batch.

smtplib and email cover everything needed (TLS, STARTTLS, AUTH, MIME alternatives); a third-party client
would add a dependency without removing any code of ours. Nothing here ever logs or returns the password:
`SmtpConfig.shown` is the URL with it replaced by ***.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import smtplib
import ssl
import urllib.parse
from dataclasses import dataclass, field
from email.message import EmailMessage

from localsection.config import Settings, redact
from localsection.formats import truthy

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    implicit_tls: bool  # smtps://
    starttls: bool
    user: str
    password: str = field(repr=False)
    shown: str  # the URL for logs, password hidden

    def connect(self, timeout: float) -> smtplib.SMTP:
        """An open, authenticated connection (raises OSError or smtplib.SMTPException)."""
        context = ssl.create_default_context()
        conn: smtplib.SMTP
        if self.implicit_tls:
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=timeout, context=context)
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=timeout)
        try:
            conn.ehlo_or_helo_if_needed()
            if self.starttls:
                conn.starttls(context=context)
                conn.ehlo()
            if self.user:
                conn.login(self.user, self.password)
        except BaseException:
            conn.close()
            raise
        return conn


def parse(url: str) -> SmtpConfig | None:
    """The SMTP settings of `smtp://user:password@host:port?starttls=1` or `smtps://…`; None when empty.

    STARTTLS defaults to on for port 587 (submission) and off otherwise; `?starttls=0|1` decides.
    User and password are percent-decoded. Config validated the URL's shape already.
    """
    if not url:
        return None
    parts = urllib.parse.urlsplit(url.strip())
    scheme = parts.scheme.lower()
    query = dict(urllib.parse.parse_qsl(parts.query))
    asked = truthy(query["starttls"]) if "starttls" in query else None
    port = parts.port or (587 if asked and scheme == "smtp" else DEFAULT_PORTS[scheme])
    starttls = asked if asked is not None else port == 587
    return SmtpConfig(host=parts.hostname or "", port=port, implicit_tls=scheme == "smtps",
                      starttls=bool(starttls) and scheme == "smtp",
                      user=urllib.parse.unquote(parts.username or ""),
                      password=urllib.parse.unquote(parts.password or ""), shown=redact(url.strip()))


def sender(settings: Settings) -> str:
    """The From header: LOCALSECTION_MAIL_FROM, else `localsection <noreply@DOMAIN>`."""
    if settings.mail_from:
        return settings.mail_from
    domain = settings.domain if "." in settings.domain else f"{settings.domain}.localdomain"
    return email.utils.formataddr(("localsection", f"noreply@{domain}"))


@dataclass(frozen=True)
class Outgoing:
    """One claimed outbox row, as the sender needs it."""

    id: int
    recipient: str
    subject: str
    text: str
    html: str | None
    created_at: dt.datetime
    attempts: int


def message(item: Outgoing, from_header: str) -> EmailMessage:
    """The MIME message of an outbox row: text, plus an HTML alternative when there is one. The Message-ID is
    derived from the row, so a retry after a lost answer carries the same id (receivers may drop the copy)."""
    msg = EmailMessage()
    msg["From"] = from_header
    msg["To"] = item.recipient
    msg["Subject"] = item.subject
    created = item.created_at.replace(tzinfo=dt.UTC)
    msg["Date"] = email.utils.format_datetime(created)
    domain = email.utils.parseaddr(from_header)[1].rpartition("@")[2] or "localhost"
    msg["Message-ID"] = f"<localsection.{item.id}.{int(created.timestamp())}@{domain}>"
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(item.text)
    if item.html:
        msg.add_alternative(item.html, subtype="html")
    return msg
