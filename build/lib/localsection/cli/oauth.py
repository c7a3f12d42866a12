"""`localsection apps …` (OAuth2 app registrations) and `localsection tokens issue` (tokens for integrators' tests)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from localsection import accounts, tokens
from localsection.cli.common import account_url, emit, fail, open_db, write_private_json
from localsection.models import Account, OAuthApp, User
from localsection.oauth2 import apps, refresh

CLI_APP_NAME = "localsection CLI"
CLI_APPS_FILE = "cli_oauth_apps.json"  # in the data directory, mode 0600: {account: {client_id, client_secret}}

apps_app = typer.Typer(help="OAuth2 apps: register, list, delete.", no_args_is_help=True)
tokens_app = typer.Typer(help="OAuth2 tokens: issue one without the browser flow.", no_args_is_help=True)










@apps_app.command("create")
def apps_create(account: str = typer.Option(..., "--account", help="Account name."),
                name: str = typer.Option(..., "--name", help="App title shown on the consent page."),
                redirect_uri: list[str] = typer.Option(..., "--redirect-uri", help="Allowed redirect URI (repeat)."),
                json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Register an app; prints client_id and client_secret (the secret is shown only this once)."""
    db = open_db()
    try:
        with db.session() as s:
            created = apps.create(s, accounts.get_account(s, account), name, redirect_uri)
            data = {"client_id": created.app.client_id, "client_secret": created.client_secret}
    except (accounts.AccountError, apps.AppError) as exc:
        fail(str(exc))
    emit(data, json_out)


@apps_app.command("list")
def apps_list(account: str = typer.Option(..., "--account"), json_out: bool = typer.Option(False, "--json")) -> None:
    """The account's apps (secrets are never shown again)."""
    db = open_db()
    try:
        with db.session(write=False) as s:
            rows = [{"client_id": a.client_id, "name": a.name, "redirect_uris": list(a.redirect_uris),
                     "created_at": a.created_at.strftime("%Y-%m-%d %H:%M")}
                    for a in apps.list_apps(s, accounts.get_account(s, account))]
    except accounts.AccountError as exc:
        fail(str(exc))
    if json_out:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        typer.echo(f"{row['client_id']}  {row['name']}  {' '.join(row['redirect_uris'])}")


@apps_app.command("delete")
def apps_delete(client_id: str, account: str = typer.Option(..., "--account")) -> None:
    """Delete an app; every token issued through it stops working at once."""
    db = open_db()
    try:
        with db.session() as s:
            apps.delete(s, accounts.get_account(s, account), client_id)
    except (accounts.AccountError, apps.AppError) as exc:
        fail(str(exc))
    typer.echo("app deleted")


def _known_cli_apps(path: Path) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def cli_app(s: Session, account: Account, data_dir: Path) -> tuple[OAuthApp, str]:
    """The account's visible "localsection CLI" app and its client secret, for tokens that can be refreshed.

    The secret is shown only once by the server, so the CLI keeps it in <data dir>/cli_oauth_apps.json (mode
    0600, like credentials.json). An app whose secret this data directory does not know (another host's, or a
    deleted file) is left alone and a new one is registered.
    """
    path = data_dir / CLI_APPS_FILE
    known = _known_cli_apps(path)
    entry = known.get(account.name) or {}
    app = apps.by_client_id(s, str(entry.get("client_id", "")))
    secret = str(entry.get("client_secret", ""))
    if app is not None and app.account_id == account.id and apps.secret_matches(app, secret):
        return app, secret
    created = apps.create(s, account, CLI_APP_NAME, [])
    known[account.name] = {"client_id": created.app.client_id, "client_secret": created.client_secret}
    write_private_json(path, known)
    return created.app, created.client_secret


@tokens_app.command("issue")
def tokens_issue(account: str = typer.Option(..., "--account"), email: str = typer.Option(..., "--email"),
                 scopes: str = typer.Option(",".join(tokens.ALL_SCOPES), "--scopes", help="Comma-separated."),
                 client_id: str | None = typer.Option(None, "--client-id", help="An app of this account "
                                                      "(default: the account's \"localsection CLI\" app)."),
                 json_out: bool = typer.Option(False, "--json")) -> None:
    """Issue an access + refresh token for a user: the body of /oauth2/token.

    Without --client-id the token belongs to the account's "localsection CLI" app, whose client_id and
    client_secret are printed too: /oauth2/refresh needs them to renew the token.
    """
    wanted = [s.strip() for s in scopes.replace(" ", ",").split(",") if s.strip()]
    unknown = [s for s in wanted if s not in tokens.ALL_SCOPES]
    if unknown or not wanted:
        fail(f"unknown scopes: {', '.join(unknown)}" if unknown else "no scopes given")
    db = open_db()
    try:
        with db.session() as s:
            acc = accounts.get_account(s, account)
            user = s.scalars(select(User).where(User.account_id == acc.id, User.email == email.strip().lower(),
                                                User.is_active.is_(True))).first()
            if user is None:
                raise accounts.AccountError(f"no active user {email} in account {acc.name}")
            secret = ""
            if client_id:
                app = apps.by_client_id(s, client_id)
                if app is None or app.account_id != acc.id:
                    raise accounts.AccountError(f"no app {client_id} in account {acc.name}")
            else:
                app, secret = cli_app(s, acc, db.settings.data_dir)
            body = refresh.issue_pair(s, db.settings, app, user, [x for x in tokens.ALL_SCOPES if x in wanted],
                                      account_url=account_url(db.settings, acc.name))
            if secret:
                body |= {"client_id": app.client_id, "client_secret": secret}
    except accounts.AccountError as exc:
        fail(str(exc))
    emit(body, json_out)
