"""Helpers shared by the `localsection` sub-commands: settings, opening the database, printing, failing cleanly.

Everything that can be wrong with the configuration or what it points at (a bad value, a data directory that
is a file or not writable, a database that cannot be reached, a missing key file) raises `ConfigError` here;
`cli.main()` prints its message as one line and exits with status 2.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import typer
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from localsection import accounts, bootstrap, errors
from localsection.config import ConfigError, Settings, env_name, redact
from localsection.ctx import Ctx
from localsection.db import Database
from localsection.models import User

# psycopg / libpq failures that mean "the server is not accepting connections yet": worth waiting for.
_TRANSIENT = ("connection refused", "the database system is starting up", "the database system is shutting down",
              "timeout expired", "server closed the connection unexpectedly", "no such file or directory",
              "the database system is in recovery mode", "could not receive data from server")
_STARTING_UP = "57P03"
_NO_DATABASE = "3D000"


def load_settings(**overrides: Any) -> Settings:
    """The LOCALSECTION_* settings, with command-line overrides; ConfigError when a value is invalid."""
    settings = Settings.from_env()
    return settings.with_(**overrides) if overrides else settings


def one_line(text: object) -> str:
    """A driver's message (often several lines) folded into one."""
    return " ".join(str(text).split())


def check_data_dir(settings: Settings) -> None:
    """The data directory exists (created when missing) and this user can write in it."""
    path = settings.data_dir
    var = env_name("data_dir")
    shown = path.resolve()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{var}={shown} is a file, not a directory: move the file away or set {var} to a "
                          "directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise ConfigError(f"{var}={shown} is not a writable directory ({reason}): fix its permissions or set "
                          f"{var} to a directory this user can write") from None


def check_signing_key(settings: Settings) -> None:
    """A configured OAuth2 key file exists and holds an RSA private key."""
    if not settings.oauth_private_key_file:
        return
    from localsection import tokens

    var = env_name("oauth_private_key_file")
    path = Path(settings.oauth_private_key_file).resolve()
    try:
        tokens.signing_key(settings)
    except FileNotFoundError:
        raise ConfigError(f"{var}={path}: no such file; create the key (openssl genrsa -out key.pem 2048) or "
                          f"unset {var} to use a key generated in the data directory") from None
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"{var}={path} is not a readable PEM RSA private key ({one_line(exc)})") from None


def _where(settings: Settings) -> str:
    url = make_url(settings.effective_database_url)
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def wait_for_database(settings: Settings, *, wait: bool) -> None:
    """Connect once to PostgreSQL; create the database when it does not exist.

    With `wait`, a server that is not accepting connections yet is retried for LOCALSECTION_DB_WAIT_SECONDS,
    announced by one "waiting for PostgreSQL" line. Raises ConfigError when it cannot connect.
    """
    if settings.effective_database_url.startswith("sqlite"):
        return
    from localsection import dev

    var = env_name("database_url")
    where = _where(settings)
    deadline = time.monotonic() + (settings.db_wait_seconds if wait else 0)
    announced = created = False
    while True:
        engine = create_engine(settings.effective_database_url, poolclass=NullPool,
                               connect_args={"connect_timeout": 5})
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
            return
        except OperationalError as exc:
            code = getattr(exc.orig, "sqlstate", None)
            message = one_line(exc.orig)
            missing = code == _NO_DATABASE or re.search(r'database "[^"]*" does not exist', message) is not None
            if missing and not created:
                dbname = make_url(settings.effective_database_url).database
                try:
                    if dev.create_postgres_database(settings.database_url):
                        typer.echo(f"created PostgreSQL database {dbname} at {where}", err=True)
                except SQLAlchemyError as create_exc:
                    raise ConfigError(f"PostgreSQL at {where} has no database {dbname} and it could not be "
                                      f"created ({one_line(getattr(create_exc, 'orig', create_exc))}): create "
                                      f"it, or fix {var}") from None
                created = True
                continue
            transient = code == _STARTING_UP or any(t in message.lower() for t in _TRANSIENT)
            if transient and time.monotonic() < deadline:
                if not announced:
                    typer.echo(f"waiting for PostgreSQL at {where}… (up to {settings.db_wait_seconds:g} s)",
                               err=True)
                    announced = True
                time.sleep(0.5)
                continue
            waited = f" after waiting {settings.db_wait_seconds:g} s" if announced else ""
            raise ConfigError(f"cannot connect to PostgreSQL at {where}{waited} ({redact(message)}); start it or "
                              f"fix {var}") from None
        finally:
            engine.dispose()


def open_db(settings: Settings | None = None, *, wait: bool = False) -> Database:
    """The database of the LOCALSECTION_* settings, checked, reachable and migrated to the latest schema.

    On a data directory without a database it says which one it created (one line on stderr).
    """
    settings = settings or load_settings()
    # Cheapest and least invasive first: a refused command leaves no empty data directory behind.
    check_signing_key(settings)
    wait_for_database(settings, wait=wait)
    check_data_dir(settings)
    url = settings.effective_database_url
    sqlite_file = Path(url.split(":///", 1)[1]) if url.startswith("sqlite:///") else None
    new = sqlite_file is not None and not sqlite_file.exists()
    db = Database(settings)
    try:
        bootstrap.upgrade(db)
    except SQLAlchemyError as exc:
        db.dispose()
        where = sqlite_file if sqlite_file is not None else redact(settings.database_url)
        raise ConfigError(f"cannot open the database {where} ({one_line(getattr(exc, 'orig', exc))}); "
                          f"check {env_name('data_dir')} / {env_name('database_url')}") from None
    if new:
        typer.echo(f"using SQLite database at {sqlite_file} (new)", err=True)
    return db


def account_url(settings: Settings, account: str | None = None) -> str:
    """Where an account is served: LOCALSECTION_PUBLIC_URL, else <account>.<domain> (default account: host)."""
    if settings.public_url:
        return settings.public_url.replace("{account}", account or "").rstrip("/")
    host = settings.host if settings.host not in ("0.0.0.0", "::") else "127.0.0.1"
    if account and not settings.default_account and account != bootstrap.DEFAULT_ACCOUNT:
        host = f"{account}.{settings.domain}"
    return f"http://{host}:{settings.port}"


def admin_ctx(session: Session, settings: Settings, account: str) -> Ctx:
    """The operator's context in an account: the admin key, acting as its owner (AccountError when the account
    or its owner is missing)."""
    acc = accounts.get_account(session, account)
    owner = session.get(User, acc.owner_id) if acc.owner_id else None
    if owner is None:
        raise accounts.AccountError(f"account {acc.name} has no owner")
    return Ctx.for_admin_key(session, settings, acc, owner, base_url=account_url(settings, acc.name))


def emit(data: Any, as_json: bool) -> None:
    """Print data as one JSON document, or as `key: value` lines (nested keys dotted)."""
    if as_json:
        typer.echo(json.dumps(data))
        return
    if not isinstance(data, dict):
        typer.echo(str(data))
        return
    for key, value in data.items():
        if isinstance(value, dict):
            for k2, v2 in value.items():
                typer.echo(f"{key}.{k2}: {v2}")
        else:
            typer.echo(f"{key}: {value}")


def table(rows: list[dict[str, Any]], columns: list[str]) -> None:
    """Print rows as aligned columns under a header."""
    widths = {c: max([len(c)] + [len(str(r[c])) for r in rows]) for c in columns}
    typer.echo("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    for row in rows:
        typer.echo("  ".join(str(row[c]).ljust(widths[c]) for c in columns).rstrip())


def fail(message: str) -> NoReturn:
    """Exit with status 2 and a message on stderr."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


@contextmanager
def refusals_fail(*also: type[Exception]) -> Iterator[None]:
    """What a domain function refuses ends the command with one line and status 2: an unknown account or user
    (AccountError), an API error (its text, as the API would answer it), or any exception of `also`."""
    refused: tuple[type[Exception], ...] = (accounts.AccountError, *also)
    try:
        yield
    except refused as exc:
        fail(str(exc))
    except errors.ApiError as exc:
        fail(exc.text())


def write_private_json(path: Path, data: Any) -> None:
    """Write a JSON file only its owner can read (secrets the CLI shows again later)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh)
