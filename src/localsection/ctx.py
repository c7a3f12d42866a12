"""The context an action runs in: one transaction, the account, the acting user and the caller's limits."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from localsection import clock
from localsection.config import Settings
from localsection.models import Account, User


@dataclass
class Ctx:
    db: Session
    settings: Settings
    account: Account
    user: User  # the acting user (the owner for admin-key requests)
    via_admin_key: bool = True
    scopes: frozenset[str] | None = None
    base_url: str = ""  # public origin used in account_url, avatars and links
    state: dict[str, Any] = field(default_factory=dict)  # per-request memo (lookups cached per action)

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
