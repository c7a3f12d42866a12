"""The signed-in user's own settings: interface language and password (the web app's profile page)."""

from __future__ import annotations

from localsection import errors
from localsection.ctx import Ctx
from localsection.models import User
from localsection.passwords import hash_password, verify_password

LANGUAGES = ("en", "uk")  # the web app's catalogues; None on the user = the browser's choice
PASSWORD_MIN = 8
PASSWORD_MAX = 256


def _own(ctx: Ctx) -> User:
    user = ctx.db.get(User, ctx.user.id)
    if user is None or user.account_id != ctx.account_id or not user.is_active:
        raise errors.access_denied("no such user")
    return user


def set_language(ctx: Ctx, language: str | None) -> None:
    """Store the user's language (one of LANGUAGES), or None to follow the browser."""
    if language is not None and language not in LANGUAGES:
        raise errors.invalid_value("Language is invalid", language[:16])
    _own(ctx).language = language
    ctx.db.flush()


def check_new_password(password: str) -> str:
    if len(password) < PASSWORD_MIN:
        raise errors.invalid_value("Password is too short", f"at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise errors.invalid_value("Password is too long", f"at most {PASSWORD_MAX} characters")
    return password


def set_password(ctx: Ctx, new: str) -> None:
    """Set the acting user's password (argon2); callers have proven who they are (current password, reset link)."""
    _own(ctx).password_hash = hash_password(check_new_password(new))
    ctx.db.flush()


def change_password(ctx: Ctx, current: str, new: str) -> None:
    """Change the acting user's password after checking the current one."""
    user = _own(ctx)
    if not verify_password(user.password_hash, current):
        raise errors.invalid_value("Current password is wrong")
    check_new_password(new)
    user.password_hash = hash_password(new)
    ctx.db.flush()
