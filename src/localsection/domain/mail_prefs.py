"""A user's e-mail notification preferences: all on by default, one switch for all, or per kind.

The signed-in user changes their own; the admin key and account admins may change anyone's in the account
(the CLI's `users mail`). Not part of the Worksection protocol: no event is recorded.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from localsection import access, errors
from localsection.ctx import Ctx
from localsection.models import MailPreference, User
from localsection.notify.kinds import KINDS


@dataclass(frozen=True)
class MailSettings:
    """What a user receives: `kinds` are on (empty = no notification e-mail at all)."""

    user_id: int
    email: str
    kinds: frozenset[str]

    @property
    def on(self) -> bool:
        return bool(self.kinds)


def _target(ctx: Ctx, email: str | None) -> User:
    """The caller, or (admins only) the account user `email`."""
    if email is None or email.strip().lower() == (ctx.user.email or "").lower():
        if ctx.user.id <= 0:  # the server's own context acts as no one
            raise errors.invalid_email(email or "")
        return ctx.user
    access.require_admin(ctx)
    return access.user_by_email(ctx, email)


def _settings(user: User, row: MailPreference | None) -> MailSettings:
    if row is None:
        return MailSettings(user.id, user.email, frozenset(KINDS))
    on = frozenset(k for k in KINDS if k not in (row.off_kinds or [])) if row.enabled else frozenset()
    return MailSettings(user.id, user.email, on)


def mail_notifications(ctx: Ctx, *, email: str | None = None) -> MailSettings:
    """The e-mail notifications the caller (or, for admins, the user `email`) receives."""
    user = _target(ctx, email)
    return _settings(user, ctx.db.get(MailPreference, user.id))


def set_mail_notifications(ctx: Ctx, on: bool, kinds: Collection[str] | None = None, *,
                           email: str | None = None) -> MailSettings:
    """Switch notification e-mails on or off: every kind (kinds=None) or only the given ones (see notify.KINDS).

    Changes the caller's own preference; the admin key and account admins may pass another user's `email`.
    An unknown kind is 11 (nothing changes); another user's e-mail from a non-admin is 20 Access denied.
    """
    chosen = set(KINDS) if kinds is None else {k.strip().lower() for k in kinds}
    unknown = chosen - set(KINDS)
    if unknown or not chosen:
        raise errors.invalid_value("Invalid notification kind", ", ".join(sorted(unknown)) or "(none)")
    user = _target(ctx, email)
    row = ctx.db.get(MailPreference, user.id)
    current = set(_settings(user, row).kinds)
    current = current | chosen if on else current - chosen
    if row is None:
        row = MailPreference(user_id=user.id, account_id=ctx.account_id)
        ctx.db.add(row)
    row.enabled = bool(current)
    row.off_kinds = [k for k in KINDS if k not in current] if current else []
    ctx.db.flush()
    return _settings(user, row)
