"""The `localsection` command line.

Every command reads the LOCALSECTION_* settings through `cli.common`; any configuration problem raises
`ConfigError`, which `main()` prints as one line on stderr before exiting with status 2.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version

import typer

from localsection import bootstrap
from localsection.cli.accounts import accounts_app, users_app
from localsection.cli.common import account_url, emit, open_db
from localsection.cli.custom_fields import app as custom_fields_app
from localsection.cli.dev import dev_app
from localsection.cli.doctor import doctor
from localsection.cli.migrate import migrate
from localsection.cli.oauth import apps_app, tokens_app
from localsection.cli.serve import serve, uvicorn_options
from localsection.cli.transfer import register as register_transfer
from localsection.cli.webhooks import webhooks_app, worker
from localsection.config import ConfigError

__all__ = ["app", "main", "uvicorn_options"]

app = typer.Typer(help="localsection: a self-hosted Worksection-compatible server.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
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
app.command("serve")(serve)
app.command("doctor")(doctor)
register_transfer(app)  # export, import, backup, restore
app.command("migrate")(migrate)


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


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations (waits for a PostgreSQL that is still starting; creates its database if missing)."""
    open_db(wait=True).dispose()
    typer.echo("database is up to date")


def main() -> None:
    """The `localsection` entry point: configuration errors end in one line on stderr and exit status 2."""
    try:
        app()
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
