"""Periodic jobs and the background work of a process: the one place that knows every kind of expired row the
server sweeps, and every worker that runs beside the API.

`run` is called by the webhook worker's thread every ten minutes (inside `serve`, or in `localsection worker`),
and directly by tests. Each job is its own short write transaction, so one slow sweep never holds the others.
`worker` builds the background work: webhook delivery (with these jobs) and the mail sender.
"""

from __future__ import annotations

from localsection import clock, webhooks
from localsection import files as file_store
from localsection.config import Settings
from localsection.db import Database
from localsection.notify import sender as mail_sender
from localsection.oauth2 import refresh as oauth_refresh


def run(db: Database, settings: Settings) -> None:
    """Expire and drop old outbox rows and delivery logs; sweep unused uploads; purge expired OAuth2 codes,
    refresh tokens and revocations; expire and drop old e-mails."""
    webhooks.purge_outbox(db, settings)
    with db.session(write=True) as s:
        file_store.sweep(s, settings, clock.now())
    with db.session(write=True) as s:
        oauth_refresh.purge_expired(s, clock.now())
    mail_sender.purge(db, settings)


class Workers:
    """The background work of one process: the webhook worker (its thread also runs `run` every ten minutes)
    and the mail sender (a thread of its own while SMTP is configured; SMTP conversations block)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.webhooks = webhooks.Worker(db, settings, periodic=lambda: run(db, settings))
        self.mail = mail_sender.Sender(db, settings)
        self.stopping = self.webhooks.stopping  # set it (a signal handler) and run_forever returns

    def start(self) -> None:
        self.webhooks.start()
        self.mail.start()

    def run_forever(self) -> None:
        """Run in the foreground (`localsection worker`) until `stopping` is set; the mail sender in its thread."""
        self.mail.start()
        self.webhooks.run_forever()

    def stop(self, timeout: float = 10.0) -> None:
        self.mail.stop(timeout)
        self.webhooks.stop(timeout)


def worker(db: Database, settings: Settings) -> Workers:
    """The background work with these jobs as its periodic work."""
    return Workers(db, settings)
