"""Helpers shared by the `localsection` sub-commands: open the database, print data, fail cleanly."""

from __future__ import annotations

import json
from typing import Any, NoReturn

import typer

from localsection import bootstrap
from localsection.config import Settings
from localsection.db import Database


def open_db() -> Database:
    """The database of LOCALSECTION_* settings, migrated to the latest schema."""
    db = Database(Settings.from_env())
    bootstrap.upgrade(db)
    return db


def account_url(settings: Settings, account: str | None = None) -> str:
    """Where an account is served: LOCALSECTION_PUBLIC_URL, else <account>.<domain> (default account: host)."""
    if settings.public_url:
        return settings.public_url.replace("{account}", account or "").rstrip("/")
    host = settings.host if settings.host not in ("0.0.0.0", "::") else "127.0.0.1"
    if account and not settings.default_account and account != bootstrap.DEFAULT_ACCOUNT:
        host = f"{account}.{settings.domain}"
    return f"http://{host}:{settings.port}"


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


def fail(message: str) -> NoReturn:
    """Exit with status 2 and a message on stderr."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)
