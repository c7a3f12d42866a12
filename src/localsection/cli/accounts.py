"""`localsection accounts …` and `localsection users …`: accounts, their keys and their users."""

from __future__ import annotations

from typing import Any

import typer
from sqlalchemy import func, select

from localsection import accounts
from localsection.cli.common import account_url, admin_ctx, emit, fail, open_db, refusals_fail, table
from localsection.models import Account, User

accounts_app = typer.Typer(help="Accounts: create, list, rotate API keys.", no_args_is_help=True)
users_app = typer.Typer(help="Users: list, add, set passwords, mail notifications.", no_args_is_help=True)


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
    """Add a user to an account, with the rules of the API's add_user (same e-mail check, roles and team)."""
    from localsection.domain import members

    if role.strip().lower() not in members.ROLE_ALIASES:
        fail(f"unknown role {role!r}: use one of {', '.join(members.ROLE_ALIASES)}")
    if password is not None and not password:
        fail("--password must not be empty")
    first, _, last = (name or "").strip().partition(" ")
    new = members.NewUser(email=email, role=members.ROLE_ALIASES[role.strip().lower()], first_name=first,
                          last_name=last.strip())
    db = open_db()
    try:
        with refusals_fail(), db.session() as s:
            ctx = admin_ctx(s, db.settings, account)
            if s.scalars(select(User.id).where(User.account_id == ctx.account_id,
                                               User.email == email.strip().lower())).first() is not None:
                raise accounts.AccountError(f"{email.strip().lower()} is already a user of account {account}")
            user = members.add_user(ctx, new=new)
            if password:
                accounts.set_password(s, ctx.account.name, user.email, password)
            row = _user_row(user)
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


@users_app.command("reset-link")
def users_reset_link(account: str = typer.Option(..., "--account", help="Account name."),
                     email: str = typer.Option(..., "--email")) -> None:
    """Print a one-time link (valid one hour) with which the user sets a new password in the web app."""
    from localsection.webapp import resets

    db = open_db()
    try:
        with db.session() as s:
            acc = accounts.get_account(s, account)
            user = resets.find_user(s, acc.id, email)
            if user is None:
                raise accounts.AccountError(f"no user {email.strip().lower()} who can sign in to account {acc.name}")
            token = resets.issue(s, user)
            name = acc.name
    except accounts.AccountError as exc:
        fail(str(exc))
    finally:
        db.dispose()
    typer.echo(f"{account_url(db.settings, name)}/password/reset/{token}")


@users_app.command("mail")
def users_mail(account: str = typer.Option(..., "--account", help="Account name."),
               email: str = typer.Option(..., "--email"),
               on: bool | None = typer.Option(None, "--on/--off", help="Switch notification e-mails on or off."),
               kinds: list[str] | None = typer.Option(None, "--kind", help="Only this kind: assigned, mentioned, "
                                                      "comment or completed (repeat for several)."),
               json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show or switch a user's e-mail notifications (all kinds, or only --kind ones)."""
    from localsection.domain import mail_prefs

    if kinds and on is None:
        fail("--kind needs --on or --off")
    db = open_db()
    try:
        with refusals_fail(), db.session() as s:
            ctx = admin_ctx(s, db.settings, account)
            if on is None:
                prefs = mail_prefs.mail_notifications(ctx, email=email)
            else:
                prefs = mail_prefs.set_mail_notifications(ctx, on, kinds or None, email=email)
            row = {"email": prefs.email, "mail": "on" if prefs.on else "off", "kinds": ",".join(sorted(prefs.kinds))}
    finally:
        db.dispose()
    emit(row, json_out)
