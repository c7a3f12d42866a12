"""The `localsection` command line.

Every command reads the LOCALSECTION_* settings through `cli_common`; any configuration problem raises
`ConfigError`, which `main()` prints as one line on stderr before exiting with status 2.
"""

from __future__ import annotations

import contextlib
import errno
import inspect
import os
import socket
import sys
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import typer
from sqlalchemy import func, select

from localsection import accounts, bootstrap
from localsection.cli_common import account_url, emit, fail, load_settings, open_db, table
from localsection.cli_custom_fields import app as custom_fields_app
from localsection.cli_dev import dev_app
from localsection.cli_oauth import apps_app, tokens_app
from localsection.cli_webhooks import webhooks_app, worker
from localsection.config import ConfigError, Settings, env_name
from localsection.models import Account, User

app = typer.Typer(help="localsection: a self-hosted Worksection-compatible server.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
accounts_app = typer.Typer(help="Accounts: create, list, rotate API keys.", no_args_is_help=True)
users_app = typer.Typer(help="Users: list, add, set passwords.", no_args_is_help=True)
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










def package_version() -> str:
    try:
        return version("localsection")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"localsection {package_version()}")
        raise typer.Exit()


@app.callback()
def _root(show_version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                            help="Print the version and exit.")) -> None:
    """localsection: a self-hosted Worksection-compatible server."""


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


@accounts_app.command("list")
def accounts_list(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every account: name, URL, owner e-mail and number of active users."""
    db = open_db()
    with db.session(write=False) as s:
        counts = dict(s.execute(select(User.account_id, func.count()).where(User.is_active.is_(True))
                                .group_by(User.account_id)).tuples().all())
        owners = dict(s.execute(select(User.id, User.email).join(Account, Account.owner_id == User.id))
                      .tuples().all())
        rows = [{"name": a.name, "url": account_url(db.settings, a.name),
                 "owner_email": owners.get(a.owner_id or 0, ""), "users": counts.get(a.id, 0)}
                for a in s.scalars(select(Account).order_by(Account.id))]
    db.dispose()
    if json_out:
        emit(rows, True)
    else:
        table(rows, ["name", "url", "owner_email", "users"])


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


def _user_row(user: User) -> dict[str, Any]:
    return {"id": user.id, "email": user.email, "name": f"{user.first_name} {user.last_name}".strip(),
            "role": user.role}


@users_app.command("list")
def users_list(account: str = typer.Option(..., "--account", help="Account name."),
               json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The account's active users: id, e-mail, name, role."""
    db = open_db()
    try:
        with db.session(write=False) as s:
            acc = accounts.get_account(s, account)
            rows = [_user_row(u) for u in s.scalars(select(User).where(User.account_id == acc.id,
                                                                     User.is_active.is_(True)).order_by(User.id))]
    except accounts.AccountError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    if json_out:
        emit(rows, True)
    else:
        table(rows, ["id", "email", "name", "role"])


@users_app.command("add")
def users_add(account: str = typer.Option(..., "--account", help="Account name."),
              email: str = typer.Option(..., "--email"),
              name: str | None = typer.Option(None, "--name", help="First and last name (default: from the e-mail)."),
              role: str = typer.Option("user", "--role",
                                       help="user, guest, reader, admin (account admin), manager (team admin), "
                                            "department admin."),
              password: str | None = typer.Option(None, "--password", help="Lets the user sign in (OAuth2)."),
              json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Add a user to an account, as the API's add_user does (same e-mail check, roles and team)."""
    from localsection import errors
    from localsection.actions import members
    from localsection.api.params import Params
    from localsection.ctx import Ctx

    if role.strip().lower() not in members.ROLE_ALIASES:
        fail(f"unknown role {role!r}: use one of {', '.join(members.ROLE_ALIASES)}")
    if password is not None and not password:
        fail("--password must not be empty")
    first, _, last = (name or "").strip().partition(" ")
    params = Params(values={"email": email, "role": role, "first_name": first, "last_name": last.strip()})
    db = open_db()
    try:
        with db.session() as s:
            acc = accounts.get_account(s, account)
            if s.scalars(select(User.id).where(User.account_id == acc.id,
                                               User.email == email.strip().lower())).first() is not None:
                raise accounts.AccountError(f"{email.strip().lower()} is already a user of account {acc.name}")
            owner = s.get(User, acc.owner_id) if acc.owner_id else None
            if owner is None:
                raise accounts.AccountError(f"account {acc.name} has no owner")
            ctx = Ctx.for_admin_key(s, db.settings, acc, owner, base_url=account_url(db.settings, acc.name))
            members.add_user(ctx, params)
            user = s.scalars(select(User).where(User.account_id == acc.id,
                                                User.email == email.strip().lower())).one()
            if password:
                accounts.set_password(s, acc.name, user.email, password)
            row = _user_row(user)
    except accounts.AccountError as exc:
        fail(str(exc))
    except errors.ApiError as exc:
        fail(f"{exc.message}: {exc.details}" if exc.details else exc.message)
    finally:
        db.dispose()
    emit(row, json_out)


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
    """Apply all migrations (waits for a PostgreSQL that is still starting; creates its database if missing)."""
    open_db(wait=True).dispose()
    typer.echo("database is up to date")


def _listen(settings: Settings) -> socket.socket:
    """Bind the listening socket now, so a taken port is one clear error and `--port 0` gets its real port."""
    family = socket.AF_INET6 if ":" in settings.host else socket.AF_INET
    sock = socket.socket(family=family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        where = f"{settings.host}:{settings.port}"
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {settings.port} is already in use on {settings.host}: stop the other server "
                              f"or choose another port (--port or {env_name('port')})") from None
        reason = exc.strerror or str(exc)
        raise ConfigError(f"cannot listen on {where} ({reason}): fix --host/--port or {env_name('host')}/"
                          f"{env_name('port')}") from None
    sock.set_inheritable(True)
    return sock


def _banner(creds: bootstrap.Credentials) -> None:
    typer.echo("localsection is serving the Worksection API")
    typer.echo(f"  URL:            {creds.url}")
    typer.echo(f"  account:        {creds.account}")
    typer.echo(f"  admin API key:  {creds.api_key}")
    typer.echo(f"  owner e-mail:   {creds.owner_email}")
    shown = creds.owner_password or "(changed since it was generated)"
    typer.echo(f"  owner password: {shown}")
    sys.stdout.flush()


def _announce_when(ready: Any, give_up: Any, creds: bootstrap.Credentials) -> None:
    """Print the banner once `ready()` is true (the server accepts requests); never if `give_up()` first."""
    while not ready():
        if give_up():
            return
        time.sleep(0.05)
    _banner(creds)


def _answers(host: str, port: int) -> bool:
    """Whether a worker process answers /livez on this address."""
    import httpx

    try:
        return httpx.get(f"http://{host}:{port}/livez", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@app.command()
def serve(host: str | None = typer.Option(None, "--host", help=f"Address to listen on ({env_name('host')})."),
          port: int | None = typer.Option(None, "--port", min=0, max=65535,
                                          help=f"Port ({env_name('port')}); 0 picks a free one."),
          workers: int = typer.Option(1, "--workers", min=1, help="Server processes (PostgreSQL only).")) -> None:
    """Migrate, create the default account if needed, serve the API; print its credentials once listening."""
    import uvicorn

    overrides: dict[str, Any] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    settings = load_settings(**overrides)
    if workers > 1 and settings.effective_database_url.startswith("sqlite"):
        raise ConfigError(f"--workers {workers} needs PostgreSQL: SQLite takes one writer at a time, so serve runs "
                          f"one process on it; set {env_name('database_url')}=postgresql://… or drop --workers")
    db = open_db(settings, wait=True)
    sock = _listen(settings)
    settings = settings.with_(port=sock.getsockname()[1])
    try:
        creds = bootstrap.init_default(db, account_url(settings))
    finally:
        db.dispose()
    # The app (here and in worker processes) reads its settings from the environment: hand it the real address.
    os.environ[env_name("host")] = settings.host
    os.environ[env_name("port")] = str(settings.port)
    config = uvicorn.Config("localsection.asgi:app", host=settings.host, port=settings.port, workers=workers,
                            log_level=settings.log_level, **uvicorn_options())
    server = uvicorn.Server(config)
    if workers == 1:
        threading.Thread(target=_announce_when, args=(lambda: server.started, lambda: server.should_exit, creds),
                         daemon=True).start()
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C after a clean shutdown
            server.run(sockets=[sock])
        return
    from uvicorn.supervisors import Multiprocess

    probe_host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host
    stopping = threading.Event()
    threading.Thread(target=_announce_when, args=(lambda: _answers(probe_host, settings.port), stopping.is_set,
                                                  creds), daemon=True).start()
    if "target" in inspect.signature(Multiprocess.__init__).parameters:  # uvicorn < 0.36
        supervisor = Multiprocess(config, target=server.run, sockets=[sock])  # type: ignore[call-arg]
    else:
        supervisor = Multiprocess(config, sockets=[sock])
    try:
        supervisor.run()
    except KeyboardInterrupt:
        pass
    finally:
        stopping.set()


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
    """The `localsection` entry point: configuration errors end in one line on stderr and exit status 2."""
    try:
        app()
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
