"""Creating accounts and their owners, rotating API keys, setting passwords (used by the CLI and tests)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from localsection import clock
from localsection.models import Account, Team, User, new_user_id
from localsection.passwords import hash_password, new_api_key, new_password

_ACCOUNT_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


class AccountError(ValueError):
    pass


@dataclass
class NewAccount:
    account: Account
    owner: User
    password: str


def valid_email(value: str) -> bool:
    return bool(_EMAIL.match(value))


def names_from_email(email: str) -> tuple[str, str]:
    """`kate.greenway@x` -> ("kate", "greenway"); split at the first dot of the local part."""
    local = email.split("@", 1)[0]
    first, _, last = local.partition(".")
    return first, last


def create_account(db: Session, name: str, owner_email: str, owner_password: str | None = None,
                   *, is_default: bool = False, timezone: str = "UTC") -> NewAccount:
    """Create an account with its owner (role `owner`) and a first team named after the account."""
    name = name.strip().lower()
    if not _ACCOUNT_NAME.match(name):
        raise AccountError("account name must be a DNS label: a-z, 0-9 and '-', at most 63 characters")
    owner_email = owner_email.strip().lower()
    if not valid_email(owner_email):
        raise AccountError(f"invalid owner e-mail: {owner_email}")
    if db.scalars(select(Account).where(Account.name == name)).first() is not None:
        raise AccountError(f"account {name} already exists")
    now = clock.now()
    account = Account(name=name, api_key=new_api_key(), is_default=is_default, timezone=timezone,
                      default_rate=Decimal("0"), created_at=now)
    db.add(account)
    db.flush()
    team = Team(account_id=account.id, title=name.capitalize(), client=False)
    db.add(team)
    db.flush()
    password = owner_password or new_password()
    first, last = names_from_email(owner_email)
    owner = User(id=new_user_id(db), account_id=account.id, email=owner_email, first_name=first.capitalize(),
                 last_name=last.capitalize(), role="owner", team_id=team.id, rate=Decimal("0"),
                 password_hash=hash_password(password), created_at=now)
    db.add(owner)
    db.flush()
    account.owner_id = owner.id
    db.flush()
    return NewAccount(account, owner, password)


def get_account(db: Session, name: str) -> Account:
    account = db.scalars(select(Account).where(Account.name == name.strip().lower())).first()
    if account is None:
        raise AccountError(f"no account named {name}")
    return account


def rotate_key(db: Session, name: str) -> Account:
    account = get_account(db, name)
    account.api_key = new_api_key()
    db.flush()
    return account


def set_password(db: Session, account_name: str, email: str, password: str) -> User:
    account = get_account(db, account_name)
    user = db.scalars(select(User).where(User.account_id == account.id,
                                         User.email == email.strip().lower())).first()
    if user is None:
        raise AccountError(f"no user {email} in account {account_name}")
    user.password_hash = hash_password(password)
    db.flush()
    return user
