"""A real SMTP server (aiosmtpd) on a free local port, and helpers to read what it received."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select, update

from localsection.config import Settings
from localsection.models import MailOutboxItem
from localsection.notify.sender import Sender
from tests.helpers import Api

SMTP_USER = "mailer"
SMTP_PASSWORD = "s3cr3t-smtp-pa55"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Inbox:
    """The SMTP server's behaviour and what it accepted."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # recipients answered with 550
    stall: threading.Event = field(default_factory=threading.Event)  # set: DATA waits until cleared
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        while self.stall.is_set():
            await asyncio.sleep(0.02)
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        with self.lock:
            self.messages.append(msg)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_USER.encode()
          and auth_data.password == SMTP_PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    inbox: Inbox
    port: int
    auth: bool
    controller: Controller | None = None

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.auth:
            kwargs = {"authenticator": _authenticator, "auth_require_tls": False, "auth_required": True}
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, ready_timeout=10, **kwargs)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        creds = f"{SMTP_USER}:{SMTP_PASSWORD}@" if self.auth else ""
        return f"smtp://{creds}127.0.0.1:{self.port}"


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """An SMTP server on a free port, without authentication."""
    server = SmtpServer(Inbox(), free_port(), auth=False)
    server.start()
    yield server
    server.inbox.stall.clear()
    server.stop()


@pytest.fixture
def smtp_auth_server() -> Iterator[SmtpServer]:
    """An SMTP server that requires AUTH with SMTP_USER / SMTP_PASSWORD."""
    server = SmtpServer(Inbox(), free_port(), auth=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def quiet_outbox(api: Api) -> None:
    """Rows other tests left pending in the shared database are set aside, so a sender here only sends ours."""
    with api.state.db.session() as s:
        s.execute(update(MailOutboxItem).where(MailOutboxItem.state == "pending").values(state="expired"))


def mail_settings(api: Api, server: SmtpServer | None, **changes: Any) -> Settings:
    """The test settings with SMTP pointing at the server (none: mail off), quick retries."""
    values: dict[str, Any] = {"smtp_url": server.url if server else "", "mail_retry_base": 30.0,
                              "mail_timeout": 2.0, "mail_poll_interval": 0.05}
    return api.state.settings.with_(**{**values, **changes})


def sender(api: Api, server: SmtpServer | None, **changes: Any) -> Sender:
    return Sender(api.state.db, mail_settings(api, server, **changes))


def outbox(api: Api) -> list[MailOutboxItem]:
    """This account's outbox rows, oldest first."""
    with api.state.db.session(write=False) as s:
        rows = list(s.scalars(select(MailOutboxItem).where(MailOutboxItem.account_id == api.account_id)
                              .order_by(MailOutboxItem.id)))
        s.expunge_all()
        return rows


def addr(api: Api, name: str) -> str:
    """An address unique to this test's account (the shared database holds other tests' users)."""
    return f"{name}@{api.account}.example.com"
