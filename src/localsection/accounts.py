"""Accounts: which one a request is addressed to; creating accounts and their owners, rotating API keys,
setting passwords."""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from localsection import clock
from localsection.config import Settings
from localsection.db import Prepared, Snapshot
from localsection.errors import HttpRefusal
from localsection.models import Account, Tag, TagGroup, Team, User, new_user_id
from localsection.passwords import hash_password, new_api_key, new_password

_ACCOUNT_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")
# The status group a new account starts with, so the web app's board has columns. English names are data (the
# pages translate these known titles when they show them); the admin may rename or delete them.
DEFAULT_STATUS_GROUP = "Status"
DEFAULT_STATUSES = ("To do", "In progress", "Review", "Done")


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
                   *, is_default: bool = False, timezone: str = "UTC", status_group: bool = True) -> NewAccount:
    """Create an account with its owner (role `owner`), a first team named after the account and (unless
    `status_group` is False) the default task status group DEFAULT_STATUS_GROUP with DEFAULT_STATUSES."""
    name = name.strip().lower()
    if not valid_account_name(name):
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
    if status_group:
        add_default_statuses(db, account.id)
    db.flush()
    return NewAccount(account, owner, password)


def add_default_statuses(db: Session, account_id: int) -> TagGroup:
    """The default task status group and its tags (a public `status` group, as add_task_tag_groups makes)."""
    group = TagGroup(account_id=account_id, applies_to="task", title=DEFAULT_STATUS_GROUP, type="status",
                     access="public")
    db.add(group)
    db.flush()
    db.add_all([Tag(account_id=account_id, group_id=group.id, title=title) for title in DEFAULT_STATUSES])
    db.flush()
    return group


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


# -- which account a request is addressed to ------------------------------------------------------------

def account_name_from_host(host: str, settings: Settings) -> str | None:
    """`<account>.<domain>` -> account; an IP address, `localhost` or the bare domain -> None (default)."""
    if len(host) > 255:  # longer than any DNS name: not worth a cache entry
        return _parse_host(host, settings.domain)
    return _cached_host(host, settings.domain)


def _parse_host(host: str, domain: str) -> str | None:
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    hostname = hostname.strip("[]").lower().rstrip(".")
    try:
        ipaddress.ip_address(hostname)
        return None
    except ValueError:
        pass
    if hostname in ("localhost", domain, ""):
        return None
    suffix = "." + domain
    if hostname.endswith(suffix):
        label = hostname[: -len(suffix)]
        return label or None
    return None


# Clients send the same few Host headers, and parsing one (the IP address check) cost ~20 Python calls per request.
# Bounded: a client sending a new Host each time only evicts old entries.
_cached_host = functools.lru_cache(maxsize=1024)(_parse_host)


# Built once: constructing a statement (coercions, annotations, cache key) cost more than running it. One
# round trip gives the account and its owner; the owner is the caller of every admin-key request. Read as plain
# Core rows into session-less snapshots: loading them through the ORM cost three times more.
_ACCOUNTS = Snapshot(Account)
_USERS = Snapshot(User)
_WITH_OWNER = (select(*_ACCOUNTS.columns, *_USERS.columns)
               .select_from(Account).outerjoin(User, and_(User.id == Account.owner_id,
                                                           User.account_id == Account.id)))
_BY_NAME = Prepared(_WITH_OWNER.where(Account.name == bindparam("name")).limit(1))
_FIRST = Prepared(_WITH_OWNER.order_by(Account.is_default.desc(), Account.id).limit(1))
_N_ACCOUNT = len(_ACCOUNTS.columns)


def valid_account_name(name: str) -> bool:
    """The name rule of create_account: a DNS label (a-z, 0-9 and '-', at most 63 characters)."""
    return bool(_ACCOUNT_NAME.match(name))


def resolve_account(db: Session, host: str, settings: Settings, path_account: str | None = None) -> Account:
    """The account a request is addressed to; unknown -> 404."""
    return resolve_account_and_owner(db, host, settings, path_account)[0]


def resolve_account_and_owner(db: Session, host: str, settings: Settings,
                              path_account: str | None = None) -> tuple[Account, User | None]:
    """The account a request is addressed to and its owner, in one query; unknown account -> 404.

    The account named by the path (`/a/<name>/...`, `path_account`) wins over the Host header; a name that breaks
    the name rule is unknown without a query.

    Not cached across requests on purpose: a rotated key or a changed owner must take effect at once, in
    this process and in every other one, and the indexed lookup costs one round trip (docs/performance.md).
    Both are snapshots (db.Snapshot): read, never changed (an action loads what it changes).
    """
    if path_account is not None:
        if not valid_account_name(path_account):
            raise HttpRefusal(404, "Account not found")
        name: str | None = path_account
    else:
        name = account_name_from_host(host, settings) or settings.default_account or None
    row = _FIRST.first(db) if name is None else _BY_NAME.first(db, {"name": name})
    if row is None:
        raise HttpRefusal(404, "Account not found")
    account = _ACCOUNTS.build(row[:_N_ACCOUNT])
    return account, (None if row[_N_ACCOUNT] is None else _USERS.build(row[_N_ACCOUNT:]))


def default_account(db: Session, settings: Settings) -> Account | None:
    if settings.default_account:
        return db.scalars(select(Account).where(Account.name == settings.default_account)).first()
    return db.scalars(select(Account).order_by(Account.is_default.desc(), Account.id)).first()
