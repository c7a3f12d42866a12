"""The `localsection` command line."""

from __future__ import annotations

import sys
from typing import Any

import typer

from localsection import accounts, bootstrap
from localsection.cli_common import account_url, emit, fail, open_db
from localsection.cli_custom_fields import app as custom_fields_app
from localsection.cli_dev import dev_app
from localsection.cli_oauth import apps_app, tokens_app
from localsection.cli_webhooks import webhooks_app, worker
from localsection.config import Settings

app = typer.Typer(help="localsection: a self-hosted Worksection-compatible server.", no_args_is_help=True,
                  add_completion=False)
accounts_app = typer.Typer(help="Accounts: create, rotate API keys.", no_args_is_help=True)
users_app = typer.Typer(help="Users: passwords.", no_args_is_help=True)
db_app = typer.Typer(help="Database: migrations.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(users_app, name="users")
app.add_typer(db_app, name="db")
app.add_typer(apps_app, name="apps")
app.add_typer(tokens_app, name="tokens")
app.add_typer(custom_fields_app, name="custom-fields")
app.add_typer(dev_app, name="dev")
app.add_typer(webhooks_app, name="webhooks")
app.command("worker")(worker)










@app.command()
def init(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Migrate and create the default account if there is none; print its credentials."""
    db = open_db()
    creds = bootstrap.init_default(db, account_url(db.settings))
    emit(creds.as_dict(), json_out)


@accounts_app.command("create")
def accounts_create(name: str, owner_email: str = typer.Option(..., "--owner-email"),
                    owner_password: str | None = typer.Option(None, "--owner-password"),
                    json_out: bool = typer.Option(False, "--json")) -> None:
    """Create an account and its owner."""
    db = open_db()
    try:
        with db.session() as s:
            created = accounts.create_account(s, name, owner_email, owner_password)
            data = {"account": created.account.name, "url": account_url(db.settings, created.account.name),
                    "api_key": created.account.api_key,
                    "owner": {"email": created.owner.email, "password": created.password}}
    except accounts.AccountError as exc:
        fail(str(exc))
    emit(data, json_out)


@accounts_app.command("rotate-key")
def accounts_rotate_key(name: str, json_out: bool = typer.Option(False, "--json")) -> None:
    """Give an account a new admin API key (the old one stops working at once)."""
    db = open_db()
    try:
        with db.session() as s:
            account = accounts.rotate_key(s, name)
            data = {"account": account.name, "api_key": account.api_key}
    except accounts.AccountError as exc:
        fail(str(exc))
    emit(data, json_out)


@users_app.command("set-password")
def users_set_password(account: str = typer.Option(..., "--account"), email: str = typer.Option(..., "--email"),
                       password: str = typer.Option(..., "--password")) -> None:
    """Set a user's password (stored as an argon2 hash)."""
    db = open_db()
    try:
        with db.session() as s:
            accounts.set_password(s, account, email, password)
    except accounts.AccountError as exc:
        fail(str(exc))
    typer.echo("password updated")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations."""
    open_db()
    typer.echo("database is up to date")


@app.command()
def serve(host: str | None = typer.Option(None, "--host"), port: int | None = typer.Option(None, "--port"),
          workers: int = typer.Option(1, "--workers", help="Server processes (PostgreSQL only).")) -> None:
    """Migrate, create the default account if needed, print its credentials and serve the API."""
    import os

    import uvicorn

    if host:
        os.environ["LOCALSECTION_HOST"] = host
    if port:
        os.environ["LOCALSECTION_PORT"] = str(port)
    settings = Settings.from_env()
    db = open_db()
    creds = bootstrap.init_default(db, account_url(settings))
    db.dispose()
    typer.echo("localsection is serving the Worksection API")
    typer.echo(f"  URL:            {creds.url}")
    typer.echo(f"  account:        {creds.account}")
    typer.echo(f"  admin API key:  {creds.api_key}")
    typer.echo(f"  owner e-mail:   {creds.owner_email}")
    shown = creds.owner_password or "(changed since it was generated)"
    typer.echo(f"  owner password: {shown}")
    sys.stdout.flush()
    uvicorn.run("localsection.asgi:app", host=settings.host, port=settings.port, workers=workers,
                log_level=settings.log_level, **uvicorn_options())


def uvicorn_options(settings: Settings | None = None) -> dict[str, Any]:
    """The server settings `serve` runs with (bench/ceiling_app.py measures the ceiling with the same ones).

    httptools parses requests in C, through localsection.server's protocol, which bounds the size, the number
    and the arrival time of request headers (h11 with its size bound when httptools is missing). Idle keep-alive
    connections close after `keep_alive_timeout`. Forwarded headers are believed only from `trusted_proxies`.
    The event loop is asyncio's, not uvloop: with the actions running on the loop, uvloop served some
    connections several rounds late (at 16 connections and 7 ms of work per request, p99 560 ms against 118 ms
    with asyncio's loop, for the same throughput; docs/performance.md).
    """
    import importlib.util

    settings = settings or Settings.from_env()
    options: dict[str, Any] = {"loop": "asyncio", "access_log": False,
                               "timeout_keep_alive": max(1, round(settings.keep_alive_timeout)),
                               "h11_max_incomplete_event_size": settings.max_header_bytes}
    if importlib.util.find_spec("httptools") is not None:
        options["http"] = "localsection.server:LimitedHttpToolsProtocol"
    else:
        options["http"] = "h11"
    proxies = [p.strip() for p in settings.trusted_proxies.split(",") if p.strip()]
    options["proxy_headers"] = bool(proxies)
    if proxies:
        options["forwarded_allow_ips"] = proxies
    return options


def main() -> None:
    app()


if __name__ == "__main__":
    main()
