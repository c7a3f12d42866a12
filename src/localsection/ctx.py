"""The context a domain function runs in: one transaction, the account, the acting user and the caller's limits.

Build one with a factory, never by hand: `Ctx.for_admin_key` (the account's API key acts as the owner, with no
scope limits), `Ctx.for_user` (a signed-in user or a token: their role and scopes apply) or `Ctx.system` (the
server's own work, e.g. rendering a webhook payload: sees everything, acts as no one). Nothing defaults to more
rights than the factory grants: `via_admin_key` has no default.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from localsection import clock
from localsection.config import Settings
from localsection.models import Account, User

if TYPE_CHECKING:
    from localsection.db import Database

# Opens another transaction on the same database (a streamed list reads each chunk in its own).
SessionFactory = Callable[..., AbstractContextManager[Session]]


@dataclass
class Memo:
    """Per-request lookups that several checks of one request share (each filled on first use)."""

    client_team: bool | None = None
    hidden_tag_ids: frozenset[str] | None = None
    account_webhooks: list[Any] | None = None
    task_refs: dict[int, Any] | None = None  # read.tasks.Related read with a task (get_task), by task id


@dataclass
class Ctx:
    db: Session
    settings: Settings
    account: Account
    user: User  # the acting user (the owner for admin-key requests; a placeholder for system work)
    via_admin_key: bool  # sees and changes everything in the account, like its owner
    scopes: frozenset[str] | None  # OAuth scopes; None = no scope limits (admin key, signed-in pages, system)
    base_url: str = ""  # public origin used in account_url, avatars and links
    database: Database | None = None  # to open further transactions; None in a unit test's single session
    memo: Memo = field(default_factory=Memo)

    # -- factories ------------------------------------------------------------------------------------

    @classmethod
    def for_admin_key(cls, db: Session, settings: Settings, account: Account, owner: User, *, base_url: str = "",
                      database: Database | None = None) -> Ctx:
        """An admin-key caller: acts as the account's owner, with no scope limits."""
        return cls(db, settings, account, owner, True, None, base_url, database)

    @classmethod
    def for_user(cls, db: Session, settings: Settings, account: Account, user: User, *,
                 scopes: frozenset[str] | None = None, base_url: str = "", database: Database | None = None) -> Ctx:
        """A user: their role, teams and projects decide what they see; `scopes` limit a token's actions."""
        return cls(db, settings, account, user, False, scopes, base_url, database)

    @classmethod
    def system(cls, db: Session, settings: Settings, account: Account, owner: User | None = None, *,
               database: Database | None = None) -> Ctx:
        """The server's own work in an account (webhook payloads, housekeeping): sees everything."""
        return cls(db, settings, account, owner or User(id=0, account_id=account.id), True, None, "", database)

    def session(self, write: bool = False) -> AbstractContextManager[Session]:
        """Another transaction on this context's database (the current one stays as it is)."""
        if self.database is None:
            raise RuntimeError("this context has no database to open another transaction on")
        return self.database.session(write=write)

    # -- who and when ---------------------------------------------------------------------------------

    @property
    def account_id(self) -> int:
        return self.account.id

    @property
    def tz(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.account.timezone or self.settings.timezone)
        except Exception:
            return ZoneInfo("UTC")

    def now(self) -> dt.datetime:
        """Naive UTC now."""
        return clock.now()

    def today(self) -> dt.date:
        """Today's date in the account time zone."""
        return self.local(clock.now()).date()

    def local(self, value: dt.datetime) -> dt.datetime:
        """A stored naive-UTC timestamp in the account time zone."""
        if self.tz.key == "UTC":
            return value
        return value.replace(tzinfo=dt.UTC).astimezone(self.tz).replace(tzinfo=None)
