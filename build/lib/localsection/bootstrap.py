"""Bring a data store up to date and make sure a default account exists."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import select

from localsection import accounts
from localsection.db import FILE_MODE, Database, private_dir
from localsection.models import Account, User
from localsection.passwords import verify_password

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def upgrade(db: Database) -> None:
    """Apply every Alembic migration (idempotent; safe to run from several processes on PostgreSQL)."""
    cfg = alembic_config(db)
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242001)")
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


@dataclass
class Credentials:
    account: str
    url: str
    api_key: str
    owner_email: str
    owner_password: str | None  # None when it was changed since it was generated

    def as_dict(self) -> dict[str, object]:
        return {"account": self.account, "url": self.url, "api_key": self.api_key,
                "owner": {"email": self.owner_email, "password": self.owner_password}}


DEFAULT_ACCOUNT = "localsection"
DEFAULT_OWNER = "owner@localsection.local"


def init_default(db: Database, url: str) -> Credentials:
    """Create the default account unless one exists; return its credentials.

    The generated owner password is kept in <data dir>/credentials.json (mode 0600) so that
    `make run` can show it again; it is reported as None once the owner has changed it.
    """
    secret_file = db.settings.data_dir / "credentials.json"
    with db.session() as s:
        account = s.scalars(select(Account).order_by(Account.is_default.desc(), Account.id)).first()
        if account is None:
            name = db.settings.default_account or DEFAULT_ACCOUNT
            created = accounts.create_account(s, name, DEFAULT_OWNER, is_default=True)
            account, password = created.account, created.password
            _write_secret(secret_file, {"account": name, "owner_password": password})
        owner = s.get(User, account.owner_id) if account.owner_id else None
        assert owner is not None
        password_shown = _read_secret(secret_file, account.name)
        if password_shown is not None and not verify_password(owner.password_hash, password_shown):
            password_shown = None
        return Credentials(account.name, url, account.api_key, owner.email, password_shown)


def _write_secret(path: Path, data: dict[str, str]) -> None:
    """Write `data` readable by us only: 0600 also when the file already existed with a wider mode."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    os.fchmod(fd, FILE_MODE)  # O_CREAT's mode only applies to a new file
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)


def _read_secret(path: Path, account: str) -> str | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data.get("owner_password") if data.get("account") == account else None
