"""`localsection dev ...`: bulk data for benchmarks and wiping an account's data (developers, integrators)."""

from __future__ import annotations

import json

import typer

from localsection import accounts, dev
from localsection.cli.common import open_db
from localsection.db import Database

dev_app = typer.Typer(help="Developer tools: bulk data, account reset.", no_args_is_help=True)


def _db() -> Database:
    return open_db()


@dev_app.command("seed-bulk")
def seed_bulk(account: str = typer.Option(..., "--account", help="Name of an existing account."),
              tasks: int = typer.Option(0, "--tasks", min=0, help="Top-level tasks to add."),
              costs: int = typer.Option(0, "--costs", min=0, help="Cost rows to add (spread over the new tasks)."),
              projects: int | None = typer.Option(None, "--projects", min=1,
                                                  help="Projects to spread the tasks over (default: 1 per 500).")
              ) -> None:
    """Add many projects, tasks and cost rows fast (COPY / executemany); prints a JSON summary."""
    db = _db()
    try:
        result = dev.seed_bulk(db, account, tasks, costs, projects)
    except accounts.AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    typer.echo(json.dumps(result.as_dict()))


@dev_app.command("reset")
def reset(account: str = typer.Option(..., "--account", help="Name of the account to empty."),
          yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation.")) -> None:
    """Delete all of an account's data; the account, its API key, owner and owner's team stay."""
    if not yes:
        typer.confirm(f"Delete every project, task, comment, cost, user and webhook of account {account}?",
                      abort=True)
    db = _db()
    try:
        deleted = dev.reset_account(db, account)
    except accounts.AccountError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    finally:
        db.dispose()
    typer.echo(json.dumps({"account": account, "deleted": deleted}))
