"""Periodic jobs: the one place that knows every kind of expired row the server sweeps.

Run by the webhook worker's thread every ten minutes (inside `serve`, or in `localsection worker`), and
directly by tests. Each job is its own short write transaction, so one slow sweep never holds the others.
"""

from __future__ import annotations

from localsection import clock, webhooks
from localsection import files as file_store
from localsection.config import Settings
from localsection.db import Database
from localsection.oauth2 import refresh as oauth_refresh


def run(db: Database, settings: Settings) -> None:
    """Expire and drop old outbox rows and delivery logs; sweep unused uploads; purge expired OAuth2 codes,
    refresh tokens and revocations."""
    webhooks.purge_outbox(db, settings)
    with db.session(write=True) as s:
        file_store.sweep(s, settings, clock.now())
    with db.session(write=True) as s:
        oauth_refresh.purge_expired(s, clock.now())


def worker(db: Database, settings: Settings) -> webhooks.Worker:
    """The webhook worker with these jobs as its periodic work."""
    return webhooks.Worker(db, settings, periodic=lambda: run(db, settings))
